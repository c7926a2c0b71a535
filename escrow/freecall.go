package escrow

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// FreeCallsUnlimited in FreeCallOptions.PerAddress lifts the limit of an
// address (free_calls_per_address "unlimited").
const FreeCallsUnlimited = -1

// DefaultFreeCallTokenLifetime is the default and the longest lifetime of a
// free-call token, in blocks (about 24 days at 12 s).
const DefaultFreeCallTokenLifetime = 172800

// ErrFreeCallOptions: FreeCallOptions lack something free calls need.
var ErrFreeCallOptions = errors.New("invalid free-call options")

// HeadReader gives the chain head; escrow.Chain serves it from its cache.
type HeadReader interface {
	Head(ctx context.Context) (uint64, error)
}

// BalanceReader reads ERC-20 balances; escrow.Chain implements it.
type BalanceReader interface {
	TokenBalance(ctx context.Context, token, addr common.Address) (*big.Int, error)
}

// FreeCallOptions configure the free calls of one payment group.
type FreeCallOptions struct {
	OrgID         string // organization_id
	ServiceID     string // service_id
	GroupName     string // daemon_group_name, part of the token body
	GroupIDBase64 string // metadata group_id as written, part of the signed messages and keys

	// SigningKey signs tokens (private_key_for_free_calls). Without it, or
	// when its address is not SignerAddress, GetFreeCallToken and
	// GetFreeCallsAvailable answer upstream's "blockchain is disabled"
	// errors; free calls with tokens from another replica still work.
	SigningKey *ecdsa.PrivateKey
	// SignerAddress is metadata free_call_signer_address: the key every
	// token must be signed by.
	SignerAddress common.Address
	// MetadataFreeCalls is metadata free_calls: the limit per user unless
	// PerAddress says otherwise.
	MetadataFreeCalls int
	// PerAddress is config free_calls_per_address: a positive limit, or
	// FreeCallsUnlimited; 0 or absent falls back to MetadataFreeCalls.
	PerAddress map[common.Address]int
	// TrustedSigners (trusted_free_call_signers) may ask tokens for a
	// user_id and skip the balance check: the marketplace's web2 backends.
	TrustedSigners []common.Address
	// AllowedUsers is the curation gate (allowed_user_flag): when not
	// empty, only these addresses may sign free-call requests.
	AllowedUsers []common.Address

	// MinBalance is the Token balance, in its smallest unit, that an
	// untrusted address needs to get a token; nil or 0: no check.
	MinBalance *big.Int
	Token      common.Address // FET/ASI token of the network
	Balances   BalanceReader  // required when MinBalance > 0

	Head   HeadReader // required
	Store  *Store     // required
	Logger *slog.Logger
}

// FreeCalls validates free calls and counts them in etcd with upstream's
// keys and values. Every count is one compare-and-swap on the user's key,
// which also enforces the limit across goroutines and replicas: no lock
// key is ever written, so a crash cannot leave a user stuck.
type FreeCalls struct {
	opts    FreeCallOptions
	issuing bool // SigningKey is set and matches SignerAddress
	log     *slog.Logger
}

