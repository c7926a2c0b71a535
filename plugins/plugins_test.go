package plugins_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/plugins"
)

var ctx = context.Background()

func TestGoodPricing(t *testing.T) {
	rt, logs := newRuntime(t)
	p := load(t, rt, "good_pricing", plugins.Options{Name: "tiered", Config: []byte(`3`)})

	require.Equal(t, plugins.Info{Name: "good-pricing", Version: "1.0.0", ABIMinor: 0,
		Kinds: []plugins.Kind{plugins.KindPricing}}, p.Info())
	require.Equal(t, "tiered", p.Name())
	require.Len(t, p.SHA256(), 64)

	for _, tc := range []struct {
		name  string
		in    *plugins.Input
		price uint64
	}{
		{"metadata price times config", input("/calc.Calculator/add", "x-price", "7"), 21},
		{"method price, read after a too-small buffer", input("/calc.Calculator/add"), 30},
		{"other method", input("/calc.Calculator/mul"), 60},
		{"prefix of the priced method", input("/calc.Calculator/ad"), 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Call(ctx, plugins.KindPricing, tc.in)
			require.NoError(t, err)
			require.Equal(t, plugins.StatusOK, res.Status)
			require.Equal(t, tc.price, res.Price)
		})
	}

	res, err := p.Call(ctx, plugins.KindPricing, nil) // no method: PASS
	require.NoError(t, err)
	require.Equal(t, plugins.StatusPass, res.Status)

	st := p.Stats()
	require.EqualValues(t, 5, st.Calls)
	require.EqualValues(t, 4, st.OK)
	require.EqualValues(t, 1, st.Pass)
	require.EqualValues(t, 4, st.Instances)
	require.EqualValues(t, 4, st.Started)
	for r, n := range st.Errors {
		require.Zero(t, n, r.String())
	}

	// The plugin's log lines carry its name and the entry point.
	var found bool
	for _, l := range logs.all() {
		if l.Msg == "priced by method" {
			found = true
			require.Equal(t, slog.LevelDebug, l.Level)
			require.Equal(t, "tiered", l.Attrs["plugin"])
			require.Equal(t, "tariff_price", l.Attrs["entry"])
		}
	}
	require.True(t, found, "log lines: %v", logs.msgs())
}

func TestPass(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "pass", plugins.Options{})
	res, err := p.Call(ctx, plugins.KindPricing, input("/a/b"))
	require.NoError(t, err)
	require.Equal(t, plugins.Result{Status: plugins.StatusPass}, res)
}

func TestDeny(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "deny", plugins.Options{})
	for _, tc := range []struct {
		mode string
		code uint32
		msg  string
	}{
		{"", 5, "plan does not include this method"},
		{"q", plugins.CodePermissionDenied, ""},
		{"l", 5, strings.Repeat("x", plugins.MaxMessageBytes)},
		{"i", plugins.CodePermissionDenied, "plan does not include this method"},
	} {
		res, err := p.Call(ctx, plugins.KindPricing, mode(tc.mode))
		require.NoError(t, err, tc.mode)
		require.Equal(t, plugins.StatusDeny, res.Status, tc.mode)
		require.Equal(t, tc.code, res.Code, tc.mode)
		require.Equal(t, tc.msg, res.Message, tc.mode)
		require.Zero(t, res.Price)
	}
	require.EqualValues(t, 4, p.Stats().Deny)
}

// requireCallError checks err is a *CallError for plugin "adversarial" with
// the given reason, and returns it.
func requireCallError(t *testing.T, err error, reason plugins.Reason) *plugins.CallError {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, reason, "%v", err)
	var ce *plugins.CallError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, reason, ce.Reason)
	require.Contains(t, err.Error(), `plugin "adversarial"`)
	return ce
}

