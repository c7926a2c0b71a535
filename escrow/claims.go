package escrow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Refusals of a claim. Their texts are snet-daemon's where it has one
// (treasurer clients print them); errors.Is matches the sentinels.
var (
	// ErrNothingToClaim: the channel has no authorised amount in its current nonce.
	ErrNothingToClaim = errors.New("nothing to claim")
	// ErrClaimNonceMoved: the channel is no longer at the nonce the
	// start-claim request was signed for (another claim started meanwhile).
	ErrClaimNonceMoved = errors.New("channel nonce moved since the claim was signed")
	// ErrClaimConflict: the stored state does not allow a claim to start
	// without losing a signature; an operator must look at it.
	ErrClaimConflict = errors.New("conflicting claim state")
)

// claimError carries a refusal's exact text and its sentinel.
type claimError struct {
	text string
	kind error
}

func (e *claimError) Error() string { return e.text }
func (e *claimError) Unwrap() error { return e.kind }

func claimNotFound(id *big.Int) error {
	return &claimError{fmt.Sprintf("channel Id %s was not found on blockchain or storage", id), ErrChannelNotFound}
}

func claimNothing(id *big.Int) error {
	return &claimError{fmt.Sprintf("authorized amount is zero , hence nothing to claim on the channel Id: %s", id), ErrNothingToClaim}
}

// claimAttempts bounds how often a claim is decided again because paid calls
// kept committing between its read and its write.
const claimAttempts = 8

// unclaimed lists the stored channels that hold an unclaimed payment, by id.
// Only storage is read, as upstream: a channel becomes claimable when it has
// been paid through the daemon.
func (c *Channels) unclaimed(ctx context.Context) ([]*ChannelData, error) {
	all, err := c.store.List(ctx, c.store.keys.ChannelPrefix())
	if err != nil {
		return nil, err
	}
	out := make([]*ChannelData, 0, len(all))
	for key, v := range all {
		ch, err := DecodeChannelData(v.Raw)
		if err != nil || ch.ChannelID == nil || ch.Nonce == nil {
			c.log.ErrorContext(ctx, "undecodable channel record skipped", "key", key, "err", err)
			continue
		}
		if ch.AuthorizedAmount == nil || ch.AuthorizedAmount.Sign() == 0 {
			continue
		}
		out = append(out, ch)
	}
	slices.SortFunc(out, func(a, b *ChannelData) int { return a.ChannelID.Cmp(b.ChannelID) })
	return out, nil
}

// collectClaims deletes the payment records of claims the chain has
// completed (its nonce moved past the record's) and returns the others, by
// channel and nonce. The chain is read fresh, once per channel; a record is
// deleted with a compare-and-swap on the revision it was read at.
//
// A record the chain cannot confirm (channel not found) is kept: only a
// nonce that moved on proves the claim is over. Chain or storage failures
// fail the whole call, as nothing can be decided without them.
func (c *Channels) collectClaims(ctx context.Context) ([]*PaymentRecord, error) {
	all, err := c.store.List(ctx, c.store.keys.PaymentPrefix())
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(all))
	for key := range all {
		keys = append(keys, key)
	}
	slices.Sort(keys)

	nonces := map[string]*big.Int{} // channel id -> chain nonce, nil if not on chain
	kept := make([]*PaymentRecord, 0, len(all))
	for _, key := range keys {
		v := all[key]
		rec, err := DecodePaymentRecord(v.Raw)
		if err != nil || rec.ChannelID == nil || rec.ChannelNonce == nil || rec.Amount == nil {
			// Left in place for an operator; it may hold a signature.
			c.log.ErrorContext(ctx, "undecodable payment record skipped", "key", key, "err", err)
			continue
		}
		chainNonce, seen := nonces[rec.ChannelID.String()]
		if !seen {
			ch, err := c.chain.Refresh(ctx, rec.ChannelID)
			switch {
			case errors.Is(err, ErrChannelNotFound):
			case err != nil:
				return nil, fmt.Errorf("read channel %s: %w", rec.ChannelID, err)
			default:
				chainNonce = ch.Nonce
			}
			nonces[rec.ChannelID.String()] = chainNonce
		}
		if chainNonce == nil || chainNonce.Cmp(rec.ChannelNonce) <= 0 {
			kept = append(kept, rec)
			continue
		}
		gone, err := c.store.DeleteAt(ctx, key, v.Rev)
		if err != nil {
			return nil, err
		}
		if gone {
			c.log.InfoContext(ctx, "claim completed on chain", "channel", rec.ChannelID,
				"nonce", rec.ChannelNonce, "amount", rec.Amount, "chain_nonce", chainNonce)
		}
		// Not gone: rewritten since we read it; the next collection decides.
	}
	slices.SortFunc(kept, func(a, b *PaymentRecord) int {
		return cmp.Or(a.ChannelID.Cmp(b.ChannelID), a.ChannelNonce.Cmp(b.ChannelNonce))
	})
	return kept, nil
}

