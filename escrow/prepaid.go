package escrow

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Prepaid counter kinds, the last element of Keys.Prepaid (upstream's names).
const (
	PrepaidUsed     = "U" // consumed by prepaid calls
	PrepaidPlanned  = "P" // paid up front through TokenService.GetToken
	PrepaidRefunded = "R" // given back after failed calls: raises the ceiling
)

// Prepaid errors.
var (
	// ErrPrepaidAmbiguous: etcd did not confirm a counter update and the
	// outcome cannot be told from the stored values. The call is refused.
	ErrPrepaidAmbiguous = errors.New("prepaid counter update not confirmed")
	// ErrTokenSecret: the token secret is shorter than upstream's minimum.
	ErrTokenSecret = errors.New("token_secret_key must be at least 32 bytes")
)

// DefaultTokenExpiry is upstream's token_expiry_in_minutes default.
const DefaultTokenExpiry = 1440 * time.Minute

// upstreamDefaultSecret is the token_secret_key of upstream's sample config:
// anyone can mint tokens with it.
const upstreamDefaultSecret = "test-secret-key-at-least-32-bytes-long"

// PrepaidOptions configures prepaid calls and the token service.
type PrepaidOptions struct {
	Secret      []byte        // token_secret_key (HS256), at least 32 bytes
	TokenExpiry time.Duration // token_expiry_in_minutes; 0: DefaultTokenExpiry
	OrgID       string        // organization_id, the orgId claim
	GroupID     string        // group id in base64 as in metadata; "": from Channels' group
	Store       *Store        // where U, P and R live (upstream's keys and gob values)
	Channels    *Channels     // commits the signed amount of GetToken; its chain view gives the head
	Now         func() time.Time
	Log         *slog.Logger
}

// Prepaid takes prepaid calls ("prepaid-call"): the client signed a larger
// amount once through TokenService.GetToken, which added it to the planned
// counter P, and then calls concurrently with the token it got. Each call
// adds its price to the used counter U with one compare-and-swap over U, P
// and R that refuses U > P + R; a failed call adds its price to R.
type Prepaid struct {
	secret   []byte
	expiry   time.Duration
	orgID    string
	groupID  string
	store    *Store
	channels *Channels
	now      func() time.Time
	log      *slog.Logger

	// local caches the counters last seen per channel, so the steady state is
	// one etcd round trip. A stale entry only makes the swap fail and return
	// the current values; a refusal is never decided on it.
	local latest[uint64, *prepaidCounters]
	// sems serialise this process's updates of one channel's counters: they
	// would only make each other's swaps fail. Nothing is held across the
	// service call, and replicas still race safely through the swap.
	sems [64]chan struct{}
}

// NewPrepaid validates o and returns the prepaid payment processor.
func NewPrepaid(o PrepaidOptions) (*Prepaid, error) {
	if len(o.Secret) < 32 {
		return nil, ErrTokenSecret
	}
	if o.Store == nil || o.Channels == nil {
		return nil, errors.New("prepaid: Store and Channels are required")
	}
	if o.OrgID == "" {
		return nil, errors.New("prepaid: OrgID is required")
	}
	if o.TokenExpiry <= 0 {
		o.TokenExpiry = DefaultTokenExpiry
	}
	if o.GroupID == "" {
		g := o.Channels.Group().ID
		o.GroupID = base64.StdEncoding.EncodeToString(g[:])
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if string(o.Secret) == upstreamDefaultSecret {
		o.Log.Warn("token_secret_key is upstream's published sample value: anyone can mint prepaid tokens; set a secret of your own")
	}
	p := &Prepaid{
		secret: bytes.Clone(o.Secret), expiry: o.TokenExpiry, orgID: o.OrgID, groupID: o.GroupID,
		store: o.Store, channels: o.Channels, now: o.Now, log: o.Log,
	}
	for i := range p.sems {
		p.sems[i] = make(chan struct{}, 1)
	}
	return p, nil
}

// PrepaidReceipt is a prepaid call's charge: its price was added to U.
type PrepaidReceipt struct {
	p         *Prepaid
	user      string
	ChannelID uint64
	Price     *big.Int
	done      atomic.Bool
}

// Payer is the token's userAddress claim (who asked for the token), or
// "unknown" when it has none, as upstream forwards it.
func (r *PrepaidReceipt) Payer() string { return r.user }

// Rollback refunds the price after the service failed: it is added to R,
// which raises the ceiling (U is never decreased, as upstream). It refunds
// once however often it is called.
func (r *PrepaidReceipt) Rollback(ctx context.Context) (bool, error) {
	if !r.done.CompareAndSwap(false, true) {
		return false, nil
	}
	ctx = context.WithoutCancel(ctx) // the client may be gone; the refund must still happen
	if err := r.p.add(ctx, r.ChannelID, PrepaidRefunded, r.Price, false); err != nil {
		r.done.Store(false)
		return false, fmt.Errorf("refund %s on prepaid channel %d: %w", r.Price, r.ChannelID, err)
	}
	return true, nil
}

// Pay takes a prepaid call to method at price: it checks the token and adds
// price to the channel's used amount, refusing the call when that would pass
// planned + refunded. Statuses are upstream's (Internal "internal error: …").
func (p *Prepaid) Pay(ctx context.Context, method string, md metadata.MD, price *big.Int) (*PrepaidReceipt, error) {
	pm, err := ParsePrepaidPayment(md)
	if err != nil {
		return nil, err
	}
	user, err := p.verify(pm.Token, pm.ChannelID)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "internal error: %v", err)
	}
	if price == nil || price.Sign() < 0 {
		return nil, status.Errorf(codes.Internal, "internal error: invalid price %v for %s", price, method)
	}
	id := pm.ChannelID.Uint64() // verify checked it is the decimal of a uint64
	if err := p.add(ctx, id, PrepaidUsed, price, true); err != nil {
		if errors.Is(err, errUsageExceeded) {
			return nil, status.Errorf(codes.Internal, "internal error: Usage Exceeded on channel Id %d", id)
		}
		if st, ok := err.(interface{ GRPCStatus() *status.Status }); ok { // add's own (not wrapped etcd statuses)
			return nil, st.GRPCStatus().Err()
		}
		p.log.ErrorContext(ctx, "prepaid usage", "channel", id, "method", method, "err", err)
		if errors.Is(err, ErrPrepaidAmbiguous) {
			return nil, status.Errorf(codes.Internal, "internal error: usage on channel Id %d was not confirmed by storage", id)
		}
		return nil, status.Errorf(codes.Internal, "internal error: cannot record usage on channel Id %d", id)
	}
	return &PrepaidReceipt{p: p, user: user, ChannelID: id, Price: new(big.Int).Set(price)}, nil
}

