package escrow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"

	escrowpb "github.com/tariffd/tariff/proto/escrow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TokenService is escrow.TokenService: a client trades an up-front signed
// amount for a JWT that authorises prepaid calls. Errors carry upstream's
// texts; most are plain errors (gRPC code Unknown) as upstream's are, the
// escrow checks of the claim keep the statuses of a paid call.
type TokenService struct {
	escrowpb.UnimplementedTokenServiceServer
	p *Prepaid
}

// NewTokenService serves prepaid tokens for p.
func NewTokenService(p *Prepaid) *TokenService { return &TokenService{p: p} }

// errNoPlanned is what the Python SDK's prepaid strategy matches, byte for
// byte, to fall back to signing a new amount. Upstream now sends
// "unable to retrieve planned Amount <nil>", which the SDK no longer
// recognises; we send the text it expects.
var errNoPlanned = errors.New("Unable to retrieve planned Amount ") //nolint:staticcheck // client-matched text

// GetToken implements §4.4 of the wire contract: it checks the request and
// the claim, commits a larger signed amount as an escrow payment together
// with the same increase of the planned amount (one transaction), and
// returns a token with the channel's planned and used amounts.
func (s *TokenService) GetToken(ctx context.Context, req *escrowpb.TokenRequest) (*escrowpb.TokenReply, error) {
	p := s.p
	user, err := p.plan(ctx, req)
	if err != nil {
		return nil, err
	}
	id := req.GetChannelId()
	k := p.store.keys
	vals, _, err := p.store.getMany(ctx, k.Prepaid(id, PrepaidUsed), k.Prepaid(id, PrepaidPlanned))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "unable to retrieve prepaid amounts: %v", err)
	}
	if vals[1].Rev == 0 {
		return nil, errNoPlanned
	}
	c := prepaidCounters{}
	c.kv[kindIndex(PrepaidUsed)], c.kv[kindIndex(PrepaidPlanned)] = vals[0], vals[1]
	used, err := c.amount(kindIndex(PrepaidUsed))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "unable to retrieve prepaid amounts: %v", err)
	}
	planned, err := c.amount(kindIndex(PrepaidPlanned))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "unable to retrieve prepaid amounts: %v", err)
	}
	token, err := p.mint(id, user)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "internal error: %v", err)
	}
	return &escrowpb.TokenReply{
		ChannelId:     id,
		Token:         token,
		PlannedAmount: saturateUint64(planned),
		UsedAmount:    saturateUint64(used),
	}, nil
}

