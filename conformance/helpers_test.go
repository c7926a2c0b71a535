package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/plugins/plugintest"
)

var ctx = context.Background()

// fixture returns testdata/NAME.wat compiled to wasm, as in package
// plugins. A line ";; wat2wasm: FLAGS" in a source adds flags.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := plugintest.Fixture(name)
	require.NoError(tb, err)
	return b
}

// goTool returns the go command, or skips the test.
func goTool(tb testing.TB) string {
	tb.Helper()
	tool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(tool); err != nil {
		if tool, err = exec.LookPath("go"); err != nil {
			tb.Skip("no go toolchain")
		}
	}
	return tool
}

// buildGo builds the Go reactor in dir with GOOS=wasip1 -buildmode=c-shared.
func buildGo(tb testing.TB, dir string) []byte {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "plugin.wasm")
	cmd := exec.Command(goTool(tb), "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	msg, err := cmd.CombinedOutput()
	require.NoError(tb, err, "build %s:\n%s", dir, msg)
	b, err := os.ReadFile(out)
	require.NoError(tb, err)
	return b
}
