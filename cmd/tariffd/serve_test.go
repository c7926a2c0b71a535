package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/plugins/plugintest"
	tariffpb "github.com/tariffd/tariff/proto/tariff"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// The built binary as an operator runs it: an unchanged snet-daemon JSON
// file (here a second replica on the local network's etcd) plus an HCL file
// of plugins; SIGHUP applies an edit; SIGTERM stops it cleanly.
func TestServeBinaryReloadsOnSIGHUP(t *testing.T) {
	n := opsNetwork(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "tariffd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))

	raw, err := os.ReadFile(n.ConfigPath)
	require.NoError(t, err)
	var snetd map[string]any
	require.NoError(t, json.Unmarshal(raw, &snetd))
	delete(snetd, "payment_channel_storage_server")
	snetd["payment_channel_storage_client"] = map[string]any{"endpoints": []string{n.EtcdEndpoint}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	snetd["daemon_endpoint"] = addr
	jsonPath := filepath.Join(dir, "snetd.config.json")
	b, _ := json.Marshal(snetd)
	require.NoError(t, os.WriteFile(jsonPath, b, 0o644))

	wasm, err := plugintest.WAT("../../examples/devnet/localnet/testdata/flat.wat")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flat.wasm"), wasm, 0o644))
	hcl := filepath.Join(dir, "plugins.hcl")
	writePlugins := func(price int) {
		require.NoError(t, os.WriteFile(hcl, []byte(fmt.Sprintf(`plugin "flat" {
  kind    = "pricing"
  path    = "flat.wasm"
  methods = ["/example_service.Calculator/add"]
  config  = { price = %d }
}
`, price)), 0o644))
	}
	writePlugins(7)

	cmd := exec.Command(bin, "serve", "--config", jsonPath, "--config", hcl)
	logs, err := os.Create(filepath.Join(dir, "tariffd.log"))
	require.NoError(t, err)
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()
	showLogs := func() string { b, _ := os.ReadFile(logs.Name()); return string(b) }

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	quotes := tariffpb.NewQuoteServiceClient(conn)
	price := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		q, err := quotes.Quote(ctx, &tariffpb.QuoteRequest{Method: "/example_service.Calculator/add"})
		if err != nil {
			return err.Error()
		}
		return q.GetPriceInCogs()
	}
	require.Eventually(t, func() bool { return price() == "7" }, 30*time.Second, 100*time.Millisecond, showLogs)

	writePlugins(9)
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return price() == "9" }, 10*time.Second, 50*time.Millisecond, showLogs)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "a clean exit after SIGTERM:\n%s", showLogs())
	case <-time.After(20 * time.Second):
		t.Fatalf("tariffd did not stop after SIGTERM:\n%s", showLogs())
	}
}
