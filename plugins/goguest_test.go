package plugins_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/plugins"
)

// TestGoGuest builds testdata/goguest with the Go toolchain (GOOS=wasip1,
// -buildmode=c-shared) and runs it: the Go runtime must start and run on the
// deterministic WASI subset, under the default memory limit.
func TestGoGuest(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go reactor: slow")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("no go toolchain")
		}
	}
	out := filepath.Join(t.TempDir(), "goguest.wasm")
	cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", "goguest")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	wasm, err := os.ReadFile(out)
	require.NoError(t, err)

	rt, logs := newRuntime(t)
	p, err := rt.Load(ctx, wasm, plugins.Options{
		Config: []byte(`{"multiplier": 3}`),
		Limits: plugins.Limits{Instances: 2, Timeout: 2 * time.Second, InitTimeout: 10 * time.Second},
	})
	require.NoError(t, err)
	require.Equal(t, "goguest", p.Name())

	for i := 0; i < 5; i++ {
		res, err := p.Call(ctx, plugins.KindPricing, input("/calc.Calculator/add"))
		require.NoError(t, err)
		require.EqualValues(t, (20+2023)*3, res.Price) // time.Now() is the constant 2023-11-14T22:13:20Z
	}
	require.Contains(t, logs.msgs(), "pricing /calc.calculator/add at 2023-11-14T22:13:20Z")

	// A Go panic in an exported function prints to stderr and aborts
	// (unreachable): an ERROR, and the instance is discarded.
	_, err = p.Call(ctx, plugins.KindPricing, input("/a/b", "x-mode", "panic"))
	require.ErrorIs(t, err, plugins.ErrTrap)
	require.ErrorContains(t, err, "wasm error: unreachable")
	require.Contains(t, logs.msgs(), "panic: asked to panic")
	res, err := p.Call(ctx, plugins.KindPricing, input("/a/b"))
	require.NoError(t, err)
	require.EqualValues(t, (4+2023)*3, res.Price)
	require.EqualValues(t, 1, p.Stats().Discarded)
}