// plan runs GetToken's checks in upstream's order and, when the signed
// amount is above the stored one, commits it. It returns who asked, in
// EIP-55 form (the token's userAddress).
//
// The new signed amount and the planned amount P are written in ONE etcd
// transaction (channel key and P key, each compared on its revision), with
// the escrow checks of a paid call (Channels.validate) made on the state
// read for it. Written one after the other, a failure or crash between the
// two writes would keep the client's signature without crediting P, and a
// retried GetToken could not tell: the client's money would be lost.
func (p *Prepaid) plan(ctx context.Context, req *escrowpb.TokenRequest) (string, error) {
	c := p.channels
	id := new(big.Int).SetUint64(req.GetChannelId())
	signed := new(big.Int).SetUint64(req.GetSignedAmount())
	pay := &EscrowPayment{
		ChannelID: id,
		Nonce:     new(big.Int).SetUint64(req.GetCurrentNonce()),
		Amount:    signed,
		Signature: req.GetClaimSignature(),
	}
	asker, askerErr := RecoverSigner(PrepaidTokenMessage(req.GetClaimSignature(), req.GetCurrentBlock()), req.GetSignature())
	claimer, claimErr := c.recover(pay)
	key := c.store.keys.Channel(id)
	pkey := c.store.keys.Prepaid(req.GetChannelId(), PrepaidPlanned)
	retrieving := func(err error) error {
		return fmt.Errorf("error:%s was seen on retrieving details of channelID:%s", status.Convert(err).Message(), id)
	}

	chainCh, chainErr := c.chain.Channel(ctx, id)
	refreshed := false
	refresh := func() {
		refreshed = true
		chainCh, chainErr = c.chain.Refresh(ctx, id)
	}
	for range prepaidAttempts {
		vals, _, err := p.store.getMany(ctx, key, pkey)
		if err != nil {
			return "", retrieving(err)
		}
		snap, err := c.decode(vals[0].Raw, vals[0].Rev)
		if err != nil {
			return "", retrieving(err)
		}
		c.remember(key, snap)
		ch, r := c.merge(id, snap.data, chainCh, chainErr)
		if r.err != nil {
			if r.why == staleChain && !refreshed {
				refresh()
				continue
			}
			if snap.data == nil && errors.Is(chainErr, ErrChannelNotFound) {
				return "", fmt.Errorf("channel is not found, channelId: %s", id)
			}
			return "", retrieving(r.err)
		}
		if ch.AuthorizedAmount.Cmp(signed) > 0 {
			return "", errors.New("signed amount for token request needs to be greater than last signed amount")
		}
		if ch.FullAmount.Cmp(signed) < 0 {
			if !refreshed { // the client may just have added funds
				refresh()
				continue
			}
			return "", errors.New("signed amount for token request cannot be greater than full amount in channel")
		}
		if askerErr != nil {
			return "", errors.New("incorrect signature")
		}
		if asker != ch.Signer && asker != ch.Sender && asker != ch.Recipient {
			return "", errors.New("only channel signer/sender/receiver can get a Valid Token")
		}
		if err := c.checkBlock(ctx, req.GetCurrentBlock()); err != nil {
			return "", err
		}
		delta := new(big.Int).Sub(signed, ch.AuthorizedAmount)
		// The claim must be a payment escrow would take now, of exactly delta.
		if r := c.validate(ctx, ch, pay, delta, claimer, claimErr); r.err != nil {
			if r.why == staleChain && !refreshed {
				refresh()
				continue
			}
			return "", r.err
		}
		if delta.Sign() == 0 {
			return asker.Hex(), nil // nothing new signed: a token for what is planned
		}

		next := *ch
		next.AuthorizedAmount = signed
		next.Signature = bytes.Clone(pay.Signature)
		raw, err := EncodeGob(&next)
		if err != nil {
			return "", status.Errorf(codes.Internal, "internal error: %v", err)
		}
		fence := snap.raw
		if fence == nil {
			if fence, err = EncodeGob(ch); err != nil {
				return "", status.Errorf(codes.Internal, "internal error: %v", err)
			}
		}
		pc := prepaidCounters{}
		pc.kv[kindIndex(PrepaidPlanned)] = vals[1]
		planned, err := pc.amount(kindIndex(PrepaidPlanned))
		if err != nil {
			return "", retrieving(err)
		}
		praw, err := EncodeGob(&PrePaidData{Amount: new(big.Int).Add(planned, delta)})
		if err != nil {
			return "", status.Errorf(codes.Internal, "internal error: %v", err)
		}
		c.swaps.Add(1)
		// The channel value names the payment (amount and signature), so it
		// tells after a timeout whether the transaction, P included, landed.
		res, err := p.store.swapMany(ctx, []casOp{
			{Key: key, Rev: snap.rev, Put: raw},
			{Key: pkey, Rev: vals[1].Rev, Put: praw},
		}, 0, fence, func(cur []Versioned) (bool, bool) {
			return cur[0].Rev != 0 && bytes.Equal(cur[0].Raw, raw), true
		})
		if err != nil {
			p.log.ErrorContext(ctx, "store prepaid payment", "channel", id, "err", err)
			return "", status.Error(codes.Internal, "unable to store new payment channel state")
		}
		if res.Swapped {
			c.remember(key, &snapshot{data: &next, raw: raw, rev: res.Rev})
			p.local.forget(req.GetChannelId()) // P moved on
			p.log.InfoContext(ctx, "prepaid amount planned", "channel", id, "signed", signed, "added", delta)
			return asker.Hex(), nil
		}
		// Another payment or token request changed the channel or P first:
		// decide again on the current state.
	}
	return "", status.Errorf(codes.Aborted, "payment channel {ID: %s} is changing too fast, retry", id)
}

// saturateUint64 returns n as a uint64, the largest one if it does not fit.
func saturateUint64(n *big.Int) uint64 {
	if n.Sign() < 0 {
		return 0
	}
	if !n.IsUint64() {
		return ^uint64(0)
	}
	return n.Uint64()
}
