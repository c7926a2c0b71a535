package pricing_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tariffd/tariff/plugins"
	"github.com/tariffd/tariff/pricing"
)

var ctx = context.Background()

func TestPolicyPrice(t *testing.T) {
	rt := newRuntime(t)
	policy, _ := newPolicy(t, calcTable(t), pricing.Rule{
		Name: "tiered", Kind: plugins.KindPricing, Methods: []string{"/calc.Calculator/*"},
		Plugin: load(t, rt, "tiered", plugins.Limits{}),
	})
	tests := []struct {
		name       string
		req        *pricing.Request
		wantPrice  int64
		wantSource string
		wantCode   codes.Code
		wantMsg    string
		wantErr    error
	}{
		{name: "price from metadata", req: req("/calc.Calculator/add", "x-price", "42"),
			wantPrice: 42, wantSource: "tiered"},
		{name: "price per method", req: req("/calc.Calculator/add"), wantPrice: 10, wantSource: "tiered"},
		{name: "price per byte", req: &pricing.Request{Method: "/calc.Calculator/echo", Body: []byte("12345")},
			wantPrice: 5, wantSource: "tiered"},
		{name: "PASS falls back to the table", req: req("/calc.Calculator/mul"),
			wantPrice: 5, wantSource: pricing.SourceMetadata},
		{name: "no plugin selects the method", req: req("/other.Svc/run", "x-price", "42"),
			wantPrice: 3, wantSource: pricing.SourceMetadata},
		{name: "PASS to a table without the method", req: req("/calc.Calculator/div"),
			wantCode: codes.Internal, wantMsg: "internal error: price is not defined for the Method /calc.Calculator/div",
			wantErr: pricing.ErrUnknownMethod},
		{name: "negative status fails closed", req: req("/calc.Calculator/add", "x-price", "abc"),
			wantCode: codes.Internal, wantMsg: `internal error: pricing plugin "tiered" failed: status -1`,
			wantErr: plugins.ErrStatus},
		{name: "OK without a price fails closed", req: req("/calc.Calculator/add", "x-price", ""),
			wantCode: codes.Internal, wantMsg: `internal error: pricing plugin "tiered" failed: missing output`,
			wantErr: plugins.ErrMissingOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := policy.Price(ctx, tt.req)
			if tt.wantMsg != "" {
				require.Error(t, err)
				st, ok := status.FromError(err)
				require.True(t, ok, "not a gRPC status: %v", err)
				require.Equal(t, tt.wantCode, st.Code())
				require.Equal(t, tt.wantMsg, st.Message())
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, big.NewInt(tt.wantPrice), q.Price)
			require.Equal(t, tt.wantSource, q.Source)
		})
	}
	st := policy.Stats()
	require.Equal(t, map[pricing.Outcome]uint64{pricing.OutcomeOK: 3, pricing.OutcomePass: 2,
		pricing.OutcomeDeny: 0, pricing.OutcomeError: 2, pricing.OutcomeFallback: 0}, st.Rules[0].Decisions)
	require.Equal(t, uint64(1), st.Unmatched[plugins.KindPricing])
}

// The first rule whose methods select the call decides, even when it says
// PASS: later rules are not asked.
func TestPolicyFirstMatch(t *testing.T) {
	rt := newRuntime(t)
	policy, _ := newPolicy(t, calcTable(t),
		pricing.Rule{Name: "special", Kind: plugins.KindPricing, Methods: []string{"/calc.Calculator/add", "/calc.Calculator/mul"},
			Plugin: load(t, rt, "modes", plugins.Limits{})},
		pricing.Rule{Name: "tiered", Kind: plugins.KindPricing, Plugin: load(t, rt, "tiered", plugins.Limits{})},
	)
	q, err := policy.Price(ctx, req("/calc.Calculator/add", "x-mode", "o"))
	require.NoError(t, err)
	require.Equal(t, pricing.Quote{Price: big.NewInt(77), Source: "special"}, q)

	// special PASSes: the table answers (it has no price for add), not tiered.
	_, err = policy.Price(ctx, req("/calc.Calculator/add"))
	require.ErrorIs(t, err, pricing.ErrUnknownMethod)

	// special does not select echo: tiered prices it, one cog per byte.
	q, err = policy.Price(ctx, &pricing.Request{Method: "/calc.Calculator/echo", Body: []byte("abc")})
	require.NoError(t, err)
	require.Equal(t, pricing.Quote{Price: big.NewInt(3), Source: "tiered"}, q)
}

