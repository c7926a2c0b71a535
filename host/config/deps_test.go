package config

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDependencies: the configuration is data. It imports no other package
// of this module (the host converts a Plugin to plugins.Options) and never
// the wasm runtime, so tools that read configurations stay small.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "github.com/tariffd/tariff/host/config":
		case strings.HasPrefix(dep, "github.com/tariffd/tariff/"), strings.HasPrefix(dep, "github.com/tetratelabs/wazero"):
			t.Errorf("host/config depends on %s", dep)
		}
	}
}
