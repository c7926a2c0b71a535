package escrow

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CodeIncorrectNonce is snet-daemon's non-standard gRPC code for a payment
// signed for another nonce; clients react to it by re-reading channel state.
const CodeIncorrectNonce codes.Code = 1000

// Group is the payment group this daemon serves, from org and service metadata.
type Group struct {
	MPE                 common.Address // service metadata mpe_address
	ID                  [32]byte       // group_id
	PaymentAddress      common.Address // the channels' recipient
	ExpirationThreshold uint64         // blocks a channel must outlive the head by
	// AllowedUsers is the curation gate (allowed_user_flag, test networks):
	// when not empty, payments signed by anyone else are refused.
	AllowedUsers []common.Address
}

// ChainView is what payment validation needs from the chain: cached data,
// plus a bounded re-read when the cache would reject a call.
type ChainView interface {
	Head(ctx context.Context) (uint64, error)
	Channel(ctx context.Context, id *big.Int) (*ChainChannel, error)
	Refresh(ctx context.Context, id *big.Int) (*ChainChannel, error)
}

// Channels validates and records escrow payments. It is safe for
// concurrent use, also across replicas sharing one etcd: every write is a
// compare-and-swap, so no payment is accepted twice.
type Channels struct {
	store *Store
	chain ChainView
	group Group
	log   *slog.Logger

	// local caches the last value seen per channel key, so the steady state
	// costs one etcd round trip (the swap) instead of a read plus a write.
	// A stale entry is harmless: its swap fails and returns the current value.
	local latest[string, *snapshot]
	// pending counts prepared, uncommitted payments per channel key.
	pending inflight

	swaps, reads atomic.Uint64
}

type snapshot struct {
	data *ChannelData // nil: absent
	raw  []byte
	rev  int64
}

// NewChannels returns the escrow payment processor of one group.
func NewChannels(store *Store, chain ChainView, group Group, log *slog.Logger) *Channels {
	if log == nil {
		log = slog.Default()
	}
	return &Channels{store: store, chain: chain, group: group, log: log}
}

// Group returns the payment group.
func (c *Channels) Group() Group { return c.group }

// Store returns the underlying store.
func (c *Channels) Store() *Store { return c.store }

// Stats counts etcd operations made by the payment path.
type Stats struct{ Swaps, Reads uint64 }

// Stats returns the counters.
func (c *Channels) Stats() Stats { return Stats{Swaps: c.swaps.Load(), Reads: c.reads.Load()} }

// Receipt is a committed payment. Roll it back if the service call fails.
type Receipt struct {
	c        *Channels
	key      string
	rev      int64
	prev     *snapshot      // what a rollback restores
	Sender   common.Address // the channel sender, forwarded as snet-user-address
	Channel  *ChannelData   // the state as committed
	Previous *big.Int       // the authorised amount before this payment
}

// Payer is the channel sender in EIP-55 form, as the service sees it.
func (r *Receipt) Payer() string { return r.Sender.Hex() }

// PriceMismatchError is the refusal of a payment whose increment is not the
// call's price. It is upstream's Unauthenticated status to gRPC, and tells
// the caller the expected price, so that it can be sent to the client (a
// programmable price cannot be guessed).
type PriceMismatchError struct {
	Income, Price *big.Int
	Signed        *big.Int // the amount already authorised in this nonce
}

func (e *PriceMismatchError) Error() string {
	return fmt.Sprintf("income %s does not equal to price %s", e.Income, e.Price)
}

// GRPCStatus makes the error upstream's status on the wire.
func (e *PriceMismatchError) GRPCStatus() *status.Status {
	return status.New(codes.Unauthenticated, e.Error())
}

// reason classifies a refusal by which data may have been stale.
type reason int

const (
	final        reason = iota
	staleChain          // cached chain data may be behind: re-read the channel once
	staleStorage        // the local copy of etcd may be behind: re-read the key once
)

type refusal struct {
	err error
	why reason
}

// Pay validates an escrow payment of price for this call and commits it
// with one compare-and-swap before the call is forwarded. The checks and
// their gRPC statuses are snet-daemon's, in its order.
func (c *Channels) Pay(ctx context.Context, p *EscrowPayment, price *big.Int) (*Receipt, error) {
	return c.PayFor(ctx, p, func(common.Address) (*big.Int, error) { return price, nil })
}

// PriceFunc prices a call once the payer (the channel's sender) is known.
// An error that is a gRPC status reaches the client as it is; others
// become Internal.
type PriceFunc func(payer common.Address) (*big.Int, error)