// modes DENYs, traps, loops and returns bad statuses on demand, for every kind.
func TestPolicyDeny(t *testing.T) {
	rt := newRuntime(t)
	modes := load(t, rt, "modes", plugins.Limits{})
	var rules []pricing.Rule
	for _, k := range []plugins.Kind{plugins.KindPricing, plugins.KindFreeCall, plugins.KindTransform} {
		rules = append(rules, pricing.Rule{Name: "modes", Kind: k, Plugin: modes})
	}
	policy, _ := newPolicy(t, calcTable(t), rules...)
	ask := map[plugins.Kind]func(*pricing.Request) error{
		plugins.KindPricing:   func(r *pricing.Request) error { _, err := policy.Price(ctx, r); return err },
		plugins.KindFreeCall:  func(r *pricing.Request) error { _, err := policy.FreeCall(ctx, r); return err },
		plugins.KindTransform: func(r *pricing.Request) error { _, err := policy.Transform(ctx, r); return err },
	}
	for k, f := range ask {
		t.Run(k.String(), func(t *testing.T) {
			err := f(req("/calc.Calculator/mul", "x-mode", "d"))
			require.Equal(t, status.New(codes.FailedPrecondition, "quota exhausted").Proto(), status.Convert(err).Proto())
			var pe *pricing.PluginError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, pricing.OutcomeDeny, pe.Outcome)
			require.Equal(t, "modes", pe.Rule)
			require.Equal(t, k, pe.Kind)
			require.NoError(t, pe.Err)

			err = f(req("/calc.Calculator/mul", "x-mode", "s"))
			require.Equal(t, codes.PermissionDenied, status.Code(err))
			require.Equal(t, fmt.Sprintf("%s plugin \"modes\" refused the call", k), status.Convert(err).Message())
		})
	}
}

func TestPolicyOnError(t *testing.T) {
	rt := newRuntime(t)
	// Short deadlines for the looping mode; the other modes end at once.
	limits := plugins.Limits{Timeout: 30 * time.Millisecond, Instances: 2}
	build := func(t *testing.T, onError pricing.OnError) (*pricing.Policy, *logs) {
		modes := load(t, rt, "modes", limits)
		var rules []pricing.Rule
		for _, k := range []plugins.Kind{plugins.KindPricing, plugins.KindFreeCall, plugins.KindTransform} {
			rules = append(rules, pricing.Rule{Name: "modes", Kind: k, OnError: onError, Plugin: modes})
		}
		return newPolicy(t, calcTable(t), rules...)
	}
	deny, denyLogs := build(t, pricing.OnErrorDeny)
	fallback, fallbackLogs := build(t, pricing.OnErrorFallback)
	for _, tc := range []struct {
		mode   string
		reason string
		err    error
	}{
		{"t", "trap", plugins.ErrTrap},
		{"l", "timeout", plugins.ErrTimeout},
		{"n", "status -7", plugins.ErrStatus},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			r := req("/calc.Calculator/mul", "x-mode", tc.mode)

			_, err := deny.Price(ctx, r)
			require.Equal(t, codes.Internal, status.Code(err))
			require.Equal(t, `internal error: pricing plugin "modes" failed: `+tc.reason, status.Convert(err).Message())
			require.ErrorIs(t, err, tc.err)
			var pe *pricing.PluginError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, pricing.OutcomeError, pe.Outcome)

			_, err = deny.FreeCall(ctx, r)
			require.Equal(t, codes.Unavailable, status.Code(err))
			require.Equal(t, `free call refused: free_call plugin "modes" failed: `+tc.reason+
				`; the call can be paid for instead`, status.Convert(err).Message())
			require.ErrorIs(t, err, tc.err)

			_, err = deny.Transform(ctx, r)
			require.Equal(t, codes.Internal, status.Code(err))
			require.Equal(t, `internal error: transform plugin "modes" failed: `+tc.reason, status.Convert(err).Message())

			q, err := fallback.Price(ctx, r)
			require.NoError(t, err)
			require.Equal(t, pricing.Quote{Price: big.NewInt(5), Source: pricing.SourceMetadata}, q)

			d, err := fallback.FreeCall(ctx, r)
			require.NoError(t, err)
			require.Equal(t, pricing.FreeCallDecision{}, d)

			tr, err := fallback.Transform(ctx, r)
			require.NoError(t, err)
			require.Equal(t, pricing.TransformResult{}, tr)
		})
	}
	for _, s := range deny.Stats().Rules {
		require.Equal(t, uint64(3), s.Decisions[pricing.OutcomeError], s.Kind)
	}
	for _, s := range fallback.Stats().Rules {
		require.Equal(t, uint64(3), s.Decisions[pricing.OutcomeFallback], s.Kind)
	}
	// Failures are logged: errors when refused, warnings when falling back.
	for _, tc := range []struct {
		logs  *logs
		level slog.Level
	}{{denyLogs, slog.LevelError}, {fallbackLogs, slog.LevelWarn}} {
		lines := tc.logs.all()
		require.Len(t, lines, 9) // 3 rules × 3 failures, within each rule's burst
		for _, l := range lines {
			require.Equal(t, tc.level, l.Level)
			require.Equal(t, "modes", l.Attrs["plugin"])
		}
	}
}

