package conformance_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDependencies: the suite runs plugins through package plugins and
// nothing else (DESIGN.md §2: conformance → plugins), so it uses the same
// runtime as tariffd and knows nothing about payments.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command(goTool(t), "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "github.com/tariffd/tariff/conformance",
			dep == "github.com/tariffd/tariff/plugins",
			strings.HasPrefix(dep, "github.com/tariffd/tariff/plugins/internal/"),
			strings.HasPrefix(dep, "github.com/tetratelabs/wazero"),
			strings.HasPrefix(dep, "golang.org/x/time/"),
			strings.HasPrefix(dep, "golang.org/x/sys/"):
		default:
			t.Errorf("conformance depends on %s", dep)
		}
	}
}
