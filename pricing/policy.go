package pricing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tariffd/tariff/plugins"
)

// SourceMetadata is Quote.Source for a price taken from the Table (the
// service metadata's fixed or per-method price).
const SourceMetadata = "metadata"

// SourceService is Quote.Source for a price the service estimated
// (Estimator).
const SourceService = "service"

// FreeCallsUnlimited is Request.FreeCallsAllowed for a user without a
// limit. Plugins read it as absent (input_u64 answers -1).
const FreeCallsUnlimited uint64 = math.MaxUint64

// ErrInvalidPolicy wraps every error of NewPolicy and ParseOnError.
var ErrInvalidPolicy = errors.New("invalid pricing policy")

// OnError is what a Policy does when a plugin call ends in ERROR: a trap, a
// timeout, a limit breach, a negative status, a missing output, or a plugin
// retired under the call.
type OnError uint8

const (
	// OnErrorDeny fails closed, the default: the call (pricing, transform)
	// or the free call (free_call) is refused with a status naming the
	// plugin. A broken pricing plugin never serves calls at a wrong price.
	OnErrorDeny OnError = iota
	// OnErrorFallback ignores the plugin for this call: the Table's price,
	// the built-in free-call rule, or the request unchanged. Logged at warn.
	OnErrorFallback
)

// ParseOnError parses the HCL on_error value: "deny" (or empty) or
// "fallback".
func ParseOnError(s string) (OnError, error) {
	switch s {
	case "", "deny":
		return OnErrorDeny, nil
	case "fallback":
		return OnErrorFallback, nil
	}
	return 0, fmt.Errorf("%w: on_error %q: want \"deny\" or \"fallback\"", ErrInvalidPolicy, s)
}

func (o OnError) String() string {
	switch o {
	case OnErrorDeny:
		return "deny"
	case OnErrorFallback:
		return "fallback"
	}
	return fmt.Sprintf("OnError(%d)", uint8(o))
}

// Rule is one configured plugin (an HCL plugin block) as NewPolicy takes it.
type Rule struct {
	// Name names the rule in statuses, logs and Stats: the HCL label.
	Name string
	// Kind is the question the plugin answers. The plugin must implement it.
	Kind plugins.Kind
	// Methods select the calls the plugin decides, as path.Match patterns
	// on the full method name ("/package.Service/Method"). "*" matches any
	// run of characters except "/", so "/example_service.Calculator/*"
	// selects one service and "/*/*" every method; "?" matches one such
	// character, "[...]" a class, "\" escapes. A pattern must have the
	// method's shape (a leading "/" and one more). Empty: every method.
	Methods []string
	// OnError applies when a call of the plugin ends in ERROR.
	OnError OnError
	// Plugin is the loaded plugin. The Policy owns it from NewPolicy on:
	// Policy.Retire and Close retire it.
	Plugin *plugins.Plugin
}

// Request is what a Policy knows about one call: the input of every plugin
// it runs for that call. The host builds one per call and passes the same
// Request to Price, FreeCall and Transform; nothing here may change while
// one of them runs. Empty strings and a nil ChannelID are absent to plugins
// (their accessors answer -1).
type Request struct {
	Method      string // full gRPC method, "/package.Service/Method"
	ServiceID   string
	OrgID       string
	GroupID     string // base64, as in the metadata
	Caller      string // the payer's checksummed address, or the free-call user's address
	PaymentType string // "escrow", "prepaid-call", "free-call", "train-call"
	// ChannelID is the payment channel; nil for free calls. Ids above 2^63-1
	// are absent to plugins.
	ChannelID *big.Int
	// Body is the request message, read by transform plugins and by plugins
	// declaring needs_body; the others see its length only.
	Body []byte
	// Meta is the request metadata: lowercase keys, "-bin" values decoded
	// (grpc's metadata.MD as received). Only what is here is visible to
	// plugins, so the host decides which headers they see.
	Meta map[string][]string
	// Time is the request time, taken once per request by the host. Zero:
	// the time at which the plugin is called.
	Time time.Time

	// Free-call fields, visible to free_call plugins only. FreeCallsAllowed
	// is FreeCallsUnlimited for a user without a limit; FreeCallUserID may
	// be empty (it is then present and empty, not absent).
	FreeCallsUsed    uint64
	FreeCallsAllowed uint64
	FreeCallUserID   string
}