func TestPolicyFreeCall(t *testing.T) {
	rt := newRuntime(t)
	policy, _ := newPolicy(t, nil,
		pricing.Rule{Name: "modes", Kind: plugins.KindFreeCall, Methods: []string{"/calc.Calculator/mul"},
			Plugin: load(t, rt, "modes", plugins.Limits{})},
		pricing.Rule{Name: "doubler", Kind: plugins.KindFreeCall, Methods: []string{"/calc.Calculator/*"},
			Plugin: load(t, rt, "freecall", plugins.Limits{})},
	)
	free := func(user string, used, allowed uint64) *pricing.Request {
		return &pricing.Request{Method: "/calc.Calculator/add", PaymentType: "free-call",
			Caller:         "0x1111111111111111111111111111111111111111",
			FreeCallUserID: user, FreeCallsUsed: used, FreeCallsAllowed: allowed}
	}
	for _, tc := range []struct {
		name string
		req  *pricing.Request
		want pricing.FreeCallDecision
		code codes.Code
	}{
		{"allowed", free("alice", 1, 2), pricing.FreeCallDecision{Decided: true, Allow: true, Remaining: 2, Source: "doubler"}, codes.OK},
		{"last one", free("alice", 3, 2), pricing.FreeCallDecision{Decided: true, Allow: true, Remaining: 0, Source: "doubler"}, codes.OK},
		{"refused", free("alice", 4, 2), pricing.FreeCallDecision{Decided: true, Allow: false, Source: "doubler"}, codes.OK},
		{"PASS without a user id", free("", 0, 2), pricing.FreeCallDecision{}, codes.OK},
		{"PASS for unlimited users", free("alice", 9, pricing.FreeCallsUnlimited), pricing.FreeCallDecision{}, codes.OK},
		{"DENY", free("blocked", 0, 2), pricing.FreeCallDecision{}, codes.PermissionDenied},
		{"first match", req("/calc.Calculator/mul", "x-mode", "o"),
			pricing.FreeCallDecision{Decided: true, Allow: true, Remaining: 5, Source: "modes"}, codes.OK},
		{"no plugin selects the method", &pricing.Request{Method: "/other.Svc/run", FreeCallUserID: "blocked"},
			pricing.FreeCallDecision{}, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := policy.FreeCall(ctx, tc.req)
			require.Equal(t, tc.code, status.Code(err), "%v", err)
			require.Equal(t, tc.want, d)
		})
	}
	_, err := policy.FreeCall(ctx, free("blocked", 0, 2))
	require.Equal(t, "free calls are closed for this user", status.Convert(err).Message())
}

