// Package paidcall is the client side of an escrow payment, as snet-cli and
// snet-sdk do it: read the channel state from the daemon, sign the new
// cumulative amount, and send it as gRPC metadata with the call.
//
// A Payer is for one channel and one caller at a time; it is what the
// local-network demo, the benchmark and the end-to-end tests use.
package paidcall

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tariffd/tariff/escrow"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Payer signs successive payments on one channel.
type Payer struct {
	key     *ecdsa.PrivateKey
	mpe     common.Address
	channel *big.Int

	mu     sync.Mutex
	nonce  *big.Int
	signed *big.Int // cumulative amount signed in this nonce
}

// NewPayer returns a payer that starts from nonce and the amount already
// signed in it (zero for a new channel). Call Sync to learn them from a daemon.
func NewPayer(key *ecdsa.PrivateKey, mpe common.Address, channelID, nonce, signed *big.Int) *Payer {
	return &Payer{key: key, mpe: mpe, channel: new(big.Int).Set(channelID), nonce: new(big.Int).Set(nonce), signed: new(big.Int).Set(signed)}
}

// Channel is the channel the payer pays from.
func (p *Payer) Channel() *big.Int { return new(big.Int).Set(p.channel) }

// Address is the payer's address.
func (p *Payer) Address() common.Address { return crypto.PubkeyToAddress(p.key.PublicKey) }

// Signed returns the nonce and the cumulative amount signed so far.
func (p *Payer) Signed() (nonce, amount *big.Int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return new(big.Int).Set(p.nonce), new(big.Int).Set(p.signed)
}

// State reads the channel state from the daemon (PaymentChannelStateService),
// signing the request for currentBlock (a recent chain head).
func State(ctx context.Context, conn grpc.ClientConnInterface, key *ecdsa.PrivateKey, mpe common.Address, channelID *big.Int, currentBlock uint64) (*escrowpb.ChannelStateReply, error) {
	msg, err := escrow.ChannelStateMessage(mpe, channelID, currentBlock)
	if err != nil {
		return nil, err
	}
	sig, err := escrow.Sign(msg, key)
	if err != nil {
		return nil, err
	}
	return escrowpb.NewPaymentChannelStateServiceClient(conn).GetChannelState(ctx, &escrowpb.ChannelStateRequest{
		ChannelId: channelID.Bytes(), Signature: sig, CurrentBlock: currentBlock,
	})
}

// Sync sets the nonce and signed amount from the daemon's channel state.
func (p *Payer) Sync(ctx context.Context, conn grpc.ClientConnInterface, currentBlock uint64) error {
	st, err := State(ctx, conn, p.key, p.mpe, p.channel, currentBlock)
	if err != nil {
		return fmt.Errorf("channel %s state: %w", p.channel, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nonce = new(big.Int).SetBytes(st.GetCurrentNonce())
	p.signed = new(big.Int).SetBytes(st.GetCurrentSignedAmount())
	return nil
}

// Pay signs the next payment of price and returns the outgoing context that
// carries it. The signed amount advances at once; if the call fails call
// Undo, so the next payment signs the same amount again (the daemon rolled
// the failed call back).
func (p *Payer) Pay(ctx context.Context, price *big.Int) (context.Context, error) {
	p.mu.Lock()
	amount := new(big.Int).Add(p.signed, price)
	nonce := p.nonce
	p.signed = amount
	p.mu.Unlock()
	md, err := p.Metadata(nonce, amount)
	if err != nil {
		return nil, err
	}
	return metadata.NewOutgoingContext(ctx, md), nil
}

// Undo takes back the last Pay of price.
func (p *Payer) Undo(price *big.Int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signed = new(big.Int).Sub(p.signed, price)
}

// Metadata is the escrow payment metadata for (nonce, cumulative amount).
func (p *Payer) Metadata(nonce, amount *big.Int) (metadata.MD, error) {
	msg, err := escrow.ClaimMessage(p.mpe, p.channel, nonce, amount)
	if err != nil {
		return nil, err
	}
	sig, err := escrow.Sign(msg, p.key)
	if err != nil {
		return nil, err
	}
	// v as 27/28, as web3 clients send it.
	sig[64] += 27
	return metadata.Pairs(
		escrow.HeaderPaymentType, escrow.PaymentTypeEscrow,
		escrow.HeaderChannelID, p.channel.String(),
		escrow.HeaderChannelNonce, nonce.String(),
		escrow.HeaderChannelAmount, amount.String(),
		escrow.HeaderChannelSignature, string(sig),
		escrow.HeaderMPEAddress, p.mpe.Hex(),
	), nil
}