// NewFreeCalls checks opts and returns the free-call processor.
func NewFreeCalls(opts FreeCallOptions) (*FreeCalls, error) {
	switch {
	case opts.Store == nil:
		return nil, fmt.Errorf("%w: no store", ErrFreeCallOptions)
	case opts.Head == nil:
		return nil, fmt.Errorf("%w: no chain head reader", ErrFreeCallOptions)
	case opts.OrgID == "" || opts.ServiceID == "" || opts.GroupIDBase64 == "":
		return nil, fmt.Errorf("%w: organization, service and group id are required", ErrFreeCallOptions)
	case opts.MinBalance != nil && opts.MinBalance.Sign() < 0:
		return nil, fmt.Errorf("%w: negative minimum balance %s", ErrFreeCallOptions, opts.MinBalance)
	case opts.MinBalance != nil && opts.MinBalance.Sign() > 0 && opts.Balances == nil:
		return nil, fmt.Errorf("%w: a minimum balance needs a balance reader", ErrFreeCallOptions)
	}
	f := &FreeCalls{opts: opts, log: opts.Logger}
	if f.log == nil {
		f.log = slog.Default()
	}
	f.opts.PerAddress = make(map[common.Address]int, len(opts.PerAddress))
	for a, n := range opts.PerAddress {
		f.opts.PerAddress[a] = n
	}
	f.opts.TrustedSigners = slices.Clone(opts.TrustedSigners)
	f.opts.AllowedUsers = slices.Clone(opts.AllowedUsers)
	if opts.SigningKey != nil {
		if got := crypto.PubkeyToAddress(opts.SigningKey.PublicKey); got != opts.SignerAddress {
			// Upstream's behaviour: tokens it signed would be refused, so none are issued.
			f.log.Error("free-call tokens disabled: private_key_for_free_calls does not match metadata free_call_signer_address",
				"key_address", got.Hex(), "free_call_signer_address", opts.SignerAddress.Hex())
		} else {
			f.issuing = true
		}
	}
	return f, nil
}

// FreeCallReceipt is a free call counted before the call is forwarded.
// Roll it back if the service call fails.
type FreeCallReceipt struct {
	f       *FreeCalls
	key     string
	address string // as sent
	rolled  atomic.Bool

	UserID  string
	Made    int // free calls made by this user, this one included
	Allowed int // the user's limit, FreeCallsUnlimited for none
}

// Payer is the caller's address in EIP-55 form, as the service sees it.
func (r *FreeCallReceipt) Payer() string { return common.HexToAddress(r.address).Hex() }

// fcRefusal is a refused free call. Upstream returns some refusals as
// payment errors with a code and others as plain Go errors, which the
// payment path turns into Internal "internal error: …"; the state service
// returns all of them as plain errors (gRPC Unknown).
type fcRefusal struct {
	code  codes.Code
	plain bool
	msg   string
}

func (r *fcRefusal) Error() string { return r.msg }

// payment is the refusal as the call pipeline returns it.
func (r *fcRefusal) payment() error {
	if r.plain {
		return status.Error(codes.Internal, "internal error: "+r.msg)
	}
	return status.Error(r.code, r.msg)
}

func refuse(code codes.Code, format string, args ...any) *fcRefusal {
	return &fcRefusal{code: code, msg: fmt.Sprintf(format, args...)}
}

func refusePlain(format string, args ...any) *fcRefusal {
	return &fcRefusal{code: codes.Internal, plain: true, msg: fmt.Sprintf(format, args...)}
}

// Pay validates a free call (snet-payment-type free-call) and counts it
// with one compare-and-swap before the call is forwarded. The checks and
// their statuses are snet-daemon's, in its order.
func (f *FreeCalls) Pay(ctx context.Context, md metadata.MD) (*FreeCallReceipt, error) {
	return f.PayWith(ctx, md, nil)
}

// FreeCallDecider is a provider's free-call policy (a free_call plugin). It
// sees the user's counter and configured allowance (FreeCallsUnlimited for
// no limit). decided=false leaves the call to the built-in rule; an error
// refuses the call as it is.
type FreeCallDecider func(ctx context.Context, p *FreeCallPayment, made, allowed int) (decided, allow bool, err error)

// PayWith is Pay with a policy deciding whether the call is free instead of
// the built-in limit. The decision is taken on the counter that the
// compare-and-swap then moves, so concurrent calls cannot both pass a
// policy's last free call.
func (f *FreeCalls) PayWith(ctx context.Context, md metadata.MD, decide FreeCallDecider) (*FreeCallReceipt, error) {
	p, err := ParseFreeCallPayment(md)
	if err != nil {
		return nil, err
	}
	if r := f.validate(ctx, p); r != nil {
		return nil, r.payment()
	}
	return f.count(ctx, p, decide)
}