// echo writes the fields it reads as the new body: this checks how a
// Request becomes a plugin's input.
func TestPolicyTransform(t *testing.T) {
	rt := newRuntime(t)
	policy, _ := newPolicy(t, nil,
		pricing.Rule{Name: "modes", Kind: plugins.KindTransform, Methods: []string{"/calc.Calculator/mul"},
			Plugin: load(t, rt, "modes", plugins.Limits{})},
		pricing.Rule{Name: "echo", Kind: plugins.KindTransform, Plugin: load(t, rt, "echo", plugins.Limits{})},
	)
	r := &pricing.Request{
		Method: "/calc.Calculator/add", ServiceID: "svc", OrgID: "org", GroupID: "Z3JvdXA=",
		Caller: "0xAbC0000000000000000000000000000000000001", PaymentType: "escrow",
		ChannelID: big.NewInt(42), Body: []byte("the body"),
		Meta: map[string][]string{"x-in": {"copied"}}, Time: time.UnixMilli(1_700_000_000_123),
		FreeCallsUsed: 1, FreeCallsAllowed: 2, FreeCallUserID: "user",
	}
	res, err := policy.Transform(ctx, r)
	require.NoError(t, err)
	require.Equal(t, "echo", res.Source)
	require.Equal(t, map[string][]string{"x-out": {"copied"}, "x-echoed": {"yes"}}, res.Meta)
	require.Equal(t, []string{
		"s:/calc.Calculator/add", "s:svc", "s:org", "s:Z3JvdXA=", "s:0xAbC0000000000000000000000000000000000001",
		"s:escrow", "u:42", "u:8", "x", "x", "u:1700000000123", "x", "-", "b:the body",
	}, decodeEcho(t, res.Body))

	// Empty strings and channel ids past 2^63-1 are absent; a zero time is now.
	huge, _ := new(big.Int).SetString("9223372036854775808", 10)
	before := time.Now().UnixMilli()
	res, err = policy.Transform(ctx, &pricing.Request{Method: "/calc.Calculator/add", ChannelID: huge})
	require.NoError(t, err)
	got := decodeEcho(t, res.Body)
	now, err := strconv.ParseInt(got[10][2:], 10, 64)
	require.NoError(t, err)
	require.GreaterOrEqual(t, now, before)
	require.LessOrEqual(t, now, time.Now().UnixMilli())
	got[10] = "now"
	require.Equal(t, []string{"s:/calc.Calculator/add", "-", "-", "-", "-", "-", "-", "u:0", "x", "x", "now", "x", "-", "b:"}, got)
	require.Equal(t, map[string][]string{"x-echoed": {"yes"}}, res.Meta)

	// OK without outputs and PASS leave the request unchanged.
	for _, mode := range []string{"o", "p"} {
		res, err = policy.Transform(ctx, req("/calc.Calculator/mul", "x-mode", mode))
		require.NoError(t, err)
		require.Equal(t, pricing.TransformResult{}, res)
	}
	d := policy.Stats().Rules[0].Decisions
	require.Equal(t, uint64(1), d[pricing.OutcomeOK])
	require.Equal(t, uint64(1), d[pricing.OutcomePass])
}

// decodeEcho turns echo's records into "s:value", "u:number", "-", "x" and
// "b:body".
func decodeEcho(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 5)
		tag, n := b[0], int(binary.LittleEndian.Uint32(b[1:5]))
		b = b[5:]
		require.GreaterOrEqual(t, len(b), n)
		v := b[:n]
		b = b[n:]
		switch tag {
		case 's', 'b':
			out = append(out, string(tag)+":"+string(v))
		case 'u':
			out = append(out, "u:"+strconv.FormatUint(binary.LittleEndian.Uint64(v), 10))
		default:
			out = append(out, string(tag))
		}
	}
	return out
}

