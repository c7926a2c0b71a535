package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/conformance"
	"github.com/tariffd/tariff/plugins"
)

// check runs the suite and fails the test on an error.
func check(t *testing.T, wasm []byte, opts conformance.Options) *conformance.Report {
	t.Helper()
	r, err := conformance.Check(ctx, wasm, opts)
	require.NoError(t, err)
	if testing.Verbose() || t.Failed() {
		var b bytes.Buffer
		require.NoError(t, r.WriteText(&b))
		t.Log("\n" + b.String())
	}
	return r
}

func vectors(t *testing.T, name string) []conformance.Vector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	vs, err := conformance.ParseVectors(b)
	require.NoError(t, err)
	return vs
}

// TestGoodPasses: a correct plugin passes with no vectors and no config;
// the kinds come from tariff_info, and every check but vectors runs.
func TestGoodPasses(t *testing.T) {
	r := check(t, fixture(t, "good"), conformance.Options{})
	require.True(t, r.Passed, "failed: %v", r.Failed())
	require.Empty(t, r.Failed())
	for _, c := range r.Checks {
		if c.Name == "vectors" {
			require.Equal(t, conformance.Skip, c.Status)
			continue
		}
		require.Equal(t, conformance.Pass, c.Status, "%s: %s", c.Name, c.Reason)
		require.NotEmpty(t, c.Reason)
	}
	require.Equal(t, "good", r.Plugin.Name)
	require.Equal(t, []string{"pricing", "free_call", "transform"}, r.Plugin.Kinds)
	m := r.Metrics
	require.Equal(t, len(fixture(t, "good")), m.ModuleBytes)
	require.EqualValues(t, 3<<16, m.InitialMemoryBytes)
	require.GreaterOrEqual(t, m.PeakMemoryBytes, m.InitialMemoryBytes)
	require.EqualValues(t, 32<<20, m.MemoryLimitBytes)
	require.Len(t, m.Calls, 3)
	for _, c := range m.Calls {
		require.Positive(t, c.P50)
		require.LessOrEqual(t, c.P50, c.P99)
		require.LessOrEqual(t, c.P99, c.Max)
	}
	require.Greater(t, m.TotalCalls, 10_000)
}

func TestGoodVectors(t *testing.T) {
	r := check(t, fixture(t, "good"), conformance.Options{Vectors: vectors(t, "good.vectors.json")})
	require.True(t, r.Passed, "failed: %v", r.Failed())
	require.Equal(t, "9 vectors gave the expected answers", r.Check("vectors").Reason)
}

// TestWrongVectors: each wrong vector is named, with what the plugin
// answered and what was expected.
func TestWrongVectors(t *testing.T) {
	r := check(t, fixture(t, "good"), conformance.Options{Vectors: vectors(t, "good_wrong.vectors.json")})
	require.Equal(t, []string{"vectors"}, r.Failed())
	c := r.Check("vectors")
	require.Equal(t, `4 of 5 vectors failed; first: vector "wrong price": got OK price 20; want price 25`, c.Reason)
	require.Equal(t, []string{
		`vector "wrong price": got OK price 20; want price 25`,
		`vector "wrong status": got DENY ResourceExhausted "no free calls left"; want OK`,
		`vector "no kind": "kind" is required: the plugin implements pricing, free_call, transform`,
		`vector "wrong body": got OK meta x-plan="paid"; want body "HELLO"`,
	}, c.Details)
}