// Quote is the price of a call.
type Quote struct {
	// Price in cogs. A price from the Table is shared by every caller and
	// must not be modified; copy it before arithmetic in place.
	Price *big.Int
	// Source is the name of the plugin rule that set the price, or
	// SourceMetadata.
	Source string
}

// FreeCallDecision is the answer of FreeCall.
type FreeCallDecision struct {
	// Decided is false when no plugin decided (none selected the method, it
	// returned PASS, or it failed under on_error fallback): the built-in
	// rule (metadata free_calls per user) applies, and the fields below are
	// zero.
	Decided bool
	// Allow: the free call may proceed. When it is false the host refuses
	// the free call as the built-in limit does.
	Allow bool
	// Remaining is the number of free calls the user has left, as the
	// plugin says.
	Remaining uint64
	// Source is the name of the plugin rule that decided.
	Source string
}

// TransformResult is the answer of Transform. The zero value leaves the
// request unchanged.
type TransformResult struct {
	// Body replaces the request message when non-nil (it may be empty).
	Body []byte
	// Meta holds the metadata keys to set, each with its values in order;
	// they replace the request's values of those keys. Plugins cannot set
	// payment headers ("snet-*"), "grpc-*" or pseudo-headers.
	Meta map[string][]string
	// Source is the name of the plugin rule that changed the request; empty
	// when it is unchanged.
	Source string
}

// Policy answers the three questions the call pipeline asks about a call:
// its price, whether a free call is allowed, and how to rewrite the request
// before forwarding it. Each question goes to the first configured plugin
// of its kind whose Methods select the call; the Table and the built-in
// free-call rule decide when none does, when the plugin returns PASS, and
// when it fails under on_error fallback.
//
// A Policy is immutable and safe for concurrent use. Build one per
// configuration snapshot; on reload, build the new one, swap it in, let
// the calls that started on the old one finish, then Retire it.
//
// # Errors
//
// Every error of Price, FreeCall and Transform is a gRPC status meant for
// the client as it is (status.FromError, status.Code): return it from the
// handler unchanged. A plugin's DENY or failure is a *PluginError; a price
// the Table does not define unwraps to ErrUnknownMethod; a caller whose
// context ended gets Canceled or DeadlineExceeded.
//
// # Quotes
//
// The price of a call is a pure function of its Request and of the
// configuration snapshot (plugin versions and Table): plugins run in a
// deterministic environment (no clock, randomness, files or network; see
// package plugins). A client that cannot know a plugin's price asks the
// daemon for a quote, which runs this same Price on its request without
// forwarding it, and then pays that price. The quote holds for the paid
// call when both carry the same method, body and plugin-visible metadata,
// payment type and channel, and when the configuration did not change in
// between. Two inputs differ between a quote and its call by nature: the
// payment headers (the host should leave them out of Request.Meta, or
// plugins should not read them) and the request time (a plugin pricing by
// time makes a quote valid only within the time bucket it prices by).
// When a price mismatch refuses a paid call, the client should ask again.
type Policy struct {
	table     *Table
	estimator Estimator // nil: no dynamic prices
	log       *slog.Logger
	rules     []*rule
	byKind    [numKinds][]*rule
	unmatched [numKinds]atomic.Uint64
}

const numKinds = int(plugins.KindTransform) + 1

type rule struct {
	name    string
	kind    plugins.Kind
	globs   []methodGlob // nil: every method
	onError OnError
	plugin  *plugins.Plugin

	counts [numOutcomes]atomic.Uint64
	// Failures are logged at most logRate per second per rule (a broken
	// plugin fails every call); the lines left out are counted and reported
	// with the next one.
	logLimit   *rate.Limiter
	suppressed atomic.Uint64
}

const (
	failureLogRate  = 1
	failureLogBurst = 5
)