func TestNewPolicyErrors(t *testing.T) {
	rt := newRuntime(t)
	tiered := load(t, rt, "tiered", plugins.Limits{})
	defer tiered.Retire()
	for _, tc := range []struct {
		name  string
		rules []pricing.Rule
		want  string
	}{
		{"no name", []pricing.Rule{{Kind: plugins.KindPricing, Plugin: tiered}}, "a plugin rule needs a name"},
		{"unknown kind", []pricing.Rule{{Name: "a", Plugin: tiered}}, `plugin "a": unknown kind Kind(0)`},
		{"no plugin", []pricing.Rule{{Name: "a", Kind: plugins.KindPricing}}, `pricing plugin "a": no plugin loaded`},
		{"kind not implemented", []pricing.Rule{{Name: "a", Kind: plugins.KindFreeCall, Plugin: tiered}},
			`free_call plugin "a": the module does not implement kind free_call (its tariff_info lists [pricing])`},
		{"bad on_error", []pricing.Rule{{Name: "a", Kind: plugins.KindPricing, Plugin: tiered, OnError: 7}},
			`plugin "a": unknown on_error OnError(7)`},
		{"twice", []pricing.Rule{{Name: "a", Kind: plugins.KindPricing, Plugin: tiered}, {Name: "a", Kind: plugins.KindPricing, Plugin: tiered}},
			`rule 1: pricing plugin "a" is configured twice`},
		{"bad patterns", []pricing.Rule{{Name: "a", Kind: plugins.KindPricing, Plugin: tiered,
			Methods: []string{"/calc.Calculator/[", "calc.Calculator/*", "/calc.Calculator/add"}}},
			`pricing plugin "a": method pattern "/calc.Calculator/[": syntax error in pattern` + "\n" +
				`method pattern "calc.Calculator/*": want the shape of a method`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := pricing.NewPolicy(nil, tc.rules, nil)
			require.Nil(t, p)
			require.ErrorIs(t, err, pricing.ErrInvalidPolicy)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	// A failed NewPolicy leaves the plugins to the caller: tiered still works.
	res, err := tiered.Call(ctx, plugins.KindPricing, nil)
	require.NoError(t, err)
	require.Equal(t, plugins.StatusPass, res.Status)
}

func TestParseOnError(t *testing.T) {
	for in, want := range map[string]pricing.OnError{"": pricing.OnErrorDeny, "deny": pricing.OnErrorDeny, "fallback": pricing.OnErrorFallback} {
		got, err := pricing.ParseOnError(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
		if in != "" {
			require.Equal(t, in, got.String())
		}
	}
	_, err := pricing.ParseOnError("ignore")
	require.ErrorIs(t, err, pricing.ErrInvalidPolicy)
	require.EqualError(t, err, `invalid pricing policy: on_error "ignore": want "deny" or "fallback"`)
}

// A caller whose context ended gets its context's status, whatever
// on_error says, and no log line.
func TestPolicyCanceled(t *testing.T) {
	rt := newRuntime(t)
	policy, l := newPolicy(t, calcTable(t), pricing.Rule{Name: "tiered", Kind: plugins.KindPricing,
		OnError: pricing.OnErrorFallback, Plugin: load(t, rt, "tiered", plugins.Limits{})})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := policy.Price(cctx, req("/calc.Calculator/add"))
	require.Equal(t, codes.Canceled, status.Code(err))
	require.ErrorIs(t, err, plugins.ErrCanceled)
	require.Empty(t, l.all())
	require.Equal(t, uint64(1), policy.Stats().Rules[0].Decisions[pricing.OutcomeError])
}

// A plugin that fails on every call is logged at most a burst, then about
// once a second, with the count of lines left out.
func TestPolicyFailureLogsAreRateLimited(t *testing.T) {
	rt := newRuntime(t)
	policy, l := newPolicy(t, calcTable(t), pricing.Rule{Name: "modes", Kind: plugins.KindPricing,
		OnError: pricing.OnErrorFallback, Plugin: load(t, rt, "modes", plugins.Limits{})})
	r := req("/calc.Calculator/mul", "x-mode", "n")
	for range 50 {
		_, err := policy.Price(ctx, r)
		require.NoError(t, err)
	}
	require.Len(t, l.all(), 5)
	time.Sleep(1100 * time.Millisecond)
	_, err := policy.Price(ctx, r)
	require.NoError(t, err)
	lines := l.all()
	require.Len(t, lines, 6)
	require.Equal(t, "45", lines[5].Attrs["suppressed"])
	require.Equal(t, uint64(51), policy.Stats().Rules[0].Decisions[pricing.OutcomeFallback])
}

// After Close, the plugins are released: calls fail as ERROR and follow
// on_error.
func TestPolicyClose(t *testing.T) {
	rt := newRuntime(t)
	tiered := load(t, rt, "tiered", plugins.Limits{})
	modes := load(t, rt, "modes", plugins.Limits{})
	l := &logs{}
	policy, err := pricing.NewPolicy(calcTable(t), []pricing.Rule{
		{Name: "tiered", Kind: plugins.KindPricing, Methods: []string{"/calc.Calculator/add"}, Plugin: tiered},
		{Name: "modes", Kind: plugins.KindPricing, OnError: pricing.OnErrorFallback, Plugin: modes},
	}, slog.New(l))
	require.NoError(t, err)
	require.NoError(t, policy.Close(ctx))
	<-tiered.Done()
	<-modes.Done()
	require.NoError(t, policy.Close(ctx), "Close twice")

	_, err = policy.Price(ctx, req("/calc.Calculator/add"))
	require.Equal(t, `internal error: pricing plugin "tiered" failed: retired`, status.Convert(err).Message())
	require.ErrorIs(t, err, plugins.ErrClosed)
	q, err := policy.Price(ctx, req("/calc.Calculator/mul"))
	require.NoError(t, err)
	require.Equal(t, pricing.SourceMetadata, q.Source)
}

// P goroutines × N calls of every kind on one Policy with small pools:
// answers stay right, counters add up (run with -race).
func TestPolicyConcurrent(t *testing.T) {
	rt := newRuntime(t)
	limits := plugins.Limits{Instances: 2}
	policy, _ := newPolicy(t, calcTable(t),
		pricing.Rule{Name: "tiered", Kind: plugins.KindPricing, Methods: []string{"/calc.Calculator/*"}, Plugin: load(t, rt, "tiered", limits)},
		pricing.Rule{Name: "doubler", Kind: plugins.KindFreeCall, Plugin: load(t, rt, "freecall", limits)},
		pricing.Rule{Name: "echo", Kind: plugins.KindTransform, Plugin: load(t, rt, "echo", limits)},
	)
	const P, N = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, P)
	for g := range P {
		wg.Go(func() {
			for i := range N {
				n := g*N + i
				q, err := policy.Price(ctx, req("/calc.Calculator/add", "x-price", strconv.Itoa(n)))
				if err != nil || q.Price.Int64() != int64(n) {
					errs <- fmt.Errorf("price %d: %v %v", n, q.Price, err)
					return
				}
				q, err = policy.Price(ctx, req("/calc.Calculator/mul"))
				if err != nil || q.Price.Int64() != 5 {
					errs <- fmt.Errorf("table price: %v %v", q.Price, err)
					return
				}
				d, err := policy.FreeCall(ctx, &pricing.Request{Method: "/calc.Calculator/add",
					FreeCallUserID: "u", FreeCallsUsed: uint64(i), FreeCallsAllowed: N / 2})
				if err != nil || d.Allow != (i < N) || !d.Decided || d.Remaining != uint64(N-i-1) {
					errs <- fmt.Errorf("free call %d: %+v %v", i, d, err)
					return
				}
				body := []byte(strconv.Itoa(n))
				tr, err := policy.Transform(ctx, &pricing.Request{Method: "/calc.Calculator/add", Body: body})
				if err != nil {
					errs <- err
					return
				}
				// echo's last record is the body: 'b', its length (LE u32), the bytes.
				if want := append([]byte{'b', byte(len(body)), 0, 0, 0}, body...); !bytes.HasSuffix(tr.Body, want) {
					errs <- fmt.Errorf("transform %d: %q", n, tr.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := policy.Stats()
	require.Equal(t, uint64(P*N*2), st.Rules[0].Decisions[pricing.OutcomeOK]+st.Rules[0].Decisions[pricing.OutcomePass])
	require.Equal(t, uint64(P*N), st.Rules[0].Decisions[pricing.OutcomePass])
	require.Equal(t, uint64(P*N), st.Rules[1].Decisions[pricing.OutcomeOK])
	require.Equal(t, uint64(P*N), st.Rules[2].Decisions[pricing.OutcomeOK])
}

func TestPluginErrorText(t *testing.T) {
	rt := newRuntime(t)
	policy, _ := newPolicy(t, calcTable(t), pricing.Rule{Name: "modes", Kind: plugins.KindPricing, Plugin: load(t, rt, "modes", plugins.Limits{})})
	_, err := policy.Price(ctx, req("/calc.Calculator/mul", "x-mode", "d"))
	require.EqualError(t, err, "rpc error: code = FailedPrecondition desc = quota exhausted")
	_, err = policy.Price(ctx, req("/calc.Calculator/div"))
	require.EqualError(t, err, "rpc error: code = Internal desc = internal error: price is not defined for the Method /calc.Calculator/div")
	require.True(t, errors.Is(err, pricing.ErrUnknownMethod))
}

// On the paid-call hot path a Policy adds at most the price's allocation
// to the plugin call's own, and nothing on PASS or without a plugin.
// The plugin call itself varies by one allocation between runs (wazero's
// pool), and the policy's input carries more fields than this raw call's,
// so the policy's best of three is compared with the call's worst plus
// one: a regression of a few allocations still fails (it failed about one
// run in twenty with no slack).
func TestPolicyPriceAllocations(t *testing.T) {
	rt := newRuntime(t)
	tiered := load(t, rt, "tiered", plugins.Limits{})
	policy, _ := newPolicy(t, calcTable(t), pricing.Rule{Name: "tiered", Kind: plugins.KindPricing,
		Methods: []string{"/calc.Calculator/*"}, Plugin: tiered})
	allocs := func(best bool, f func()) float64 {
		n := testing.AllocsPerRun(200, f)
		for range 2 {
			m := testing.AllocsPerRun(200, f)
			if best == (m < n) {
				n = m
			}
		}
		return n
	}
	priced, pass, table := req("/calc.Calculator/add"), req("/calc.Calculator/mul"), req("/other.Svc/run")
	for _, tc := range []struct {
		r     *pricing.Request
		extra float64
	}{{priced, 1}, {pass, 0}} {
		in := &plugins.Input{}
		in.SetString(plugins.FieldMethod, tc.r.Method)
		raw := allocs(false, func() { _, _ = tiered.Call(ctx, plugins.KindPricing, in) })
		got := allocs(true, func() { _, _ = policy.Price(ctx, tc.r) })
		require.LessOrEqual(t, got, raw+tc.extra+1, "%s: %v allocations, the plugin call alone %v", tc.r.Method, got, raw)
	}
	require.Zero(t, testing.AllocsPerRun(200, func() { _, _ = policy.Price(ctx, table) }))
}

// estimates prices the methods it lists, as a service with dynamic pricing.
type estimates map[string]int64

func (e estimates) Estimate(_ context.Context, r *pricing.Request) (*big.Int, bool, error) {
	p, ok := e[r.Method]
	if !ok {
		return nil, false, nil
	}
	if p < 0 {
		return nil, true, errors.New("the service did not answer")
	}
	return big.NewInt(p), true, nil
}

// The service's estimate takes the table's place; plugins still come first.
func TestPolicyEstimator(t *testing.T) {
	rt := newRuntime(t)
	p, err := pricing.NewPolicy(calcTable(t), []pricing.Rule{{
		Name: "tiered", Kind: plugins.KindPricing, Methods: []string{"/calc.Calculator/*"},
		Plugin: load(t, rt, "tiered", plugins.Limits{}),
	}}, nil, pricing.WithEstimator(estimates{"/calc.Calculator/add": 70, "/calc.Calculator/div": 80, "/other.Svc/go": 90, "/other.Svc/down": -1}))
	require.NoError(t, err)
	defer p.Close(context.Background())
	for _, tc := range []struct {
		method, source string
		price          int64
	}{
		{"/calc.Calculator/add", "tiered", 10},              // the plugin decides
		{"/calc.Calculator/div", pricing.SourceService, 80}, // the plugin passes: the service's estimate
		{"/other.Svc/go", pricing.SourceService, 90},        // no plugin: the service's estimate
		{"/other.Svc/run", pricing.SourceMetadata, 3},       // no estimate method: the table
	} {
		q, err := p.Price(context.Background(), req(tc.method))
		require.NoError(t, err, tc.method)
		require.Equal(t, tc.source, q.Source, tc.method)
		require.Equal(t, tc.price, q.Price.Int64(), tc.method)
	}
	_, err = p.Price(context.Background(), req("/other.Svc/down"))
	require.Equal(t, codes.Internal, status.Code(err))
	require.ErrorContains(t, err, "internal error: the service did not answer")
}
