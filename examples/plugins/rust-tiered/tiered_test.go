// Package rusttiered_test runs the Rust example plugin in tariffd's real
// plugin host: built from source with Debian's Rust toolchain
// (`make deps-rust`), loaded as an operator's HCL block would load it, and
// called. The plugin's own unit tests run natively with `make sdk-rust-test`.
package rusttiered_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/plugins"
)

// The config block of the README's HCL example, as the host hands it over.
const config = `{"base":10,"per_kib":2,"methods":{"/example_service.Calculator/mul":20,"/example_service.Calculator/*":5}}`

// build compiles the plugin with Debian's cargo and rustc, offline, into a
// temporary target directory, and returns the module.
func build(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Rust plugin; skipped with -short")
	}
	for _, tool := range []string{"/usr/bin/cargo", "/usr/bin/rustc"} {
		if _, err := os.Stat(tool); err != nil {
			t.Skipf("%s is missing: install Debian's Rust toolchain with `make deps-rust`", tool)
		}
	}
	target := t.TempDir()
	cmd := exec.Command("/usr/bin/cargo", "build", "--offline", "--release", "--target", "wasm32-unknown-unknown",
		"--target-dir", target)
	cmd.Env = append(os.Environ(), "RUSTC=/usr/bin/rustc", "CARGO_TERM_COLOR=never")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "cargo build:\n%s", out)
	wasm, err := os.ReadFile(filepath.Join(target, "wasm32-unknown-unknown", "release", "rust_tiered.wasm"))
	require.NoError(t, err)
	return wasm
}

var (
	buildOnce sync.Once
	module    []byte
)

func wasm(t *testing.T) []byte {
	t.Helper()
	buildOnce.Do(func() { module = build(t) })
	if module == nil {
		t.Skip("the plugin was not built")
	}
	return module
}

func load(t *testing.T, cfg string, lim plugins.Limits) (*plugins.Plugin, error) {
	t.Helper()
	rt, err := plugins.NewRuntime(context.Background(), plugins.RuntimeOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, rt.Close(context.Background())) })
	w := wasm(t)
	sum := sha256.Sum256(w)
	return rt.Load(context.Background(), w, plugins.Options{
		Name:   "tiered",
		Config: []byte(cfg),
		SHA256: hex.EncodeToString(sum[:]),
		Limits: lim,
	})
}

func call(t *testing.T, p *plugins.Plugin, method string, body int) plugins.Result {
	t.Helper()
	var in plugins.Input
	if method != "" {
		in.SetString(plugins.FieldMethod, method)
	}
	in.Body = make([]byte, body)
	res, err := p.Call(context.Background(), plugins.KindPricing, &in)
	require.NoError(t, err)
	return res
}

func TestPricesInTheHost(t *testing.T) {
	// The limits of the README's HCL block; a generous timeout, so that a
	// loaded test machine cannot fail a call by scheduling it late.
	p, err := load(t, config, plugins.Limits{MemoryMiB: 16, Instances: 4, Timeout: 2 * time.Second})
	require.NoError(t, err)
	require.Equal(t, plugins.Info{Name: "rust-tiered", Version: "0.1.0", Kinds: []plugins.Kind{plugins.KindPricing}}, p.Info())

	for _, tc := range []struct {
		method string
		body   int
		status plugins.Status
		price  uint64
	}{
		{"/example_service.Calculator/mul", 3000, plugins.StatusOK, 10 + 20 + 2*3},
		{"/example_service.Calculator/add", 10, plugins.StatusOK, 10 + 5 + 2},
		{"/example_service.Calculator/mul", 0, plugins.StatusOK, 30},
		{"/other.Service/mul", 10, plugins.StatusPass, 0},
		{"", 10, plugins.StatusPass, 0},
		{"/example_service.Calculator/" + strings.Repeat("x", 100_000), 1, plugins.StatusOK, 17}, // the retry path
		{"/example_service.Calculator/\xff\xfe", 1, plugins.StatusOK, 17},
	} {
		res := call(t, p, tc.method, tc.body)
		require.Equal(t, tc.status, res.Status, "%.60q", tc.method)
		require.Equal(t, tc.price, res.Price, "%.60q", tc.method)
	}
}

func TestMemoryPlateaus(t *testing.T) {
	// 1 MiB of memory: a plugin that leaked a few bytes a call would hit
	// the limit, and the host would discard the instance.
	p, err := load(t, config, plugins.Limits{MemoryMiB: 1, Instances: 1, Timeout: 2 * time.Second})
	require.NoError(t, err)
	for i := 0; i < 20_000; i++ {
		res := call(t, p, "/example_service.Calculator/mul", i%3000)
		require.Equal(t, plugins.StatusOK, res.Status)
	}
	require.Zero(t, p.Stats().Discarded)
}

func TestBadConfigFailsTheLoad(t *testing.T) {
	_, err := load(t, `{"bsae": 10}`, plugins.Limits{})
	require.ErrorIs(t, err, plugins.ErrInvalid)
	require.ErrorContains(t, err, `tariff_init returned -1: rust-tiered config: unknown key "bsae"`)
}

func TestImportsOnlyTariffV1(t *testing.T) {
	objdump, err := exec.LookPath("wasm-objdump")
	if err != nil {
		t.Skip("wasm-objdump is missing: install wabt (`make deps-apt`)")
	}
	f := filepath.Join(t.TempDir(), "rust-tiered.wasm")
	require.NoError(t, os.WriteFile(f, wasm(t), 0o644))
	out, err := exec.Command(objdump, "-x", "-j", "Import", f).CombinedOutput()
	require.NoError(t, err, "%s", out)
	n := 0
	for _, line := range bytes.Split(out, []byte("\n")) {
		if i := bytes.Index(line, []byte(" <- ")); i >= 0 {
			require.True(t, bytes.HasPrefix(line[i+4:], []byte("tariff_v1.")), "import %s", line[i+4:])
			n++
		}
	}
	require.NotZero(t, n)
}
