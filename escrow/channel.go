package escrow

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// ChannelData is the channel state stored in etcd. Its name, field names and
// field types are those of snet-daemon's PaymentChannelData, so the gob values
// written by either daemon decode in the other (gob matches fields by name).
type ChannelData struct {
	ChannelID        *big.Int
	Nonce            *big.Int
	State            int // 0 open, 1 closed; always 0, as upstream
	Sender           common.Address
	Recipient        common.Address
	GroupID          [32]byte
	FullAmount       *big.Int
	Expiration       *big.Int
	Signer           common.Address
	AuthorizedAmount *big.Int
	Signature        []byte
}

// PaymentRecord is a payment being claimed by the provider, stored under
// "<channel>/<nonce>" (upstream's Payment type).
type PaymentRecord struct {
	MpeContractAddress common.Address
	ChannelID          *big.Int
	ChannelNonce       *big.Int
	Amount             *big.Int
	Signature          []byte
}

// FreeCallUserData counts the free calls made by one (address, user id).
type FreeCallUserData struct {
	Address        string
	UserID         string
	FreeCallsMade  int
	OrganizationId string //nolint:revive // upstream's field name, kept for gob
	ServiceId      string //nolint:revive // upstream's field name, kept for gob
	GroupID        string
}

// PrePaidData is one prepaid counter (planned, used or refunded amount).
type PrePaidData struct {
	Amount *big.Int
}

// ChainChannel is a channel as the MultiPartyEscrow contract's channels(id)
// returns it. A zero Sender means the contract has no such channel.
type ChainChannel struct {
	Nonce      *big.Int
	Sender     common.Address
	Signer     common.Address
	Recipient  common.Address
	GroupID    [32]byte
	Value      *big.Int
	Expiration *big.Int
}
