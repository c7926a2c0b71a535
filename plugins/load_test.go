package plugins_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/plugins"
	"github.com/tariffd/tariff/plugins/plugintest"
)

// TestLoadRefuses: modules are verified before use, and the error says what
// is wrong, naming the offending import or export.
func TestLoadRefuses(t *testing.T) {
	rt, _ := newRuntime(t)
	for _, tc := range []struct {
		fixture string
		opts    plugins.Options
		want    []string
	}{
		{"refuse_import_env", plugins.Options{}, []string{
			"imports env.foo: plugins may import only from tariff_v1 and wasi_snapshot_preview1"}},
		{"refuse_import_wasi", plugins.Options{}, []string{
			"imports wasi_snapshot_preview1.path_open: plugins have no filesystem",
			"imports wasi_snapshot_preview1.sock_send: plugins have no network"}},
		{"refuse_import_signature", plugins.Options{}, []string{
			"imports tariff_v1.input with type (i32) -> i64, want (i32, i32, i32) -> i64"}},
		{"refuse_start", plugins.Options{}, []string{"exports _start: it is a command module"}},
		{"refuse_no_marker", plugins.Options{}, []string{"does not export the marker tariff_abi_v1 () -> ()"}},
		{"refuse_signature", plugins.Options{}, []string{"exports tariff_price with type () -> i64, want () -> i32"}},
		{"refuse_abi_minor", plugins.Options{}, []string{
			"tariff_info: the plugin needs ABI v1.7, this host implements v1.0"}},
		{"refuse_kinds", plugins.Options{}, []string{
			"tariff_info: declares kind transform but does not export tariff_transform"}},
		{"refuse_info_json", plugins.Options{}, []string{`tariff_info: not valid JSON`, `"name=bad"`}},
		{"refuse_memory", plugins.Options{}, []string{"initial memory is 40 MiB, over the limit of 32 MiB"}},
		{"refuse_shared_memory", plugins.Options{}, []string{"memory is shared: threads and shared memory are not allowed"}},
		{"refuse_invalid_code", plugins.Options{}, []string{"invalid module: "}},
		{"refuse_import_memory", plugins.Options{}, []string{
			"imports memory env.memory: a plugin must define and export its own memory",
			`does not export its memory as "memory"`}},
		{"refuse_init", plugins.Options{}, []string{"tariff_init returned 3: config needs a multiplier"}},
		{"refuse_init_loop", plugins.Options{Limits: plugins.Limits{InitTimeout: 50 * time.Millisecond}}, []string{
			"tariff_init: did not finish within the init deadline of 50ms"}},
		{"good_pricing", plugins.Options{Limits: plugins.Limits{ModuleBytes: 100}}, []string{"over the limit of 100 bytes"}},
		{"good_pricing", plugins.Options{SHA256: strings.Repeat("ab", 32)}, []string{"the configuration pins abab"}},
		{"good_pricing", plugins.Options{Config: []byte(`{"a":`)}, []string{"config is not valid JSON"}},
		{"good_pricing", plugins.Options{Limits: plugins.Limits{MemoryMiB: 5000}}, []string{"memory_mib 5000 is above the host maximum of 1024"}},
		{"good_pricing", plugins.Options{Limits: plugins.Limits{Instances: -1}}, []string{"limits: negative"}},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			tc.opts.Name = "p1"
			_, err := rt.Load(ctx, fixture(t, tc.fixture), tc.opts)
			require.ErrorIs(t, err, plugins.ErrInvalid)
			require.ErrorContains(t, err, `invalid plugin "p1": `)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}

	_, err := rt.Load(ctx, []byte("hello, world"), plugins.Options{})
	require.ErrorIs(t, err, plugins.ErrInvalid)
	require.ErrorContains(t, err, `invalid plugin "(unnamed)": not a valid WebAssembly module: not a WebAssembly binary`)
}

