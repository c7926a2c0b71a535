package plugins_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDependencies: plugins knows nothing about payments. It imports no
// other package of this module, and beyond the standard library only
// wazero (with x/sys) and x/time.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "github.com/tariffd/tariff/plugins",
			strings.HasPrefix(dep, "github.com/tariffd/tariff/plugins/internal/"),
			strings.HasPrefix(dep, "github.com/tetratelabs/wazero"),
			strings.HasPrefix(dep, "golang.org/x/time/"),
			strings.HasPrefix(dep, "golang.org/x/sys/"): // for wazero
		default:
			t.Errorf("plugins depends on %s", dep)
		}
	}
}