// TestBadPlugins: every misbehaviour ends in an ERROR naming the plugin and
// the reason; instances that may be damaged are discarded; the next call
// works on a fresh instance.
func TestBadPlugins(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    string
		limits  plugins.Limits
		reason  plugins.Reason
		detail  string
		discard bool
	}{
		{"infinite loop", "l", plugins.Limits{Timeout: 20 * time.Millisecond}, plugins.ErrTimeout, "did not return within 20ms", true},
		{"memory growth", "g", plugins.Limits{MemoryMiB: 2}, plugins.ErrMemoryLimit, "memory.grow past the limit of 2 MiB, then: wasm error: unreachable", true},
		// wazero grows the guest's stack up to about 50 MB before it traps:
		// that takes 0.1 to 5 s here, so this case waits for the trap.
		{"recursion", "r", plugins.Limits{Timeout: 10 * time.Second}, plugins.ErrTrap, "stack overflow", true},
		{"unreachable", "u", plugins.Limits{}, plugins.ErrTrap, "unreachable", true},
		{"bad pointer", "p", plugins.Limits{}, plugins.ErrBadPointer, "input: range [4294963200, 4294963200+64) is outside guest memory", true},
		{"bad length", "n", plugins.Limits{}, plugins.ErrBadPointer, "log: range [256, 256+4294967295)", true},
		{"negative status", "e", plugins.Limits{}, plugins.ErrStatus, "tariff_price returned -5", false},
		{"unknown status", "x", plugins.Limits{}, plugins.ErrStatus, "tariff_price returned 7", false},
		{"OK without a price", "m", plugins.Limits{}, plugins.ErrMissingOutput, "without calling set_price", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, _ := newRuntime(t)
			tc.limits.Instances = 2
			p := load(t, rt, "adversarial", plugins.Options{Limits: tc.limits})

			start := time.Now()
			_, err := p.Call(ctx, plugins.KindPricing, mode(tc.mode))
			elapsed := time.Since(start)
			ce := requireCallError(t, err, tc.reason)
			require.Contains(t, ce.Error(), tc.detail)
			require.Equal(t, plugins.KindPricing, ce.Kind)
			require.Less(t, elapsed, max(2*time.Second, tc.limits.Timeout))
			if tc.reason == plugins.ErrStatus {
				require.NotZero(t, ce.Status)
			}

			st := p.Stats()
			require.EqualValues(t, 1, st.Errors[tc.reason])
			if tc.discard {
				require.EqualValues(t, 1, st.Discarded)
				require.Equal(t, 1, st.Instances)
			} else {
				require.EqualValues(t, 0, st.Discarded)
				require.Equal(t, 2, st.Instances)
			}

			// The plugin keeps working: a fresh instance replaces the
			// discarded one when the pool runs short.
			for i := 0; i < 4; i++ {
				res, err := p.Call(ctx, plugins.KindPricing, mode(""))
				require.NoError(t, err)
				require.EqualValues(t, 1, res.Price)
			}
			require.Equal(t, 2, p.Stats().Instances)
		})
	}
}

func TestConcurrentFailuresAndReplacement(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "adversarial", plugins.Options{Limits: plugins.Limits{Instances: 1}})
	_, err := p.Call(ctx, plugins.KindPricing, mode("u"))
	requireCallError(t, err, plugins.ErrTrap)
	require.Equal(t, 0, p.Stats().Instances) // replaced on demand
	res, err := p.Call(ctx, plugins.KindPricing, mode(""))
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Price)
	st := p.Stats()
	require.Equal(t, 1, st.Instances)
	require.EqualValues(t, 2, st.Started)
}

func TestOutputFlood(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "adversarial", plugins.Options{Limits: plugins.Limits{BodyBytes: 200_000}})
	_, err := p.Call(ctx, plugins.KindTransform, mode("b"))
	ce := requireCallError(t, err, plugins.ErrOutputLimit)
	require.Contains(t, ce.Detail, "over the limit of 200000 bytes")
	require.Equal(t, plugins.KindTransform, ce.Kind)
	require.EqualValues(t, 1, p.Stats().Discarded)

	res, err := p.Call(ctx, plugins.KindTransform, mode(""))
	require.NoError(t, err)
	require.False(t, res.BodySet)
}

func TestLogFlood(t *testing.T) {
	rt, logs := newRuntime(t)
	p := load(t, rt, "adversarial", plugins.Options{Limits: plugins.Limits{LogLines: 5, LogRate: 0.001}})

	// The per-call cap: 5 lines of 1000.
	res, err := p.Call(ctx, plugins.KindPricing, mode("f"))
	require.NoError(t, err)
	require.Equal(t, 5, res.Logs)
	require.Equal(t, 995, res.LogsDropped)
	require.Len(t, logs.all(), 5)

	// The per-plugin rate limit: the burst (5 lines) is spent.
	res, err = p.Call(ctx, plugins.KindPricing, mode("f"))
	require.NoError(t, err)
	require.Equal(t, 0, res.Logs)
	require.Equal(t, 1000, res.LogsDropped)
	require.Len(t, logs.all(), 5)

	st := p.Stats()
	require.EqualValues(t, 5, st.LogLines)
	require.EqualValues(t, 1995, st.LogLinesDropped)
}