func TestLoadPinnedSHA256(t *testing.T) {
	rt, _ := newRuntime(t)
	wasm := fixture(t, "pass")
	sum := sha256.Sum256(wasm)
	p, err := rt.Load(ctx, wasm, plugins.Options{SHA256: strings.ToUpper(hex.EncodeToString(sum[:]))})
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(sum[:]), p.SHA256())
}

func TestLoadDefaults(t *testing.T) {
	rt, _ := newRuntime(t)
	p, err := rt.Load(ctx, fixture(t, "pass"), plugins.Options{})
	require.NoError(t, err)
	require.Equal(t, plugins.Limits{
		ModuleBytes: 8 << 20,
		MemoryMiB:   32,
		Instances:   4,
		InitTimeout: time.Second,
		BodyBytes:   4 << 20,
		LogLines:    20,
		LogRate:     20,
	}, p.Limits())
}

func TestNeedsBody(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "needs_body", plugins.Options{})
	require.True(t, p.Info().NeedsBody)
	res, err := p.Call(ctx, plugins.KindPricing, &plugins.Input{Body: []byte("12345")})
	require.NoError(t, err)
	require.EqualValues(t, 5, res.Price)
}

// TestWASI: the deterministic WASI subset.
func TestWASI(t *testing.T) {
	rt, logs := newRuntime(t)
	p := load(t, rt, "wasi", plugins.Options{})
	price := func(m string) uint64 {
		t.Helper()
		res, err := p.Call(ctx, plugins.KindPricing, mode(m))
		require.NoError(t, err)
		return res.Price
	}

	// random_get is a fixed stream, restarted for every call: the same
	// bytes on every instance, every call and every host.
	r := price("")
	for i := 0; i < 8; i++ {
		require.Equal(t, r, price(""))
	}
	p2 := load(t, rt, "wasi", plugins.Options{Name: "again"})
	res, err := p2.Call(ctx, plugins.KindPricing, mode(""))
	require.NoError(t, err)
	require.Equal(t, r, res.Price)
	require.NotZero(t, r)

	require.EqualValues(t, 1_000_000_000, price("c"))                     // monotonic: constant, non-zero
	require.EqualValues(t, uint64(1_700_000_000_000_000_000), price("t")) // realtime: constant
	require.EqualValues(t, 0, price("a"))                                 // no args, no environment
	require.EqualValues(t, 8, price("d"))                                 // EBADF: no preopened directories
	require.EqualValues(t, 100, price("y"))                               // a 1 s sleep returns at once: 1 event, errno 0

	// stdout and stderr go to the log, a line at a time, under the caps.
	before := len(logs.all())
	price("o")
	var got []string
	for _, l := range logs.all()[before:] {
		got = append(got, l.Level.String()+" "+l.Msg)
	}
	require.Equal(t, []string{"INFO hello", "INFO world", "WARN oops"}, got)
	require.Contains(t, logs.msgs(), "started") // from _initialize

	_, err = p.Call(ctx, plugins.KindPricing, mode("e"))
	require.ErrorIs(t, err, plugins.ErrExit)
	require.ErrorContains(t, err, "proc_exit(3)")
}

// TestABIExample: the example plugin in ABI.md loads and prices.
func TestABIExample(t *testing.T) {
	doc, err := os.ReadFile("ABI.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "```wat\n")
	require.True(t, ok)
	src, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	path := filepath.Join(t.TempDir(), "example.wat")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o644))
	wasm, err := plugintest.WAT(path)
	require.NoError(t, err)

	rt, _ := newRuntime(t)
	p, err := rt.Load(ctx, wasm, plugins.Options{})
	require.NoError(t, err)
	require.Equal(t, "flat", p.Name())
	res, err := p.Call(ctx, plugins.KindPricing, input("/calc.Calculator/add"))
	require.NoError(t, err)
	require.EqualValues(t, 200, res.Price)
	res, err = p.Call(ctx, plugins.KindPricing, nil)
	require.NoError(t, err)
	require.Equal(t, plugins.StatusPass, res.Status)
}