// TestHostile: every hostile fixture fails, for its own reason and only for
// it, however it misbehaves; the checker reports and returns.
func TestHostile(t *testing.T) {
	fast := plugins.Limits{InitTimeout: 100 * time.Millisecond}
	for _, tc := range []struct {
		fixture string
		opts    conformance.Options
		failed  string // the only check that fails
		want    string // in its reason or details
	}{
		{"bad_invalid_code", conformance.Options{}, "static.valid", "the compiler refuses the module"},
		{"bad_threads", conformance.Options{}, "static.threads", "memory is shared"},
		{"bad_imports", conformance.Options{}, "static.imports", "imports env.now: plugins may import only from tariff_v1 and wasi_snapshot_preview1"},
		{"bad_imports", conformance.Options{}, "static.imports", "imports wasi_snapshot_preview1.path_open: plugins have no filesystem (in Go, os.Open, os.ReadFile and time.LoadLocation link it; use time.FixedZone or embedded data)"},
		{"bad_exports", conformance.Options{}, "static.exports", "exports tariff_price with type () -> i64, want () -> i32"},
		{"bad_start", conformance.Options{}, "static.start", "exports _start: it is a command module"},
		{"bad_memory", conformance.Options{}, "static.memory", "initial memory is 40 MiB, over the limit of 32 MiB"},
		{"good", conformance.Options{Limits: plugins.Limits{ModuleBytes: 100}}, "static.size", "over the limit of 100 bytes"},
		{"bad_init_loop", conformance.Options{Limits: fast}, "init.start", "tariff_init: did not finish within the init deadline of 100ms"},
		{"bad_info", conformance.Options{}, "init.info", "the plugin needs ABI v1.9, this host implements v1.0"},
		{"bad_trap", conformance.Options{}, "adversarial", "pricing: CALLER absent: ERROR trap: wasm error: unreachable"},
		{"bad_retry", conformance.Options{}, "adversarial", "pricing: METHOD of 16385 bytes: ERROR bad pointer: input: range [60000, 60000+16385) is outside guest memory"},
		{"bad_missing_output", conformance.Options{}, "adversarial", "pricing: METHOD empty: ERROR missing output: tariff_price returned OK without calling set_price"},
		{"bad_timeout", conformance.Options{}, "adversarial", "pricing: maximal body (4194304 bytes): ERROR timeout: did not return within 20ms"},
		{"bad_leak", conformance.Options{}, "resources.memory", "memory kept growing"},
		{"bad_hog", conformance.Options{}, "resources.memory", "calls reached the memory limit of 32 MiB; first: pricing: maximal body (4194304 bytes): memory.grow past the limit of 32 MiB"},
		{"bad_body_flood", conformance.Options{Limits: plugins.Limits{BodyBytes: 256 << 10}}, "resources.output", "body_write: new body over the limit of 262144 bytes"},
		{"bad_log_flood", conformance.Options{}, "resources.logs", "tried to log 30 lines"},
		{"bad_stateful", conformance.Options{}, "determinism.instances", "a fresh instance OK price 1"},
		{"bad_random", conformance.Options{}, "determinism.environment", "changed with the bytes of random_get"},
		{"bad_slow", conformance.Options{LatencyBudget: 20 * time.Microsecond}, "latency", "is over the budget of 20µs"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			t0 := time.Now()
			r := check(t, fixture(t, tc.fixture), tc.opts)
			require.False(t, r.Passed)
			require.Equal(t, []string{tc.failed}, r.Failed())
			c := r.Check(tc.failed)
			require.NotEmpty(t, c.Fix, "a failed check says how to fix it")
			require.Contains(t, c.Reason+"\n"+strings.Join(c.Details, "\n"), tc.want)
			require.Less(t, time.Since(t0), 30*time.Second)
		})
	}
}

// TestStaticFailureStopsTheRun: nothing runs after a static failure, and
// every check not run says why.
func TestStaticFailureStopsTheRun(t *testing.T) {
	r := check(t, []byte("hello, world"), conformance.Options{})
	require.Equal(t, []string{"static.valid"}, r.Failed())
	require.Contains(t, r.Check("static.valid").Reason, "not a valid WebAssembly module")
	for _, c := range r.Checks {
		if c.Name != "static.valid" && c.Name != "static.size" {
			require.Equal(t, conformance.Skip, c.Status, c.Name)
			require.Equal(t, "not run: the module fails the static checks, so tariffd refuses to load it", c.Reason)
		}
	}
}

// TestNeedsConfig: a plugin whose tariff_init refuses to start without a
// config fails init.start, with its own log line as the evidence.
func TestNeedsConfig(t *testing.T) {
	r := check(t, fixture(t, "needs_config"), conformance.Options{})
	require.Equal(t, []string{"init.start"}, r.Failed())
	c := r.Check("init.start")
	require.Equal(t, "tariff_init returned 1", c.Reason)
	require.Equal(t, []string{"plugin log: ERROR needs_config: a config is required"}, c.Details)

	r = check(t, fixture(t, "needs_config"), conformance.Options{Config: []byte(`{"price": 7}`)})
	require.True(t, r.Passed, "failed: %v", r.Failed())
}

// TestClockWarns: a price that follows the WASI clock passes (the clock is
// a constant in tariffd) with a warning.
func TestClockWarns(t *testing.T) {
	r := check(t, fixture(t, "clock"), conformance.Options{})
	require.True(t, r.Passed, "failed: %v", r.Failed())
	c := r.Check("determinism.environment")
	require.Len(t, c.Warnings, 1)
	require.Contains(t, c.Warnings[0], "changed with the WASI clock")
}

// TestKinds: --kind narrows the run; a kind the plugin lacks fails init.info.
func TestKinds(t *testing.T) {
	r := check(t, fixture(t, "good"), conformance.Options{Kinds: []plugins.Kind{plugins.KindTransform},
		Vectors: vectors(t, "good.vectors.json")})
	require.True(t, r.Passed, "failed: %v", r.Failed())
	require.Len(t, r.Metrics.Calls, 1)
	require.Equal(t, "transform", r.Metrics.Calls[0].Kind)
	require.Equal(t, "2 vectors gave the expected answers", r.Check("vectors").Reason)
	require.Equal(t, []string{"7 vectors of other kinds not run (--kind)"}, r.Check("vectors").Warnings)

	r = check(t, fixture(t, "bad_stateful"), conformance.Options{Kinds: []plugins.Kind{plugins.KindFreeCall}})
	require.Equal(t, []string{"init.info"}, r.Failed())
	require.Equal(t, "tariff_info declares pricing, not free_call", r.Check("init.info").Reason)
}