// NewPolicy builds the Policy of one configuration snapshot. table prices
// calls no pricing plugin decides; nil means there is no price table, and
// such calls are refused. Rules are tried in order: for each kind, the
// first rule whose Methods select a method decides it.
//
// NewPolicy checks every rule (name, kind, a plugin that implements the
// kind, on_error, method patterns) and reports all problems at once,
// wrapped in ErrInvalidPolicy. On success the Policy owns the rules'
// plugins; on error the caller still does. log receives failures of
// plugins; nil means slog.Default().
func NewPolicy(table *Table, rules []Rule, log *slog.Logger, opts ...PolicyOption) (*Policy, error) {
	if log == nil {
		log = slog.Default()
	}
	p := &Policy{table: table, log: log}
	for _, o := range opts {
		o(p)
	}
	var errs []error
	seen := make(map[[2]string]bool, len(rules))
	for i, r := range rules {
		ru, err := newRule(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %d: %w", i, err))
			continue
		}
		key := [2]string{r.Name, r.Kind.String()}
		if seen[key] {
			errs = append(errs, fmt.Errorf("rule %d: %s plugin %q is configured twice", i, r.Kind, r.Name))
			continue
		}
		seen[key] = true
		p.rules = append(p.rules, ru)
		p.byKind[ru.kind] = append(p.byKind[ru.kind], ru)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("pricing: %w: %w", ErrInvalidPolicy, errors.Join(errs...))
	}
	return p, nil
}

