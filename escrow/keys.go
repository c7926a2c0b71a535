package escrow

import (
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
)

// Keys builds snet-daemon's etcd key layout, so a provider who switches
// daemons keeps every stored channel and unclaimed payment.
//
// Upstream joins nested prefixes with "/" even when the next one already
// starts with "/", which gives the literal "//" in every key; we keep it.
type Keys struct {
	root string // <network>/<org>/<group_b64>
	mpe  string // root/<checksummed MPE>
}

// NewKeys returns the key layout for one payment group.
func NewKeys(network, orgID, groupIDBase64 string, mpe common.Address) Keys {
	root := network + "/" + orgID + "/" + groupIDBase64
	return Keys{root: root, mpe: root + "/" + mpe.Hex()}
}

// ChannelPrefix is the prefix of every channel state key (a range scan lists channels).
func (k Keys) ChannelPrefix() string { return k.mpe + "//payment-channel/storage/" }

// Channel is the key of one channel's state: ".../payment-channel/storage/{ID: 42}".
func (k Keys) Channel(id *big.Int) string {
	return k.ChannelPrefix() + "{ID: " + id.String() + "}"
}

// PaymentPrefix is the prefix of the payment records being claimed.
func (k Keys) PaymentPrefix() string { return k.mpe + "//payment/storage/" }

// Payment is the key of the payment record "<channel>/<nonce>" saved when a claim starts.
func (k Keys) Payment(channelID, nonce *big.Int) string {
	return k.PaymentPrefix() + channelID.String() + "/" + nonce.String()
}

// FreeCallUserPrefix is the prefix of the free-call counters.
func (k Keys) FreeCallUserPrefix() string { return k.root + "//free-call-user/storage/" }

// FreeCallUser is the key of the free-call counter of one (address, user id);
// address is the header string as the client sent it, as upstream.
func (k Keys) FreeCallUser(address, userID, orgID, serviceID, groupIDBase64 string) string {
	return k.FreeCallUserPrefix() + "{ID:" + address + "/" + userID + "/" + orgID + "/" + serviceID + "/" + groupIDBase64 + "}"
}

// Prepaid is the key of a prepaid counter of a channel; kind is "U" (used),
// "P" (planned) or "R" (refunded).
func (k Keys) Prepaid(channelID uint64, kind string) string {
	return k.root + "//PrePaid/storage/{ID:" + strconv.FormatUint(channelID, 10) + "/" + kind + "}"
}
