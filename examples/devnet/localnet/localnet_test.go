package localnet_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/examples/devnet/localnet"
)

// TestLocalNetworkEndToEnd runs the README's first command in process: the
// chain serves JSON-RPC over loopback, tariffd reads an snet-daemon JSON
// file, finds its org and service through the Registry and the metadata
// endpoint, and a client pays for calls.
func TestLocalNetworkEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{}))
	require.NoError(t, err)
	defer n.Close()

	var out bytes.Buffer
	res, err := n.Demo(ctx, &out, 3)
	require.NoError(t, err, out.String())
	require.Equal(t, 6, res.Calls)
	require.Equal(t, int64(3*(10+20)), res.Spent.Int64())
	require.Equal(t, res.Spent, res.StateAmount, "tariffd stored every payment")
	require.Zero(t, res.StateNonce.Sign())
	require.Contains(t, out.String(), "mul(3, 2) = 6")

	// The stored payment is what the provider claims: the contract accepts it.
	claimed, err := n.Claim(ctx, &out)
	require.NoError(t, err, out.String())
	require.Equal(t, res.Spent, claimed)
	ch, err := n.Sim.Contracts.Channel(ctx, res.ChannelID)
	require.NoError(t, err)
	require.Equal(t, int64(1), ch.Nonce.Int64(), "the claim moved the channel to the next nonce")

	left, err := n.FreeCall(ctx, &out)
	require.NoError(t, err, out.String())
	require.Equal(t, uint64(localnet.FreeCalls-1), left)

	served, err := n.Prepaid(ctx, &out, 5)
	require.NoError(t, err, out.String())
	require.Equal(t, 5, served, out.String())

	select {
	case err := <-n.Err():
		t.Fatalf("a component failed: %v", err)
	default:
	}
}

// TestHTTPServiceEndToEnd: the service is an HTTP one (service_type http
// in its published metadata). gRPC clients pay and call it as before;
// tariffd compiles the published API to turn their messages into JSON.
func TestHTTPServiceEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{ServiceType: "http"}))
	require.NoError(t, err)
	defer n.Close()

	var out bytes.Buffer
	res, err := n.Demo(ctx, &out, 2)
	require.NoError(t, err, out.String())
	require.Equal(t, 4, res.Calls)
	require.Equal(t, res.Spent, res.StateAmount, "tariffd stored every payment")
	require.Contains(t, out.String(), "mul(2, 2) = 4")
}

// testOptions fills what the tests leave out: a temporary directory, fast
// blocks, and no log.
func testOptions(t *testing.T, o localnet.Options) localnet.Options {
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.BlockTime == 0 {
		o.BlockTime = 200 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}
