package localnet_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow/chaintest"
	"github.com/tariffd/tariff/escrow/paidcall"
	"github.com/tariffd/tariff/examples/devnet/localnet"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestSnetSDKPaidCalls has SingularityNET's own Node.js SDK (snet-sdk, see
// examples/snet-sdk) make paid calls through tariffd: it finds the service
// through the Registry and the metadata endpoint, opens and funds a channel
// on chain itself, pays in its prepaid flow (one token for all calls) and
// then with one escrow payment per call, and syncs the channel state from
// tariffd. tariffd must then report the amounts the SDK signed.
func TestSnetSDKPaidCalls(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "snet-sdk"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "snet-sdk")); err != nil {
		t.Skipf("snet-sdk is not installed (run `npm ci` in %s): %v", dir, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skipf("node is not installed: %v", err)
	}

	const calls = 3
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	// Fast blocks on purpose: the SDK adds funds on chain and pays the new
	// amount as soon as its receipt is in, before tariffd's head poll has
	// seen the block; tariffd must re-read the head and the channel rather
	// than refuse from its cache (a regression test for exactly that).
	n, err := localnet.Start(ctx, localnet.Options{Dir: t.TempDir(), BlockTime: 500 * time.Millisecond, Log: quiet})
	require.NoError(t, err)
	defer n.Close()

	c := n.Sim.Contracts
	conn, err := grpc.NewClient(n.DaemonAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	price := localnet.Prices["add"]
	signed := int64(0) // what the client has signed on its channel so far
	// The prepaid flow runs first: on a channel already used for escrow
	// payments the SDK asks GetToken for the amount signed so far, which has
	// no planned amount, and the JS SDK fails on that answer (upstream's).
	for _, mode := range []struct{ name, concurrency string }{
		{"prepaid (concurrency token)", "true"},
		{"escrow payment per call", "false"},
	} {
		cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "paid-calls.js"))
		cmd.Dir = dir // the SDK's logger writes ./logs there (gitignored)
		cmd.Env = append(os.Environ(),
			"SNET_RPC="+n.Sim.HTTPURL(),
			"SNET_IPFS="+n.IPFSURL,
			"SNET_MPE="+c.MPE.Hex(),
			"SNET_REGISTRY="+c.Registry.Hex(),
			"SNET_TOKEN="+c.Token.Hex(),
			"SNET_KEY="+chaintest.ClientKeyHex,
			"SNET_DAEMON=http://"+n.DaemonAddr,
			"SNET_CALLS="+itoa(calls),
			"SNET_CONCURRENCY="+mode.concurrency,
		)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Run(), "%s: paid-calls.js:\n%s", mode.name, out.String())
		t.Logf("%s: paid-calls.js:\n%s", mode.name, out.String())

		for i := 1; i <= calls; i++ {
			require.Contains(t, out.String(), "add("+itoa(i)+", 2) = "+itoa(i+2))
		}
		var res struct {
			ChannelID    string `json:"channelId"`
			Nonce        string `json:"nonce"`
			SignedAmount string `json:"signedAmount"`
		}
		var line string
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(l, "RESULT ") {
				line = strings.TrimPrefix(l, "RESULT ")
			}
		}
		require.NotEmpty(t, line, "no RESULT line")
		require.NoError(t, json.Unmarshal([]byte(line), &res))
		signed += calls * price
		require.Equal(t, itoa(int(signed)), res.SignedAmount, "%s: the SDK signed one price per call", mode.name)
		require.Equal(t, "0", res.Nonce)

		// tariffd's own record of the channel.
		id, ok := new(big.Int).SetString(res.ChannelID, 10)
		require.True(t, ok, res.ChannelID)
		head, err := n.Sim.Head(ctx)
		require.NoError(t, err)
		st, err := paidcall.State(ctx, conn, n.Sim.Sender.Key, c.MPE, id, head)
		require.NoError(t, err)
		require.Equal(t, signed, new(big.Int).SetBytes(st.GetCurrentSignedAmount()).Int64())
		require.Zero(t, new(big.Int).SetBytes(st.GetCurrentNonce()).Sign())
		require.Len(t, st.GetCurrentSignature(), 65, "signature %s", hex.EncodeToString(st.GetCurrentSignature()))

		// The SDK opened the channel on chain, as the client.
		ch, err := c.Channel(ctx, id)
		require.NoError(t, err)
		require.Equal(t, n.Sim.Sender.Address, ch.Sender)
		require.Equal(t, n.Sim.Provider.Address, ch.Recipient)
		require.GreaterOrEqual(t, ch.Value.Int64(), signed, "the SDK funded the channel for its calls")
	}

	select {
	case err := <-n.Err():
		t.Fatalf("a component failed: %v", err)
	default:
	}
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }
