package host_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Imports flow one way (cmd → host → {escrow, pricing} → plugins): a lower
// package that imported a higher one would tangle the layers.
func TestImportsFlowOneWay(t *testing.T) {
	const mod = "github.com/tariffd/tariff/"
	for _, tc := range []struct {
		pkg       string
		forbidden []string
	}{
		{"escrow/...", []string{"host", "pricing", "plugins", "cmd"}},
		{"pricing/...", []string{"host", "escrow", "cmd", "go.etcd.io/etcd", "github.com/ethereum/go-ethereum/ethclient"}},
		{"plugins/...", []string{"host", "escrow", "pricing", "cmd"}},
	} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../"+tc.pkg).CombinedOutput()
		require.NoError(t, err, string(out))
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range tc.forbidden {
				if !strings.Contains(f, ".") {
					f = mod + f
				}
				require.False(t, dep == f || strings.HasPrefix(dep, f+"/"), "%s imports %s", tc.pkg, dep)
			}
		}
	}
}