// validate applies the checks of a free call, or of GetFreeCallsAvailable:
// the request signature, the token signature, the token expiry and the
// block window.
func (f *FreeCalls) validate(ctx context.Context, p *FreeCallPayment) *fcRefusal {
	o := &f.opts
	msg := FreeCallMessage(p.UserAddress, p.UserID, o.OrgID, o.ServiceID, o.GroupIDBase64, p.CurrentBlock, p.Token)
	signer, err := RecoverSigner(msg, p.Signature)
	if err == nil {
		err = f.curation(signer)
	}
	if err == nil && signer != common.HexToAddress(p.UserAddress) {
		err = fmt.Errorf("unauthorized signer: %s not equal %s, maybe invalid signature struct", p.UserAddress, signer.Hex())
	}
	var tokenSigner common.Address
	if err == nil {
		body := FreeCallTokenBody(o.OrgID, o.GroupName, signer, p.UserID, p.TokenExpiryBlock)
		tokenSigner, err = RecoverSigner(body, p.TokenSignature)
	}
	if err != nil {
		return refuse(codes.Unauthenticated, "sign is not valid: %v", err)
	}
	if tokenSigner != o.SignerAddress {
		return refuse(codes.Unauthenticated, "token sign is not valid")
	}
	head, err := headFor(ctx, o.Head, p.CurrentBlock)
	if err != nil {
		f.log.ErrorContext(ctx, "free call: chain head", "err", err)
		return refuse(codes.Internal, "cannot determine current block")
	}
	if p.TokenExpiryBlock < head {
		return refusePlain("authentication failed as the Free Call Token passed has expired")
	}
	if !inBlockWindow(p.CurrentBlock, head) {
		return refusePlain("authentication failed as the signature passed has expired")
	}
	return nil
}

// curation is the allowed_user_flag gate.
func (f *FreeCalls) curation(signer common.Address) error {
	if len(f.opts.AllowedUsers) > 0 && !slices.Contains(f.opts.AllowedUsers, signer) {
		return errors.New("you are not Authorized to call this service during curation process")
	}
	return nil
}

// headFor returns the chain head to judge a client's signed block against.
// A block ahead of the cached head makes a head reader that can (the Chain)
// read the head again first: the client may simply have seen a newer block
// than the cache.
func headFor(ctx context.Context, heads HeadReader, block uint64) (uint64, error) {
	if h, ok := heads.(interface {
		HeadAtLeast(ctx context.Context, block uint64) (uint64, error)
	}); ok && block > blockWindow {
		return h.HeadAtLeast(ctx, block-blockWindow)
	}
	return heads.Head(ctx)
}

// checkBlockWindow reports whether a signed block is within blockWindow of the head.
func checkBlockWindow(ctx context.Context, heads HeadReader, block uint64) (bool, error) {
	head, err := headFor(ctx, heads, block)
	if err != nil {
		return false, err
	}
	return inBlockWindow(block, head), nil
}

// inBlockWindow accepts a signed block within blockWindow of the head,
// without the overflow a signed difference would risk on hostile input.
func inBlockWindow(block, head uint64) bool {
	if block > head {
		return block-head <= blockWindow
	}
	return head-block <= blockWindow
}

// allowed is the limit of one address: config first, then metadata.
func (f *FreeCalls) allowed(address string) int {
	switch n := f.opts.PerAddress[common.HexToAddress(address)]; {
	case n == FreeCallsUnlimited || n > 0:
		return n
	default:
		return f.opts.MetadataFreeCalls
	}
}

// userKey is upstream's counter key: the address as the client sent it, so
// case differences make distinct counters there too.
func (f *FreeCalls) userKey(address, userID string) string {
	o := &f.opts
	return o.Store.keys.FreeCallUser(address, userID, o.OrgID, o.ServiceID, o.GroupIDBase64)
}