func newRule(r Rule) (*rule, error) {
	switch {
	case r.Name == "":
		return nil, errors.New("a plugin rule needs a name")
	case r.Kind < plugins.KindPricing || r.Kind > plugins.KindTransform:
		return nil, fmt.Errorf("plugin %q: unknown kind %s", r.Name, r.Kind)
	case r.OnError != OnErrorDeny && r.OnError != OnErrorFallback:
		return nil, fmt.Errorf("plugin %q: unknown on_error %s", r.Name, r.OnError)
	case r.Plugin == nil:
		return nil, fmt.Errorf("%s plugin %q: no plugin loaded", r.Kind, r.Name)
	case !r.Plugin.Info().Has(r.Kind):
		return nil, fmt.Errorf("%s plugin %q: the module does not implement kind %s (its tariff_info lists %v)",
			r.Kind, r.Name, r.Kind, r.Plugin.Info().Kinds)
	}
	ru := &rule{name: r.Name, kind: r.Kind, onError: r.OnError, plugin: r.Plugin,
		logLimit: rate.NewLimiter(failureLogRate, failureLogBurst)}
	var errs []error
	for _, m := range r.Methods {
		g, err := compileGlob(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ru.globs = append(ru.globs, g)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s plugin %q: %w", r.Kind, r.Name, errors.Join(errs...))
	}
	return ru, nil
}

// match returns the first rule of kind k that selects method, or nil.
func (p *Policy) match(k plugins.Kind, method string) *rule {
	for _, ru := range p.byKind[k] {
		if ru.selects(method) {
			return ru
		}
	}
	return nil
}

func (ru *rule) selects(method string) bool {
	if ru.globs == nil {
		return true
	}
	for i := range ru.globs {
		if ru.globs[i].match(method) {
			return true
		}
	}
	return false
}

// Price returns the price of a call: from the first pricing plugin whose
// Methods select r.Method, or otherwise (none does, the plugin returns
// PASS, or it fails under on_error fallback) from the Estimator for the
// methods it prices and from the Table for the rest. A DENY
// refuses the call with the plugin's code and message; a failure under
// on_error deny refuses it with Internal, naming the plugin.
//
// Price is deterministic: equal Requests under one Policy get equal Quotes
// (see "Quotes" on Policy), so a free quote and the paid call agree.
func (p *Policy) Price(ctx context.Context, r *Request) (Quote, error) {
	ru := p.match(plugins.KindPricing, r.Method)
	if ru == nil {
		p.unmatched[plugins.KindPricing].Add(1)
		return p.basePrice(ctx, r)
	}
	res, err := ru.call(ctx, r)
	if err != nil {
		if err := p.failed(ctx, ru, r, err); err != nil {
			return Quote{}, err
		}
		return p.basePrice(ctx, r)
	}
	switch res.Status {
	case plugins.StatusOK:
		ru.counts[OutcomeOK].Add(1)
		return Quote{Price: bigCogs(res.Price), Source: ru.name}, nil
	case plugins.StatusPass:
		ru.counts[OutcomePass].Add(1)
		return p.basePrice(ctx, r)
	}
	return Quote{}, ru.denied(res)
}

// bigCogs returns n as a big.Int in one allocation (SetUint64 takes two: the
// Int and its words).
func bigCogs(n uint64) *big.Int {
	c := new(struct {
		i big.Int
		w [64 / bits.UintSize]big.Word
	})
	c.w[0] = big.Word(n)
	if bits.UintSize == 32 {
		c.w[len(c.w)-1] = big.Word(n >> 32)
	}
	return c.i.SetBits(c.w[:])
}

// Estimator prices calls the service prices itself (snet-daemon's dynamic
// pricing): ok is false for a method it does not price.
type Estimator interface {
	Estimate(ctx context.Context, r *Request) (price *big.Int, ok bool, err error)
}

// PolicyOption configures a Policy.
type PolicyOption func(*Policy)

// WithEstimator lets e price, ahead of the Table, the calls no pricing
// plugin decides.
func WithEstimator(e Estimator) PolicyOption { return func(p *Policy) { p.estimator = e } }

// basePrice prices a call no plugin decided: the service's estimate for
// the methods it prices, the Table for the others.
func (p *Policy) basePrice(ctx context.Context, r *Request) (Quote, error) {
	if p.estimator != nil {
		price, ok, err := p.estimator.Estimate(ctx, r)
		if err != nil {
			return Quote{}, &statusError{status.New(codes.Internal, "internal error: "+err.Error()), err}
		}
		if ok {
			return Quote{Price: price, Source: SourceService}, nil
		}
	}
	return p.tablePrice(r.Method)
}

func (p *Policy) tablePrice(method string) (Quote, error) {
	if p.table == nil {
		return Quote{}, &statusError{status.New(codes.Internal, "internal error: no price table for "+method), nil}
	}
	price, err := p.table.Price(method)
	if err != nil {
		return Quote{}, &statusError{status.New(codes.Internal, "internal error: "+err.Error()), err}
	}
	return Quote{Price: price, Source: SourceMetadata}, nil
}

// FreeCall asks the first free_call plugin whose Methods select r.Method
// whether this free call is allowed. Decided is false when the built-in
// rule applies: no plugin selects the method, it returns PASS, or it fails
// under on_error fallback. A DENY refuses the free call with the plugin's
// code and message; a failure under on_error deny refuses it with
// Unavailable, telling the client it may pay for the call instead.
func (p *Policy) FreeCall(ctx context.Context, r *Request) (FreeCallDecision, error) {
	ru := p.match(plugins.KindFreeCall, r.Method)
	if ru == nil {
		p.unmatched[plugins.KindFreeCall].Add(1)
		return FreeCallDecision{}, nil
	}
	res, err := ru.call(ctx, r)
	if err != nil {
		return FreeCallDecision{}, p.failed(ctx, ru, r, err)
	}
	switch res.Status {
	case plugins.StatusOK:
		ru.counts[OutcomeOK].Add(1)
		return FreeCallDecision{Decided: true, Allow: res.FreeCall, Remaining: res.FreeCallsRemaining, Source: ru.name}, nil
	case plugins.StatusPass:
		ru.counts[OutcomePass].Add(1)
		return FreeCallDecision{}, nil
	}
	return FreeCallDecision{}, ru.denied(res)
}

// Transform asks the first transform plugin whose Methods select r.Method
// for a new request body and metadata. Only that plugin runs: transforms do
// not chain (one plugin per method keeps what the service receives easy to
// tell; a plugin can do several things). The request stays unchanged when
// no plugin selects the method, it returns PASS, or it fails under
// on_error fallback. A DENY refuses the call with the plugin's code and
// message; a failure under on_error deny refuses it with Internal, naming
// the plugin.
func (p *Policy) Transform(ctx context.Context, r *Request) (TransformResult, error) {
	ru := p.match(plugins.KindTransform, r.Method)
	if ru == nil {
		p.unmatched[plugins.KindTransform].Add(1)
		return TransformResult{}, nil
	}
	res, err := ru.call(ctx, r)
	if err != nil {
		return TransformResult{}, p.failed(ctx, ru, r, err)
	}
	switch res.Status {
	case plugins.StatusOK:
		ru.counts[OutcomeOK].Add(1)
		if !res.BodySet && len(res.Meta) == 0 {
			return TransformResult{}, nil
		}
		out := TransformResult{Meta: res.Meta, Source: ru.name}
		if res.BodySet {
			out.Body = res.Body
		}
		return out, nil
	case plugins.StatusPass:
		ru.counts[OutcomePass].Add(1)
		return TransformResult{}, nil
	}
	return TransformResult{}, ru.denied(res)
}

// inputs recycles plugin inputs: one per call on the paid-call hot path.
var inputs = sync.Pool{New: func() any { return new(plugins.Input) }}

// call runs the rule's plugin on r.
func (ru *rule) call(ctx context.Context, r *Request) (plugins.Result, error) {
	in := inputs.Get().(*plugins.Input)
	r.fill(in, ru.kind)
	res, err := ru.plugin.Call(ctx, ru.kind, in)
	in.Reset() // drop the references to the request before pooling
	inputs.Put(in)
	return res, err
}

// fill sets the input fields of ABI v1 from r, for a plugin of kind k.
func (r *Request) fill(in *plugins.Input, k plugins.Kind) {
	setString(in, plugins.FieldMethod, r.Method)
	setString(in, plugins.FieldServiceID, r.ServiceID)
	setString(in, plugins.FieldOrgID, r.OrgID)
	setString(in, plugins.FieldGroupID, r.GroupID)
	setString(in, plugins.FieldCaller, r.Caller)
	setString(in, plugins.FieldPaymentType, r.PaymentType)
	if r.ChannelID != nil && r.ChannelID.Sign() >= 0 && r.ChannelID.IsUint64() {
		in.SetU64(plugins.FieldChannelID, r.ChannelID.Uint64())
	}
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	if ms := t.UnixMilli(); ms >= 0 {
		in.SetU64(plugins.FieldRequestTimeUnixMS, uint64(ms))
	}
	if k == plugins.KindFreeCall {
		in.SetU64(plugins.FieldFreeCallsUsed, r.FreeCallsUsed)
		in.SetU64(plugins.FieldFreeCallsAllowed, r.FreeCallsAllowed)
		in.SetString(plugins.FieldFreeCallUserID, r.FreeCallUserID)
	}
	in.Body = r.Body
	in.Meta = r.Meta
}

func setString(in *plugins.Input, f plugins.Field, v string) {
	if v != "" {
		in.SetString(f, v)
	}
}

// denied is the refusal of a DENY.
func (ru *rule) denied(res plugins.Result) error {
	ru.counts[OutcomeDeny].Add(1)
	msg := res.Message
	if msg == "" {
		msg = fmt.Sprintf("%s plugin %q refused the call", ru.kind, ru.name)
	}
	return &PluginError{Rule: ru.name, Kind: ru.kind, Outcome: OutcomeDeny,
		status: status.New(codes.Code(res.Code), msg)}
}

// failed applies on_error to a call that ended in ERROR. It returns nil
// when the fallback applies, else the refusal.
func (p *Policy) failed(ctx context.Context, ru *rule, r *Request, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		// The caller is gone or out of time: whatever on_error says, the
		// answer no longer matters, and a log line per canceled call would
		// hide the real failures.
		ru.counts[OutcomeError].Add(1)
		return &statusError{status.FromContextError(cerr), err}
	}
	reason := failureReason(err)
	if ru.onError == OnErrorFallback {
		ru.counts[OutcomeFallback].Add(1)
		p.logFailure(ctx, slog.LevelWarn, ru, r, err, "plugin failed; on_error = fallback")
		return nil
	}
	ru.counts[OutcomeError].Add(1)
	p.logFailure(ctx, slog.LevelError, ru, r, err, "plugin failed; call refused (on_error = deny)")
	var st *status.Status
	switch ru.kind {
	case plugins.KindFreeCall:
		st = status.Newf(codes.Unavailable, "free call refused: %s plugin %q failed: %s; the call can be paid for instead",
			ru.kind, ru.name, reason)
	default:
		st = status.Newf(codes.Internal, "internal error: %s plugin %q failed: %s", ru.kind, ru.name, reason)
	}
	return &PluginError{Rule: ru.name, Kind: ru.kind, Outcome: OutcomeError, Err: err, status: st}
}

