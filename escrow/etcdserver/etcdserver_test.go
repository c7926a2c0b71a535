package etcdserver_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow/etcdserver"
)

// Closing the member logs no errors: etcd reports every listener it
// closes as a failure to serve, which alarmed operators on each shutdown.
func TestCloseLogsNoErrors(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "etcd.log")
	ports, err := etcdserver.FreePorts(2)
	require.NoError(t, err)
	s, err := etcdserver.Start(context.Background(), etcdserver.Config{
		DataDir: filepath.Join(dir, "data"), LogLevel: "info", LogOutputs: []string{logFile}, NoFsync: true,
		ClientURL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), PeerURL: fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
	})
	require.NoError(t, err)
	_, err = s.Client().Put(context.Background(), "k", "v")
	require.NoError(t, err)
	require.NoError(t, s.Close())
	log, err := os.ReadFile(logFile)
	require.NoError(t, err)
	require.Contains(t, string(log), `"level":"info"`, "etcd's own log is written as before")
	for _, line := range strings.Split(string(log), "\n") {
		require.NotContains(t, line, `"level":"error"`)
	}
}