// freshUser is the record of a user with no free call yet.
func (f *FreeCalls) freshUser(address, userID string) *FreeCallUserData {
	o := &f.opts
	return &FreeCallUserData{Address: address, UserID: userID,
		OrganizationId: o.OrgID, ServiceId: o.ServiceID, GroupID: o.GroupIDBase64}
}

// countAttempts bounds the compare-and-swaps of one count or rollback. Each
// lost swap means another call counted, so the limit is reached first
// unless the user is unlimited and very busy.
const countAttempts = 32

// count adds one free call to the user's counter unless the limit is
// reached. The read and the swap are two round trips; the swap's compare
// on the mod revision is what makes two racing last calls impossible.
func (f *FreeCalls) count(ctx context.Context, p *FreeCallPayment, decide FreeCallDecider) (*FreeCallReceipt, error) {
	address, userID := p.UserAddress, p.UserID
	store, key, allowed := f.opts.Store, f.userKey(address, userID), f.allowed(address)
	cur, err := store.Get(ctx, key)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "payment freeCallUserData error: %v", err)
	}
	for range countAttempts {
		user := f.freshUser(address, userID)
		if cur.Rev != 0 {
			if user, err = DecodeFreeCallUserData(cur.Raw); err != nil {
				return nil, status.Errorf(codes.Internal, "payment freeCallUserData error: %v", err)
			}
		}
		made := user.FreeCallsMade
		decided, allow := false, false
		if decide != nil {
			if decided, allow, err = decide(ctx, p, made, allowed); err != nil {
				return nil, err
			}
		}
		switch {
		case decided && !allow:
			return nil, status.Errorf(codes.PermissionDenied, "free call not allowed by the provider's policy, calls made = %d", made)
		case !decided && allowed != FreeCallsUnlimited && made >= allowed:
			return nil, refusePlain("free call limit has been exceeded, calls made = %d, total free calls eligible = %d", made, allowed).payment()
		}
		fence := cur.Raw
		if cur.Rev == 0 {
			// The absent key is fenced with the record a reader would assume.
			if fence, err = EncodeGob(user); err != nil {
				return nil, status.Errorf(codes.Internal, "internal error: %v", err)
			}
		}
		// Upstream rewrites the key fields on every count; so do we.
		next := *user
		next.Address, next.OrganizationId, next.ServiceId, next.GroupID =
			address, f.opts.OrgID, f.opts.ServiceID, f.opts.GroupIDBase64
		next.FreeCallsMade = made + 1
		raw, err := EncodeGob(&next)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "internal error: %v", err)
		}
		res, maybe, err := store.swapCounter(ctx, key, cur.Rev, raw, fence)
		if err != nil {
			f.log.ErrorContext(ctx, "store free call", "key", key, "err", err)
			return nil, status.Error(codes.Internal, "unable to store new transaction free call user state")
		}
		if res.Swapped {
			return &FreeCallReceipt{f: f, key: key, address: address, UserID: userID,
				Made: next.FreeCallsMade, Allowed: allowed}, nil
		}
		if maybe {
			// Our count may have landed: counting again on the current value
			// can charge the user one call twice, never serve one uncounted.
			f.log.WarnContext(ctx, "free call count ambiguous after a storage error; counting again", "key", key)
		}
		cur = Versioned{Raw: res.Current, Rev: res.Rev}
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
	}
	return nil, status.Error(codes.Aborted, "free calls of this user are changing too fast, retry")
}