// verify checks a prepaid token for channel id and returns its userAddress.
// The texts are upstream's; the caller adds "internal error: ".
func (p *Prepaid) verify(token string, id *big.Int) (string, error) {
	claims, err := parseJWT(p.secret, token, p.now())
	if err != nil {
		return "", err
	}
	// Compared as upstream does: the claim's text form, so a missing claim
	// reads "<nil>" in the message.
	if pl := fmt.Sprint(claims["payload"]); pl != id.String() || !id.IsUint64() {
		return "", fmt.Errorf("payload %s used to generate the Token doesnt match expected values", pl)
	}
	if org := fmt.Sprint(claims["orgId"]); org != p.orgID {
		return "", fmt.Errorf("organization %s is not associated with this Daemon", org)
	}
	if g := fmt.Sprint(claims["groupId"]); g != p.groupID {
		return "", fmt.Errorf("groupId %s is not associated with this Daemon", g)
	}
	if u, ok := claims["userAddress"].(string); ok && u != "" {
		return u, nil
	}
	return "unknown", nil
}

// mint returns a token for channel id asked for by user.
func (p *Prepaid) mint(id uint64, user string) (string, error) {
	return signJWT(p.secret, tokenClaims{
		Exp:         p.now().UTC().Add(p.expiry).Unix(),
		GroupID:     p.groupID,
		OrgID:       p.orgID,
		Payload:     fmt.Sprint(id),
		UserAddress: user,
	})
}

var errUsageExceeded = errors.New("usage exceeded")

// prepaidCounters is a snapshot of one channel's U, P and R.
type prepaidCounters struct {
	kv  [3]Versioned // by prepaidKinds
	rev int64        // etcd store revision the snapshot was read at
}

var prepaidKinds = [3]string{PrepaidUsed, PrepaidPlanned, PrepaidRefunded}

func kindIndex(kind string) int {
	for i, k := range prepaidKinds {
		if k == kind {
			return i
		}
	}
	panic("prepaid: unknown counter " + kind)
}