// PayFor is Pay for a price that depends on who pays (a pricing plugin
// sees the caller). The price is asked for once per call.
func (c *Channels) PayFor(ctx context.Context, p *EscrowPayment, priceOf PriceFunc) (*Receipt, error) {
	pm, err := c.Prepare(ctx, p, priceOf)
	if err != nil {
		return nil, err
	}
	if err := pm.Commit(ctx); err != nil {
		return nil, err
	}
	return pm.Receipt, nil
}

// Payment is an escrow payment that passed validation and is not stored
// yet. Commit stores it; until then it is not accepted. The pipeline
// commits it while the call is on its way to the service and holds the
// response until the commit is durable (DESIGN §1; RATIONALE.md).
type Payment struct {
	c         *Channels
	p         *EscrowPayment
	priceOf   PriceFunc
	key       string
	snap      *snapshot // the stored value the decision is based on
	fromCache bool
	merged    *ChannelData // the state the payment applies to
	price     *big.Int
	signer    common.Address
	signerErr error
	recovered bool
	refreshed bool
	chainCh   *ChainChannel
	chainErr  error
	haveChain bool
	attempts  int
	exclusive bool
	done      bool

	// Receipt is the committed payment, set by a successful Commit.
	Receipt *Receipt
}

// Payer is the channel sender in EIP-55 form, as the service sees it.
func (pm *Payment) Payer() string { return pm.merged.Sender.Hex() }

// Exclusive reports whether no other payment on the channel was pending
// in this process when this one was prepared. Only then is the decision
// expected to stand: concurrent payments on one channel may re-decide at
// commit, so they are committed before their call is forwarded.
func (pm *Payment) Exclusive() bool { return pm.exclusive }

// Prepare validates an escrow payment as Pay does, without storing it.
// Every Payment it returns must be committed (Commit releases it).
func (c *Channels) Prepare(ctx context.Context, p *EscrowPayment, priceOf PriceFunc) (*Payment, error) {
	key := c.store.keys.Channel(p.ChannelID)
	snap, fromCache := c.cached(key)
	if snap == nil {
		var err error
		if snap, err = c.read(ctx, key); err != nil {
			return nil, status.Errorf(codes.Internal, "payment channel error: %v", err)
		}
	}
	pm := &Payment{c: c, p: p, priceOf: priceOf, key: key, snap: snap, fromCache: fromCache}
	if err := pm.decide(ctx); err != nil {
		return nil, err
	}
	pm.exclusive = c.pending.enter(key)
	return pm, nil
}

// maxAttempts bounds the decisions of one payment: one chain re-read, one
// storage re-read and a few lost swaps.
const maxAttempts = 6

// decide validates the payment against pm.snap, re-reading the chain or
// the store once each when stale data may be the cause of a refusal.
func (pm *Payment) decide(ctx context.Context) error {
	c, p := pm.c, pm.p
	for ; pm.attempts < maxAttempts; pm.attempts++ {
		if !pm.haveChain {
			pm.chainCh, pm.chainErr = c.chain.Channel(ctx, p.ChannelID)
			pm.haveChain = true
		}
		merged, r := c.merge(p.ChannelID, pm.snap.data, pm.chainCh, pm.chainErr)
		if r.err == nil && pm.price == nil {
			price, err := pm.priceOf(merged.Sender)
			if err != nil {
				if _, ok := status.FromError(err); ok {
					return err
				}
				return status.Errorf(codes.Internal, "internal error: %v", err)
			}
			pm.price = price
		}
		if r.err == nil {
			if !pm.recovered {
				pm.signer, pm.signerErr = c.recover(p)
				pm.recovered = true
			}
			r = c.validate(ctx, merged, p, pm.price, pm.signer, pm.signerErr)
		}
		if r.err == nil {
			pm.merged = merged
			return nil
		}
		switch {
		case r.why == staleChain && !pm.refreshed:
			pm.refreshed = true
			pm.chainCh, pm.chainErr = c.chain.Refresh(ctx, p.ChannelID)
		case r.why != final && pm.fromCache:
			pm.fromCache = false
			snap, err := c.read(ctx, pm.key)
			if err != nil {
				return status.Errorf(codes.Internal, "payment channel error: %v", err)
			}
			pm.snap = snap
		default:
			return r.err
		}
	}
	return status.Errorf(codes.Aborted, "payment channel {ID: %s} is changing too fast, retry", p.ChannelID)
}