// Rollback takes the free call back after the service failed, so the user
// keeps it, as upstream (which counts only successful calls). Counts
// commute, so a decrement is valid whatever happened since; it reports
// false when there was nothing to take back (the counter was reset or
// deleted by an operator, or Rollback already ran). After an error whose
// outcome is unknown it is not repeated: decrementing twice would give the
// user a call for free.
func (r *FreeCallReceipt) Rollback(ctx context.Context) (bool, error) {
	if !r.rolled.CompareAndSwap(false, true) {
		return false, nil
	}
	ctx = context.WithoutCancel(ctx) // the client may be gone; the refund must still happen
	store := r.f.opts.Store
	cur, err := store.Get(ctx, r.key)
	if err != nil {
		r.rolled.Store(false) // nothing was written: the caller may try again
		return false, fmt.Errorf("roll back free call of %s: %w", r.key, err)
	}
	for range countAttempts {
		if cur.Rev == 0 {
			return false, nil
		}
		user, err := DecodeFreeCallUserData(cur.Raw)
		if err != nil {
			return false, fmt.Errorf("roll back free call of %s: %w", r.key, err)
		}
		if user.FreeCallsMade <= 0 {
			return false, nil
		}
		user.FreeCallsMade--
		raw, err := EncodeGob(user)
		if err != nil {
			return false, fmt.Errorf("roll back free call of %s: %w", r.key, err)
		}
		res, maybe, err := store.swapCounter(ctx, r.key, cur.Rev, raw, cur.Raw)
		if err != nil {
			return false, fmt.Errorf("roll back free call of %s: %w", r.key, err)
		}
		if res.Swapped {
			return true, nil
		}
		if maybe {
			// Decrementing again could give the user a call for free.
			return false, fmt.Errorf("%w: roll back free call of %s: outcome unknown, kept", ErrStorage, r.key)
		}
		cur = Versioned{Raw: res.Current, Rev: res.Rev}
	}
	return false, fmt.Errorf("roll back free call of %s: counter changing too fast", r.key)
}

// swapCounter is Store.Swap for values that do not name their writer: two
// calls counting 3→4 write the same bytes, so after an ambiguous etcd error
// finding "our" value proves nothing. If the key is still at rev, the old
// revision is fenced (rewritten with fence) so the pending request cannot
// land, and the swap is known to have failed. If the key moved on, the
// write may or may not have been ours: maybe is true and the caller
// decides on the current value. Swapped is only reported when etcd said so.
func (s *Store) swapCounter(ctx context.Context, key string, rev int64, value, fence []byte) (res SwapResult, maybe bool, err error) {
	res, err = s.txn(ctx, key, rev, value)
	if err == nil {
		return res, false, nil
	}
	cause := err
	ctx = context.WithoutCancel(ctx) // resolution must run even if the caller's context expired
	for range resolveAttempts {
		cur, err := s.Get(ctx, key)
		if err != nil {
			continue
		}
		if cur.Rev != rev {
			return SwapResult{Rev: cur.Rev, Current: cur.Raw}, true, nil
		}
		fenced, err := s.txn(ctx, key, rev, fence)
		if err != nil {
			continue
		}
		if fenced.Swapped {
			return SwapResult{Rev: fenced.Rev, Current: fence}, false, nil
		}
		return fenced, true, nil
	}
	return SwapResult{}, false, fmt.Errorf("%w: write %q: %w", ErrStorage, key, cause)
}

// remaining is what GetFreeCallsAvailable reports for a user.
func (f *FreeCalls) remaining(ctx context.Context, address, userID string) (uint64, error) {
	v, err := f.opts.Store.Get(ctx, f.userKey(address, userID))
	if err != nil {
		return 0, fmt.Errorf("error in retrieving free call details from storage: %w", err)
	}
	made := 0
	if v.Rev != 0 {
		user, err := DecodeFreeCallUserData(v.Raw)
		if err != nil {
			return 0, fmt.Errorf("error in retrieving free call details from storage: %w", err)
		}
		made = user.FreeCallsMade
	}
	allowed := f.allowed(address)
	if allowed == FreeCallsUnlimited {
		return 99999999, nil // upstream's figure for unlimited
	}
	if made >= allowed {
		return 0, nil
	}
	return uint64(allowed - made), nil
}