func (c *prepaidCounters) amount(i int) (*big.Int, error) {
	if c.kv[i].Rev == 0 {
		return new(big.Int), nil
	}
	d, err := DecodePrePaidData(c.kv[i].Raw)
	if err != nil {
		return nil, fmt.Errorf("prepaid counter %s: %w", prepaidKinds[i], err)
	}
	if d.Amount == nil {
		return new(big.Int), nil
	}
	return d.Amount, nil
}

// attempts bounds the swaps of one counter update. This process serialises
// its own updates, so only other replicas can make a swap lose.
const prepaidAttempts = 16

// add adds amount to one counter of channel id with a compare-and-swap.
// With check, the swap covers U, P and R, so that U ≤ P + R is decided on
// one consistent state, and it refuses with errUsageExceeded when U would
// pass P + R. Without check (refunds) only the counter itself is compared:
// a refund need not wait for calls.
func (p *Prepaid) add(ctx context.Context, id uint64, kind string, amount *big.Int, check bool) error {
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	release, err := p.lock(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	keys := p.keys(id)
	i := kindIndex(kind)
	compared := []int{i}
	if check {
		compared = []int{0, 1, 2}
	}
	snap, fromCache := p.cached(id)
	if snap == nil {
		if snap, err = p.read(ctx, id); err != nil {
			return err
		}
	}
	for range prepaidAttempts {
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		cur, err := snap.amount(i)
		if err != nil {
			return err
		}
		next := new(big.Int).Add(cur, amount)
		if check {
			planned, err := snap.amount(kindIndex(PrepaidPlanned))
			if err != nil {
				return err
			}
			refunded, err := snap.amount(kindIndex(PrepaidRefunded))
			if err != nil {
				return err
			}
			if next.Cmp(new(big.Int).Add(planned, refunded)) > 0 {
				if fromCache { // never refuse on a copy: another replica may have raised P
					fromCache = false
					if snap, err = p.read(ctx, id); err != nil {
						return err
					}
					continue
				}
				return errUsageExceeded
			}
		}
		raw, err := EncodeGob(&PrePaidData{Amount: next})
		if err != nil {
			return err
		}
		ops := make([]casOp, len(compared))
		target := 0
		for j, k := range compared {
			ops[j] = casOp{Key: keys[k], Rev: snap.kv[k].Rev}
			if k == i {
				ops[j].Put, target = raw, j
			}
		}
		fence := snap.kv[i].Raw
		if snap.kv[i].Rev == 0 {
			if fence, err = EncodeGob(&PrePaidData{Amount: new(big.Int)}); err != nil {
				return err
			}
		}
		// Counter values do not name the write (two calls can write the same
		// sum), so only an unchanged key proves that ours did not land.
		res, err := p.store.swapMany(ctx, ops, target, fence, func(cur []Versioned) (bool, bool) {
			return false, cur[target].Rev == ops[target].Rev
		})
		if err != nil {
			p.local.forget(id)
			return err
		}
		next2 := *snap
		next2.rev = res.Rev
		if res.Swapped {
			next2.kv[i] = Versioned{Raw: raw, Rev: res.Rev}
			p.remember(id, &next2)
			return nil
		}
		for j, k := range compared {
			next2.kv[k] = res.Current[j]
		}
		snap = &next2
		p.remember(id, snap)
		fromCache = false
	}
	return status.Errorf(codes.Aborted, "prepaid usage on channel Id %d is changing too fast, retry", id)
}

func (p *Prepaid) keys(id uint64) []string {
	k := p.store.keys
	return []string{k.Prepaid(id, PrepaidUsed), k.Prepaid(id, PrepaidPlanned), k.Prepaid(id, PrepaidRefunded)}
}

// read reads U, P and R of a channel in one request.
func (p *Prepaid) read(ctx context.Context, id uint64) (*prepaidCounters, error) {
	vals, rev, err := p.store.getMany(ctx, p.keys(id)...)
	if err != nil {
		return nil, err
	}
	c := &prepaidCounters{rev: rev}
	copy(c.kv[:], vals)
	p.remember(id, c)
	return c, nil
}

func (p *Prepaid) cached(id uint64) (*prepaidCounters, bool) { return p.local.get(id) }

// remember keeps the newest snapshot of a channel (by store revision).
func (p *Prepaid) remember(id uint64, c *prepaidCounters) { p.local.put(id, c) }

func (p *Prepaid) lock(ctx context.Context, id uint64) (func(), error) {
	sem := p.sems[id%uint64(len(p.sems))]
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// casOp is one key of a multi-key compare-and-swap: the key must still be
// at Rev (0: absent), and Put, when not nil, is written.
type casOp struct {
	Key string
	Rev int64
	Put []byte
}

// casResult is the outcome of swapMany.
type casResult struct {
	Swapped bool
	Rev     int64       // the write's revision; when lost, the revision Current was read at
	Current []Versioned // by op, when lost
}

// swapMany writes every Put of ops in one etcd transaction if every key is
// still at its Rev; otherwise it returns the keys' current values.
//
// An etcd error leaves the outcome ambiguous; it is resolved as Swap does.
// landed tells from the keys' values whether our write is there (first
// result) and whether that can be told at all (second). When nothing moved,
// key ops[fenceOp] is rewritten with fence under its old revision, so the
// pending transaction can never land. When landed cannot tell, the result
// is ErrPrepaidAmbiguous.
func (s *Store) swapMany(ctx context.Context, ops []casOp, fenceOp int, fence []byte, landed func([]Versioned) (bool, bool)) (casResult, error) {
	res, err := s.casMany(ctx, ops)
	if err == nil {
		return res, nil
	}
	cause := err
	ctx = context.WithoutCancel(ctx) // the caller's deadline may be what expired
	keys := make([]string, len(ops))
	for i, op := range ops {
		keys[i] = op.Key
	}
	for range resolveAttempts {
		cur, rev, err := s.getMany(ctx, keys...)
		if err != nil {
			continue
		}
		ours, known := landed(cur)
		if ours {
			return casResult{Swapped: true, Rev: cur[fenceOp].Rev}, nil
		}
		if !known {
			return casResult{}, fmt.Errorf("%w: %w", ErrPrepaidAmbiguous, cause)
		}
		moved := false
		for i, op := range ops {
			moved = moved || cur[i].Rev != op.Rev
		}
		if moved { // our compare can never succeed now
			return casResult{Rev: rev, Current: cur}, nil
		}
		f, err := s.txn(ctx, ops[fenceOp].Key, ops[fenceOp].Rev, fence)
		if err != nil {
			continue
		}
		if f.Swapped { // decided: ours can no longer land
			cur[fenceOp] = Versioned{Raw: fence, Rev: f.Rev}
			return casResult{Rev: f.Rev, Current: cur}, nil
		}
		// Someone, perhaps our own transaction, got there first: the next
		// read decides.
	}
	return casResult{}, fmt.Errorf("%w: write %q: %w", ErrStorage, ops[fenceOp].Key, cause)
}

// casMany is one attempt of swapMany; errors are etcd's, unresolved.
func (s *Store) casMany(ctx context.Context, ops []casOp) (casResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmps := make([]clientv3.Cmp, 0, len(ops))
	var puts, gets []clientv3.Op
	for _, op := range ops {
		if op.Rev == 0 {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(op.Key), "=", 0))
		} else {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(op.Key), "=", op.Rev))
		}
		if op.Put != nil {
			puts = append(puts, clientv3.OpPut(op.Key, string(op.Put)))
		}
		gets = append(gets, clientv3.OpGet(op.Key))
	}
	resp, err := s.kv.Txn(ctx).If(cmps...).Then(puts...).Else(gets...).Commit()
	if err != nil {
		return casResult{}, err
	}
	if resp.Succeeded {
		return casResult{Swapped: true, Rev: resp.Header.Revision}, nil
	}
	cur, err := rangeValues(resp, len(ops))
	if err != nil {
		return casResult{}, err
	}
	return casResult{Rev: resp.Header.Revision, Current: cur}, nil
}

// getMany reads keys at one revision (one request) and returns their values
// in order (Rev 0: absent) with that revision.
func (s *Store) getMany(ctx context.Context, keys ...string) ([]Versioned, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	gets := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		gets[i] = clientv3.OpGet(k)
	}
	resp, err := s.kv.Txn(ctx).Then(gets...).Commit()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: get %q: %w", ErrStorage, keys, err)
	}
	cur, err := rangeValues(resp, len(keys))
	if err != nil {
		return nil, 0, err
	}
	return cur, resp.Header.Revision, nil
}

func rangeValues(resp *clientv3.TxnResponse, n int) ([]Versioned, error) {
	if len(resp.Responses) != n {
		return nil, fmt.Errorf("%w: %d results for %d reads", ErrStorage, len(resp.Responses), n)
	}
	out := make([]Versioned, n)
	for i, r := range resp.Responses {
		if kvs := r.GetResponseRange().GetKvs(); len(kvs) == 1 {
			out[i] = Versioned{Raw: kvs[0].Value, Rev: kvs[0].ModRevision}
		}
	}
	return out, nil
}