// failureReason is the short reason sent to clients: the plugin's detail
// (which may quote its code) stays in the logs.
func failureReason(err error) string {
	var ce *plugins.CallError
	switch {
	case errors.As(err, &ce):
		switch ce.Reason {
		case plugins.ErrStatus:
			return fmt.Sprintf("status %d", ce.Status)
		case plugins.ErrMissingOutput:
			return "missing output"
		case plugins.ErrMemoryLimit:
			return "memory limit"
		case plugins.ErrOutputLimit:
			return "output limit"
		case plugins.ErrBadPointer:
			return "bad pointer"
		}
		return ce.Reason.String()
	case errors.Is(err, plugins.ErrClosed):
		return "retired"
	}
	return "unexpected error"
}

func (p *Policy) logFailure(ctx context.Context, level slog.Level, ru *rule, r *Request, err error, msg string) {
	if !ru.logLimit.Allow() {
		ru.suppressed.Add(1)
		return
	}
	attrs := []any{"plugin", ru.name, "kind", ru.kind.String(), "method", r.Method, "err", err}
	if n := ru.suppressed.Swap(0); n > 0 {
		attrs = append(attrs, "suppressed", n)
	}
	p.log.Log(ctx, level, msg, attrs...)
}

// Retire retires the Policy's plugins: new plugin calls fail (and, as an
// ERROR, follow on_error), calls in flight finish, and each plugin is
// released after its last call. Retire a Policy after the requests that use
// it have finished.
func (p *Policy) Retire() {
	for _, ru := range p.rules {
		ru.plugin.Retire()
	}
}