func TestTransform(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "transform", plugins.Options{})
	for _, body := range []string{"hello, world", "", "ab", "abc", "abcd"} {
		in := input("/a/b")
		in.Body = []byte(body)
		res, err := p.Call(ctx, plugins.KindTransform, in)
		require.NoError(t, err, body)
		require.Equal(t, plugins.StatusOK, res.Status)
		require.True(t, res.BodySet)
		require.Equal(t, strings.ToUpper(body), string(res.Body))
		require.Equal(t, map[string][]string{"x-transformed": {"yes", "again"}}, res.Meta)
	}
}

func TestUnsupportedKind(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "good_pricing", plugins.Options{})
	_, err := p.Call(ctx, plugins.KindTransform, input("/a/b"))
	require.ErrorIs(t, err, plugins.ErrUnsupported)
	_, err = p.Call(ctx, plugins.Kind(9), input("/a/b"))
	require.ErrorIs(t, err, plugins.ErrUnsupported)
}

func TestBusy(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "adversarial", plugins.Options{Limits: plugins.Limits{Instances: 1, Timeout: 300 * time.Millisecond}})
	done := make(chan error)
	go func() {
		_, err := p.Call(ctx, plugins.KindPricing, mode("l"))
		done <- err
	}()
	require.Eventually(t, func() bool { return p.Stats().Calls == 1 }, time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err := p.Call(short, plugins.KindPricing, mode(""))
	requireCallError(t, err, plugins.ErrBusy)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	requireCallError(t, <-done, plugins.ErrTimeout)
}

func TestCanceled(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "adversarial", plugins.Options{Limits: plugins.Limits{Timeout: 5 * time.Second}})
	c, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := p.Call(c, plugins.KindPricing, mode("l"))
	requireCallError(t, err, plugins.ErrCanceled)
	require.EqualValues(t, 1, p.Stats().Discarded)
}

func TestRetire(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "adversarial", plugins.Options{Limits: plugins.Limits{Timeout: 200 * time.Millisecond}})

	inFlight := make(chan error)
	go func() {
		_, err := p.Call(ctx, plugins.KindPricing, mode("l"))
		inFlight <- err
	}()
	require.Eventually(t, func() bool { return p.Stats().Calls == 1 }, time.Second, time.Millisecond)

	p.Retire()
	_, err := p.Call(ctx, plugins.KindPricing, mode(""))
	require.ErrorIs(t, err, plugins.ErrClosed)
	select {
	case <-p.Done():
		t.Fatal("released while a call is in flight")
	default:
	}
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	require.ErrorIs(t, p.Close(short), context.DeadlineExceeded)

	requireCallError(t, <-inFlight, plugins.ErrTimeout)
	require.NoError(t, p.Close(ctx))
	<-p.Done()
	require.Equal(t, 0, p.Stats().Instances)
}

func TestRuntimeClose(t *testing.T) {
	cache := t.TempDir()
	rt, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{CacheDir: cache})
	require.NoError(t, err)
	p, err := rt.Load(ctx, fixture(t, "pass"), plugins.Options{})
	require.NoError(t, err)
	require.Equal(t, "pass", p.Name()) // from tariff_info
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	require.NotEmpty(t, entries, "compiled code is cached on disk")
	require.NoError(t, rt.Close(ctx))
	<-p.Done()
	_, err = p.Call(ctx, plugins.KindPricing, nil)
	require.ErrorIs(t, err, plugins.ErrClosed)
	_, err = rt.Load(ctx, fixture(t, "pass"), plugins.Options{})
	require.ErrorIs(t, err, plugins.ErrClosed)
}

func TestReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range plugins.Reasons() {
		require.NotContains(t, r.String(), "Reason(")
		require.False(t, seen[r.String()])
		seen[r.String()] = true
		var err error = r
		require.True(t, errors.Is(err, r))
	}
}