func TestOptionErrors(t *testing.T) {
	for _, opts := range []conformance.Options{
		{Config: []byte(`{"a":`)},
		{Kinds: []plugins.Kind{9}},
		{LatencyBudget: -1},
	} {
		_, err := conformance.Check(ctx, fixture(t, "good"), opts)
		require.ErrorIs(t, err, conformance.ErrOptions)
	}
}

func TestCanceled(t *testing.T) {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := conformance.Check(cctx, fixture(t, "good"), conformance.Options{})
	require.ErrorIs(t, err, context.Canceled)
}

// TestJSON: the JSON report carries every check and the metrics, in
// milliseconds, and reads back.
func TestJSON(t *testing.T) {
	r := check(t, fixture(t, "bad_stateful"), conformance.Options{})
	var b bytes.Buffer
	require.NoError(t, r.WriteJSON(&b))
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &raw))
	require.Equal(t, false, raw["passed"])
	metrics := raw["metrics"].(map[string]any)
	for _, k := range []string{"module_bytes", "compile_ms", "init_ms", "initial_memory_bytes", "peak_memory_bytes", "memory_limit_bytes", "calls", "total_calls", "elapsed_ms"} {
		require.Contains(t, metrics, k)
	}
	var back conformance.Report
	require.NoError(t, json.Unmarshal(b.Bytes(), &back))
	require.Equal(t, *r, back)
}

// TestExamples: the SDK examples pass, built as their authors build them:
// the Go guest of package plugins, and each Go example plugin that exists,
// with its config and, where there are some, its vectors.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go reactors: slow")
	}
	goTool(t)
	for _, tc := range []struct {
		name, dir string
		config    string
		vectors   string
	}{
		{"goguest", "../plugins/testdata/goguest", `{"multiplier": 3}`, ""},
		// The example ships its config and vectors: the README's walkthrough checks them.
		{"go-tiered", "../examples/plugins/go-tiered", "@../../examples/plugins/go-tiered/config.json", "../../examples/plugins/go-tiered/vectors.json"},
		{"go-transform", "../examples/plugins/go-transform", `{"tiers": {"0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED": "gold"}}`, ""},
		{"go-daily-allowance", "../examples/plugins/go-daily-allowance", `{"per_day": 10, "since": "2023-11-13"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(tc.dir, "main.go")); err != nil {
				t.Skipf("%s is not there yet: nothing to check", tc.dir)
			}
			opts := conformance.Options{Config: []byte(tc.config)}
			if name, ok := strings.CutPrefix(tc.config, "@"); ok {
				b, err := os.ReadFile(filepath.Join("testdata", name))
				require.NoError(t, err)
				opts.Config = b
			}
			if tc.vectors != "" {
				opts.Vectors = vectors(t, tc.vectors)
			}
			t0 := time.Now()
			r := check(t, buildGo(t, tc.dir), opts)
			t.Logf("%s: checked in %s", tc.name, time.Since(t0))
			for _, name := range r.Failed() {
				t.Errorf("%s failed: %s", name, r.Check(name).Reason)
			}
			if tc.vectors != "" {
				require.Equal(t, conformance.Pass, r.Check("vectors").Status, r.Check("vectors").Reason)
			}
		})
	}
}

// TestVerdictMatchesLoad: the suite's static and init verdicts are tariffd's.
// For every fixture, Load (as tariffd calls it, with default limits) refuses
// the module exactly when a static or init check fails.
func TestVerdictMatchesLoad(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.wat"))
	require.NoError(t, err)
	rt, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{})
	require.NoError(t, err)
	defer rt.Close(ctx)
	fast := plugins.Limits{InitTimeout: 100 * time.Millisecond}
	for _, path := range names {
		name := strings.TrimSuffix(filepath.Base(path), ".wat")
		t.Run(name, func(t *testing.T) {
			wasm := fixture(t, name)
			p, loadErr := rt.Load(ctx, wasm, plugins.Options{Limits: fast})
			if loadErr == nil {
				p.Retire()
			}
			r := check(t, wasm, conformance.Options{Limits: fast})
			var refused []string
			for _, c := range r.Failed() {
				if strings.HasPrefix(c, "static.") || strings.HasPrefix(c, "init.") {
					refused = append(refused, c)
				}
			}
			if loadErr != nil {
				require.NotEmpty(t, refused, "Load refuses it (%v), the suite does not", loadErr)
				return
			}
			require.Empty(t, refused, "Load accepts it, the suite does not")
		})
	}
}

// TestBudget: a plugin too slow for the suite's time budget fails, in the
// step that was running, and the run ends on time.
func TestBudget(t *testing.T) {
	defer conformance.SetSuiteBudget(500 * time.Millisecond)()
	t0 := time.Now()
	r := check(t, fixture(t, "bad_slow"), conformance.Options{})
	require.Less(t, time.Since(t0), 5*time.Second)
	require.False(t, r.Passed)
	failed := r.Failed()
	require.Len(t, failed, 1)
	c := r.Check(failed[0])
	require.Equal(t, "did not finish: the suite's time budget of 500ms ran out", c.Reason)
	require.Contains(t, c.Fix, "make starts and calls faster")
}