// Commit stores the payment with one compare-and-swap. If another call or
// replica changed the channel first, the payment is decided again on the
// new value, so Commit may refuse it with the statuses of Pay.
func (pm *Payment) Commit(ctx context.Context) error {
	if pm.done {
		return errors.New("escrow: payment committed twice")
	}
	pm.done = true
	c, p := pm.c, pm.p
	defer c.pending.leave(pm.key)
	for {
		merged := pm.merged
		next := *merged
		next.AuthorizedAmount = p.Amount
		next.Signature = p.Signature
		raw, err := EncodeGob(&next)
		if err != nil {
			return status.Errorf(codes.Internal, "internal error: %v", err)
		}
		// What to fence an ambiguous write with, and to roll back to: the
		// stored value as it was, or the chain's state for a new record.
		prev := pm.snap
		if prev.raw == nil {
			fence, err := EncodeGob(merged)
			if err != nil {
				return status.Errorf(codes.Internal, "internal error: %v", err)
			}
			prev = &snapshot{data: merged, raw: fence}
		}
		c.swaps.Add(1)
		res, err := c.store.Swap(ctx, pm.key, pm.snap.rev, raw, prev.raw)
		if err != nil {
			c.log.ErrorContext(ctx, "store payment", "channel", p.ChannelID, "err", err)
			return status.Error(codes.Internal, "unable to store new payment channel state")
		}
		if res.Swapped {
			c.remember(pm.key, &snapshot{data: &next, raw: raw, rev: res.Rev})
			pm.Receipt = &Receipt{c: c, key: pm.key, rev: res.Rev, prev: prev,
				Sender: next.Sender, Channel: &next, Previous: merged.AuthorizedAmount}
			return nil
		}
		// Another call or replica changed the channel first: decide again on its value.
		if pm.snap, err = c.decode(res.Current, res.Rev); err != nil {
			return status.Errorf(codes.Internal, "payment channel error: %v", err)
		}
		c.remember(pm.key, pm.snap)
		pm.fromCache = false
		pm.attempts++
		if err := pm.decide(ctx); err != nil {
			return err
		}
	}
}

// Rollback undoes a committed payment; see Receipt.Rollback.
func (pm *Payment) Rollback(ctx context.Context) (bool, error) {
	if pm.Receipt == nil {
		return false, errors.New("escrow: rollback of a payment that was not committed")
	}
	return pm.Receipt.Rollback(ctx)
}

// Rollback restores the channel as it was before the payment, so the client
// is not charged for a failed call. If the channel moved on since (a later
// payment on the same channel), the payment stays: rolling back would
// discard that later payment's signature. It returns whether it rolled back.
func (r *Receipt) Rollback(ctx context.Context) (bool, error) {
	c := r.c
	ctx = context.WithoutCancel(ctx) // the client may be gone; the refund must still happen
	c.swaps.Add(1)
	res, err := c.store.Swap(ctx, r.key, r.rev, r.prev.raw, r.prev.raw)
	if err != nil {
		return false, fmt.Errorf("roll back channel %s: %w", r.Channel.ChannelID, err)
	}
	if !res.Swapped {
		if snap, err := c.decode(res.Current, res.Rev); err == nil {
			c.remember(r.key, snap)
		}
		return false, nil
	}
	c.remember(r.key, &snapshot{data: r.prev.data, raw: r.prev.raw, rev: res.Rev})
	return true, nil
}

func (c *Channels) recover(p *EscrowPayment) (common.Address, error) {
	msg, err := ClaimMessage(c.group.MPE, p.ChannelID, p.Nonce, p.Amount)
	if err != nil {
		return common.Address{}, err
	}
	signer, err := RecoverSigner(msg, p.Signature)
	if err == nil && len(c.group.AllowedUsers) > 0 && !slices.Contains(c.group.AllowedUsers, signer) {
		return common.Address{}, errNotCurated
	}
	return signer, err
}

// errNotCurated is the curation gate's refusal; clients see it as an
// invalid signature, as with snet-daemon.
var errNotCurated = errors.New("you are not Authorized to call this service during curation process")