// Close retires the Policy's plugins and waits until they are released or
// ctx is done. Every plugin call is bounded by its timeout, so Close
// returns within one timeout of the last call.
func (p *Policy) Close(ctx context.Context) error {
	p.Retire()
	for _, ru := range p.rules {
		select {
		case <-ru.plugin.Done():
		case <-ctx.Done():
			return fmt.Errorf("pricing: close policy: plugin %q: %w", ru.name, ctx.Err())
		}
	}
	return nil
}

// PluginError is a call refused because of a plugin: its DENY (Outcome
// OutcomeDeny, with the plugin's code and message), or its failure under
// on_error deny (OutcomeError; Err is the plugin's error, a
// *plugins.CallError or plugins.ErrClosed). It is a gRPC status:
// status.FromError and status.Code see what the client gets.
type PluginError struct {
	Rule    string // the rule's name
	Kind    plugins.Kind
	Outcome Outcome // OutcomeDeny or OutcomeError
	Err     error   // OutcomeError: why the plugin failed; nil for a DENY
	status  *status.Status
}

func (e *PluginError) Error() string {
	return "rpc error: code = " + e.status.Code().String() + " desc = " + e.status.Message()
}

// GRPCStatus returns the status sent to the client.
func (e *PluginError) GRPCStatus() *status.Status { return e.status }

// Unwrap returns Err: errors.Is(err, plugins.ErrTimeout) holds for a
// plugin that timed out.
func (e *PluginError) Unwrap() error { return e.Err }

// statusError is a gRPC status that keeps its cause for errors.Is.
type statusError struct {
	st  *status.Status
	err error
}

func (e *statusError) Error() string {
	return "rpc error: code = " + e.st.Code().String() + " desc = " + e.st.Message()
}
func (e *statusError) GRPCStatus() *status.Status { return e.st }
func (e *statusError) Unwrap() error              { return e.err }
