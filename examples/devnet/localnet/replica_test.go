package localnet_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow/paidcall"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/examples/devnet/localnet"
	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/host/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// A second replica of the payment group runs from the same snet-daemon
// config, but with the first one's etcd as external storage. A client
// alternating between the two pays one cumulative amount: state is shared,
// and a payment taken by one replica cannot be replayed on the other.
func TestReplicaWithExternalEtcd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{}))
	require.NoError(t, err)
	defer n.Close()

	raw, err := os.ReadFile(n.ConfigPath)
	require.NoError(t, err)
	var snetd map[string]any
	require.NoError(t, json.Unmarshal(raw, &snetd))
	delete(snetd, "payment_channel_storage_server")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	replicaAddr := lis.Addr().String()
	require.NoError(t, lis.Close())
	snetd["daemon_endpoint"] = replicaAddr
	snetd["payment_channel_storage_client"] = map[string]any{"endpoints": []string{n.EtcdEndpoint}, "request_timeout": "3s"}
	path := filepath.Join(t.TempDir(), "replica.json")
	b, _ := json.Marshal(snetd)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	cfg, _, err := config.Load([]string{path}, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	replica, err := host.New(ctx, cfg, host.Options{Log: quiet})
	require.NoError(t, err)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- replica.Serve(rctx) }()
	defer func() { stop(); <-done }()

	id, err := n.OpenChannel(ctx, 1_000_000, 100_000)
	require.NoError(t, err)
	var clients []calculatorpb.CalculatorClient
	for _, addr := range []string{n.DaemonAddr, replicaAddr} {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer conn.Close()
		clients = append(clients, calculatorpb.NewCalculatorClient(conn))
	}
	payer := paidcall.NewPayer(n.Sim.Sender.Key, n.Sim.Contracts.MPE, id, new(big.Int), new(big.Int))
	price := big.NewInt(localnet.Prices["add"])
	for i := range 6 {
		pctx, err := payer.Pay(ctx, price)
		require.NoError(t, err)
		_, err = clients[i%2].Add(pctx, &calculatorpb.Numbers{A: 1, B: 2})
		require.NoError(t, err, "call %d", i)
		// The same signed payment sent to the other replica is a replay.
		_, err = clients[(i+1)%2].Add(pctx, &calculatorpb.Numbers{A: 1, B: 2})
		require.ErrorContains(t, err, "income 0 does not equal to price 10")
	}
	_, amount := payer.Signed()
	require.Equal(t, int64(60), amount.Int64())
}
