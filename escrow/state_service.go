package escrow

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	escrowpb "github.com/tariffd/tariff/proto/escrow"
)

// blockWindow is how far a signed current_block may be from the chain head.
const blockWindow = 5

// StateService is escrow.PaymentChannelStateService: clients read the last
// amount they signed before they sign the next one. Its errors are plain
// errors (gRPC code Unknown) with upstream's messages, which clients match.
type StateService struct {
	escrowpb.UnimplementedPaymentChannelStateServiceServer
	c *Channels
}

// NewStateService serves channel state from c.
func NewStateService(c *Channels) *StateService { return &StateService{c: c} }

// GetChannelState implements §4.1 of the wire contract.
func (s *StateService) GetChannelState(ctx context.Context, req *escrowpb.ChannelStateRequest) (*escrowpb.ChannelStateReply, error) {
	c := s.c
	id := new(big.Int).SetBytes(req.GetChannelId())
	msg, err := ChannelStateMessage(c.group.MPE, id, req.GetCurrentBlock())
	if err != nil {
		return nil, errors.New("incorrect signature")
	}
	signer, err := RecoverSigner(msg, req.GetSignature())
	if err != nil {
		return nil, errors.New("incorrect signature")
	}
	ch, err := c.Load(ctx, id)
	if errors.Is(err, ErrChannelNotFound) {
		return nil, fmt.Errorf("channel is not found, channelId: %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("channel error:%v", err)
	}
	if signer != ch.Signer && signer != ch.Sender && signer != ch.Recipient {
		return nil, errors.New("only channel signer/sender/receiver can get latest channel state")
	}
	if err := c.checkBlock(ctx, req.GetCurrentBlock()); err != nil {
		return nil, err
	}
	onChain, err := c.chain.Refresh(ctx, id)
	if err != nil {
		if errors.Is(err, ErrChannelNotFound) {
			return nil, errors.New("unable to read channel details from blockchain.")
		}
		return nil, fmt.Errorf("channel error:%v", err)
	}
	reply := &escrowpb.ChannelStateReply{CurrentNonce: U256Bytes(ch.Nonce)}
	if ch.Nonce.Cmp(onChain.Nonce) == 0 {
		if len(ch.Signature) > 0 {
			reply.CurrentSignedAmount = U256Bytes(ch.AuthorizedAmount)
			reply.CurrentSignature = ch.Signature
		}
		return reply, nil
	}
	// A claim was started but is not mined yet: the client also needs what it
	// signed in the old nonce to compute what is left.
	prevNonce := new(big.Int).Sub(ch.Nonce, big.NewInt(1))
	v, err := c.store.Get(ctx, c.store.keys.Payment(id, prevNonce))
	if err != nil {
		return nil, fmt.Errorf("channel error:%v", err)
	}
	if v.Rev == 0 {
		return nil, errors.New("channel has different nonce in local storage and blockchain and old payment is not found in storage")
	}
	old, err := DecodePaymentRecord(v.Raw)
	if err != nil {
		return nil, fmt.Errorf("channel error:%v", err)
	}
	reply.CurrentSignedAmount = U256Bytes(ch.AuthorizedAmount)
	reply.CurrentSignature = ch.Signature
	reply.OldNonceSignedAmount = U256Bytes(old.Amount)
	reply.OldNonceSignature = old.Signature
	return reply, nil
}

// Load reads a channel's current state (etcd and chain merged, as a payment
// would see it), bypassing the local copy.
func (c *Channels) Load(ctx context.Context, id *big.Int) (*ChannelData, error) {
	snap, err := c.read(ctx, c.store.keys.Channel(id))
	if err != nil {
		return nil, err
	}
	onChain, chainErr := c.chain.Channel(ctx, id)
	ch, r := c.merge(id, snap.data, onChain, chainErr)
	if r.err != nil {
		if snap.data == nil && errors.Is(chainErr, ErrChannelNotFound) {
			return nil, ErrChannelNotFound
		}
		return nil, r.err
	}
	return ch, nil
}

// checkBlock accepts a signed block number within blockWindow of the head.
func (c *Channels) checkBlock(ctx context.Context, block uint64) error {
	ok, err := checkBlockWindow(ctx, c.chain, block)
	if err != nil {
		return fmt.Errorf("cannot determine current block: %w", err)
	}
	if !ok {
		return errors.New("authentication failed as the signature passed has expired")
	}
	return nil
}

// U256Bytes is n as 32 big-endian bytes, as the daemon's replies carry integers.
func U256Bytes(n *big.Int) []byte {
	out := make([]byte, 32)
	if n != nil {
		n.FillBytes(out)
	}
	return out
}