// startClaim freezes the channel's latest payment for the treasurer to claim
// on chain. In ONE etcd transaction, conditional on the channel key's
// revision as read, it saves the payment as record "<id>/<nonce>" and moves
// the channel to nonce+1 with the claimed amount taken out of its value, so
// the client goes on paying (from 0) in the new nonce at once. When a paid
// call commits in between, the transaction loses and the claim is decided
// again on the new value, so it always takes the latest payment; a payment
// in the old nonce that loses to the claim is refused (incorrect nonce) and
// the client signs again in the new one. Nothing is ever held.
//
// signedNonce, when not nil, is the nonce the provider signed the request
// for; the claim is refused if the channel moved on from it.
func (c *Channels) startClaim(ctx context.Context, id, signedNonce *big.Int) (*PaymentRecord, error) {
	// A claim decision uses fresh chain data: the merge must know whether
	// the chain's nonce has moved past the stored one.
	onChain, chainErr := c.chain.Refresh(ctx, id)
	if chainErr != nil && !errors.Is(chainErr, ErrChannelNotFound) {
		return nil, fmt.Errorf("read channel %s: %w", id, chainErr)
	}
	key := c.store.keys.Channel(id)
	for range claimAttempts {
		v, err := c.store.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		var stored *ChannelData
		if v.Rev != 0 {
			if stored, err = DecodeChannelData(v.Raw); err != nil {
				return nil, fmt.Errorf("channel %s: %w", id, err)
			}
		}
		merged, r := c.merge(id, stored, onChain, chainErr)
		if r.err != nil {
			if stored == nil && errors.Is(chainErr, ErrChannelNotFound) {
				return nil, claimNotFound(id)
			}
			return nil, r.err
		}
		// Only a stored record can hold a payment: chain state has none.
		if stored == nil || merged.AuthorizedAmount == nil || merged.AuthorizedAmount.Sign() == 0 {
			return nil, claimNothing(id)
		}
		if signedNonce != nil && merged.Nonce.Cmp(signedNonce) != 0 {
			return nil, &claimError{fmt.Sprintf("channel Id %s is at nonce %s now, the claim was signed for nonce %s; sign it again",
				id, merged.Nonce, signedNonce), ErrClaimNonceMoved}
		}
		if len(merged.Signature) == 0 || merged.FullAmount == nil || merged.FullAmount.Cmp(merged.AuthorizedAmount) < 0 {
			return nil, &claimError{fmt.Sprintf("channel Id %s: stored payment of %s (value %v, %d-byte signature) cannot be claimed",
				id, merged.AuthorizedAmount, merged.FullAmount, len(merged.Signature)), ErrClaimConflict}
		}

		rec := &PaymentRecord{
			MpeContractAddress: c.group.MPE, // upstream leaves it zero; filled in, it says which contract to claim from
			ChannelID:          new(big.Int).Set(id),
			ChannelNonce:       merged.Nonce,
			Amount:             merged.AuthorizedAmount,
			Signature:          merged.Signature,
		}
		next := *merged
		next.Nonce = new(big.Int).Add(merged.Nonce, big.NewInt(1))
		next.FullAmount = new(big.Int).Sub(merged.FullAmount, merged.AuthorizedAmount)
		next.AuthorizedAmount = new(big.Int)
		next.Signature = nil
		recRaw, err := EncodeGob(rec)
		if err != nil {
			return nil, err
		}
		raw, err := EncodeGob(&next)
		if err != nil {
			return nil, err
		}
		res, err := c.store.SwapCreate(ctx, key, v.Rev, raw, v.Raw, c.store.keys.Payment(id, merged.Nonce), recRaw)
		if errors.Is(err, ErrKeyExists) {
			// A record for this nonce holds another payment (e.g. storage was
			// rewound by hand): overwriting it could lose a signature.
			return nil, &claimError{fmt.Sprintf("channel Id %s: a claim at nonce %s is already in progress with another payment",
				id, merged.Nonce), ErrClaimConflict}
		}
		if err != nil {
			return nil, err
		}
		if res.Swapped {
			c.Forget(id) // the local copy is at the old nonce; the next payment reads afresh
			c.log.InfoContext(ctx, "claim started", "channel", id, "nonce", rec.ChannelNonce, "amount", rec.Amount)
			return rec, nil
		}
		// A paid call committed in between: decide again on its value.
	}
	return nil, status.Errorf(codes.Aborted, "channel Id %s is changing too fast to start a claim, retry", id)
}