// merge combines the stored record with the chain's view, as upstream does.
func (c *Channels) merge(id *big.Int, stored *ChannelData, ch *ChainChannel, chainErr error) (*ChannelData, refusal) {
	notFound := refusal{status.Errorf(codes.Unauthenticated, "payment channel \"{ID: %s}\" not found", id), staleChain}
	if chainErr != nil && !errors.Is(chainErr, ErrChannelNotFound) {
		if stored != nil {
			return stored, refusal{}
		}
		return nil, refusal{status.Errorf(codes.Internal, "payment channel error: %v", chainErr), final}
	}
	if chainErr != nil { // not on chain
		if stored != nil {
			return stored, refusal{}
		}
		return nil, notFound
	}
	if ch.Recipient != c.group.PaymentAddress {
		return nil, refusal{status.Error(codes.Internal, "payment channel error: recipient Address from org metadata does not Match on what was retrieved from Channel"), staleChain}
	}
	if stored == nil {
		if ch.GroupID != c.group.ID {
			return nil, refusal{status.Errorf(codes.Internal,
				"payment channel error: channel received belongs to another group of replicas, current group: %s, channel group: %s",
				base64.StdEncoding.EncodeToString(c.group.ID[:]), base64.StdEncoding.EncodeToString(ch.GroupID[:])), final}
		}
		return fromChain(id, ch), refusal{}
	}
	switch stored.Nonce.Cmp(ch.Nonce) {
	case 1:
		return stored, refusal{}
	case -1:
		return fromChain(id, ch), refusal{}
	}
	m := *stored
	m.FullAmount, m.Expiration = ch.Value, ch.Expiration
	return &m, refusal{}
}

func fromChain(id *big.Int, ch *ChainChannel) *ChannelData {
	return &ChannelData{
		ChannelID:        id,
		Nonce:            ch.Nonce,
		Sender:           ch.Sender,
		Recipient:        ch.Recipient,
		GroupID:          ch.GroupID,
		FullAmount:       ch.Value,
		Expiration:       ch.Expiration,
		Signer:           ch.Signer,
		AuthorizedAmount: new(big.Int),
	}
}

// validate applies snet-daemon's checks in its order (first failure wins).
func (c *Channels) validate(ctx context.Context, ch *ChannelData, p *EscrowPayment, price *big.Int, signer common.Address, signerErr error) refusal {
	if n := p.Nonce.Cmp(ch.Nonce); n != 0 {
		why := staleStorage
		if n > 0 {
			why = staleChain
		}
		return refusal{status.Errorf(CodeIncorrectNonce, "incorrect payment channel nonce, latest: %s, sent: %s", ch.Nonce, p.Nonce), why}
	}
	if signerErr != nil {
		return refusal{status.Error(codes.Unauthenticated, "payment signature is not valid"), final}
	}
	if signer != ch.Signer && signer != ch.Sender {
		return refusal{status.Error(codes.Unauthenticated, "payment is not signed by channel signer/sender"), staleChain}
	}
	head, err := c.chain.Head(ctx)
	if err != nil {
		return refusal{status.Error(codes.Internal, "cannot determine current block"), final}
	}
	limit := new(big.Int).SetUint64(head)
	limit.Add(limit, new(big.Int).SetUint64(c.group.ExpirationThreshold))
	if limit.Cmp(ch.Expiration) >= 0 {
		return refusal{status.Errorf(codes.Unauthenticated,
			"payment channel is near to be expired, expiration time: %s, current block: %d, expiration threshold: %d",
			ch.Expiration, head, c.group.ExpirationThreshold), staleChain}
	}
	if ch.FullAmount.Cmp(p.Amount) < 0 {
		return refusal{status.Errorf(codes.Unauthenticated,
			"not enough tokens on payment channel, channel amount: %s, payment amount: %s", ch.FullAmount, p.Amount), staleChain}
	}
	income := new(big.Int).Sub(p.Amount, ch.AuthorizedAmount)
	if income.Cmp(price) != 0 {
		return refusal{&PriceMismatchError{Income: income, Price: price, Signed: ch.AuthorizedAmount}, staleStorage}
	}
	return refusal{}
}

func (c *Channels) cached(key string) (*snapshot, bool) { return c.local.get(key) }

// remember keeps the newest snapshot of a key (by etcd revision).
func (c *Channels) remember(key string, s *snapshot) { c.local.put(key, s) }

func (c *Channels) read(ctx context.Context, key string) (*snapshot, error) {
	c.reads.Add(1)
	v, err := c.store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	s, err := c.decode(v.Raw, v.Rev)
	if err != nil {
		return nil, err
	}
	c.remember(key, s)
	return s, nil
}

func (c *Channels) decode(raw []byte, rev int64) (*snapshot, error) {
	if rev == 0 || raw == nil {
		return &snapshot{rev: rev}, nil
	}
	d, err := DecodeChannelData(raw)
	if err != nil {
		return nil, err
	}
	return &snapshot{data: d, raw: raw, rev: rev}, nil
}

// Forget drops the local copy of a channel, e.g. after a claim rewrote it.
func (c *Channels) Forget(id *big.Int) { c.local.forget(c.store.keys.Channel(id)) }
