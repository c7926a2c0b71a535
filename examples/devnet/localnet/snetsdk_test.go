package localnet_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
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
	sdk := findSDK(t)
	const calls = 3
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	// Fast blocks on purpose: the SDK adds funds on chain and pays the new
	// amount as soon as its receipt is in, before tariffd's head poll has
	// seen the block; tariffd must re-read the head and the channel rather
	// than refuse from its cache (a regression test for exactly that).
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{BlockTime: 500 * time.Millisecond}))
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
		res := runSDK(t, ctx, sdk, n, calls, "http://"+n.DaemonAddr, "SNET_CONCURRENCY="+mode.concurrency)
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

// sdkRun is where the SDK example is and the node that runs it.
type sdkRun struct{ dir, node string }

// findSDK skips the test when node or the npm snet-sdk is not installed.
func findSDK(t *testing.T) sdkRun {
	dir, err := filepath.Abs(filepath.Join("..", "..", "snet-sdk"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "snet-sdk")); err != nil {
		t.Skipf("snet-sdk is not installed (run `npm ci` in %s): %v", dir, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skipf("node is not installed: %v", err)
	}
	return sdkRun{dir, node}
}

// sdkResult is the channel as paid-calls.js leaves it.
type sdkResult struct {
	ChannelID    string `json:"channelId"`
	Nonce        string `json:"nonce"`
	SignedAmount string `json:"signedAmount"`
}

// runSDK runs paid-calls.js against n's daemon at daemonURL: calls paid
// calls to add, which must all succeed.
func runSDK(t *testing.T, ctx context.Context, sdk sdkRun, n *localnet.Network, calls int, daemonURL string, env ...string) sdkResult {
	t.Helper()
	c := n.Sim.Contracts
	cmd := exec.CommandContext(ctx, sdk.node, filepath.Join(sdk.dir, "paid-calls.js"))
	cmd.Dir = sdk.dir // the SDK's logger writes ./logs there (gitignored)
	cmd.Env = append(append(os.Environ(),
		"SNET_RPC="+n.Sim.HTTPURL(),
		"SNET_IPFS="+n.IPFSURL,
		"SNET_MPE="+c.MPE.Hex(),
		"SNET_REGISTRY="+c.Registry.Hex(),
		"SNET_TOKEN="+c.Token.Hex(),
		"SNET_KEY="+chaintest.ClientKeyHex,
		"SNET_DAEMON="+daemonURL,
		"SNET_CALLS="+itoa(calls),
	), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "paid-calls.js %v:\n%s", env, out.String())
	t.Logf("paid-calls.js %v:\n%s", env, out.String())
	for i := 1; i <= calls; i++ {
		require.Contains(t, out.String(), "add("+itoa(i)+", 2) = "+itoa(i+2))
	}
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "RESULT ") {
			line = strings.TrimPrefix(l, "RESULT ")
		}
	}
	require.NotEmpty(t, line, "no RESULT line")
	var res sdkResult
	require.NoError(t, json.Unmarshal([]byte(line), &res))
	return res
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

// TestSnetSDKOverTLS: the same SDK pays through a tariffd configured with
// ssl_cert and ssl_key, as production daemons are: grpc-js negotiates
// HTTP/2 over TLS with it on the one port.
func TestSnetSDKOverTLS(t *testing.T) {
	sdk := findSDK(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeLoopbackCert(t, cert, key)
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{BlockTime: 500 * time.Millisecond, TLSCertFile: cert, TLSKeyFile: key}))
	require.NoError(t, err)
	defer n.Close()

	// Node trusts the certificate through NODE_EXTRA_CA_CERTS, grpc-js
	// through its own roots variable.
	res := runSDK(t, ctx, sdk, n, 2, "https://"+n.DaemonAddr, "SNET_CONCURRENCY=false",
		"NODE_EXTRA_CA_CERTS="+cert, "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH="+cert)
	require.Equal(t, itoa(int(2*localnet.Prices["add"])), res.SignedAmount)
}

// writeLoopbackCert writes a self-signed certificate for 127.0.0.1 and its
// key as PEM files.
func writeLoopbackCert(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tariffd devnet"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
}
