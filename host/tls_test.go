package host_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tariffd/tariff/escrow/etcdserver"
	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/host/config"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files
// and returns the certificate.
func selfSigned(t *testing.T, certFile, keyFile, name string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	// Written beside and renamed over, as a certificate renewal does.
	for path, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		require.NoError(t, os.WriteFile(path+".new", pem.EncodeToMemory(block), 0o600))
		require.NoError(t, os.Rename(path+".new", path))
	}
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert
}

// chainless is the start of a daemon configuration without a chain.
const chainless = `
listen = "127.0.0.1:0"
blockchain {
  enabled = false
  network = "local"
}
`

// newDaemon makes a daemon from HCL text; log may be nil (discarded).
func newDaemon(t *testing.T, ctx context.Context, hcl string, log io.Writer) (*host.Daemon, error) {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "tariff.hcl")
	require.NoError(t, os.WriteFile(cfgFile, []byte(hcl), 0o644))
	noEnv := func(string) (string, bool) { return "", false }
	cfg, _, err := config.Load([]string{cfgFile}, noEnv)
	require.NoError(t, err)
	if log == nil {
		log = io.Discard
	}
	return host.New(ctx, cfg, host.Options{Env: noEnv, Log: slog.New(slog.NewTextHandler(log, nil))})
}

// serveDaemon runs d until the test ends.
func serveDaemon(t *testing.T, ctx context.Context, d *host.Daemon) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestTLSListener: with ssl_cert and ssl_key, the one port speaks TLS to
// gRPC and HTTP clients alike, and a renewed certificate is served to new
// connections without a restart.
func TestTLSListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := selfSigned(t, certFile, keyFile, "first")

	backend := listen(t)
	go func() { _ = calculator.Serve(ctx, backend) }()
	var logs syncBuffer
	d, err := newDaemon(t, ctx, chainless+fmt.Sprintf(`
backend { endpoint = %q }
tls {
  cert_file = %q
  key_file  = %q
}
`, "http://"+backend.Addr().String(), certFile, keyFile), &logs)
	require.NoError(t, err)
	serveDaemon(t, ctx, d)
	addr := d.Addr().String()

	pool := x509.NewCertPool()
	pool.AddCert(first)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	require.NoError(t, err)
	defer conn.Close()
	res, err := calculatorpb.NewCalculatorClient(conn).Add(ctx, &calculatorpb.Numbers{A: 2, B: 2})
	require.NoError(t, err)
	require.Equal(t, float32(4), res.GetValue())
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	require.NoError(t, err)

	// HTTP/1.1 on the same port and certificate.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get("https://" + addr + "/heartbeat")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	// Browsers (snet-dapp) speak gRPC-Web over HTTP/2 once TLS offers it,
	// and over HTTP/1.1 otherwise.
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	require.Equal(t, float32(5), grpcWebAdd(t, h2, "https://"+addr, nil, 2, 3).GetValue())
	require.Equal(t, float32(7), grpcWebAdd(t, hc, "https://"+addr, nil, 3, 4).GetValue())
	resp, err = h2.Get("https://" + addr + "/heartbeat")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// A renewed certificate is served on the next handshake.
	time.Sleep(10 * time.Millisecond) // a different modification time
	second := selfSigned(t, certFile, keyFile, "second")
	tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // we check the peer certificate by hand
	require.NoError(t, err)
	require.Equal(t, second.Raw, tc.ConnectionState().PeerCertificates[0].Raw)
	require.NoError(t, tc.Close())

	// A broken renewal keeps the certificate in use, and is reported once.
	require.NoError(t, os.WriteFile(keyFile, []byte("half a key"), 0o600))
	for range 3 {
		tc, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // as above
		require.NoError(t, err)
		require.Equal(t, second.Raw, tc.ConnectionState().PeerCertificates[0].Raw)
		require.NoError(t, tc.Close())
	}
	require.Equal(t, 1, strings.Count(logs.String(), "TLS certificate not reloaded"), logs.String())

	// Plaintext gRPC is not served on a TLS port.
	_, err = http.Get("http://" + addr + "/heartbeat")
	require.Error(t, err)
}

func TestTLSNeedsReadablePair(t *testing.T) {
	dir := t.TempDir()
	_, err := newDaemon(t, context.Background(), chainless+fmt.Sprintf(`
backend { endpoint = "http://127.0.0.1:1" }
tls {
  cert_file = %q
  key_file  = %q
}
`, filepath.Join(dir, "missing.pem"), filepath.Join(dir, "missing-key.pem")), nil)
	require.ErrorContains(t, err, "TLS certificate: stat "+filepath.Join(dir, "missing.pem"))
}

// syncBuffer is a log destination the daemon's goroutines share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// experimental.traffic_split: gRPC and HTTP on ports of their own.
func TestTrafficSplit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	backend := listen(t)
	go func() { _ = calculator.Serve(ctx, backend) }()
	ports, err := etcdserver.FreePorts(2)
	require.NoError(t, err)
	d, err := newDaemon(t, ctx, chainless+fmt.Sprintf(`
backend { endpoint = %q }
experimental {
  traffic_split {
    grpc = %d
    http = %d
  }
}
`, "http://"+backend.Addr().String(), ports[0], ports[1]), nil)
	require.NoError(t, err)
	serveDaemon(t, ctx, d)
	require.Equal(t, fmt.Sprintf("127.0.0.1:%d", ports[0]), d.Addr().String())

	conn, err := grpc.NewClient(d.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	res, err := calculatorpb.NewCalculatorClient(conn).Add(ctx, &calculatorpb.Numbers{A: 2, B: 2})
	require.NoError(t, err)
	require.Equal(t, float32(4), res.GetValue())

	httpBase := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	require.Equal(t, float32(9), grpcWebAdd(t, http.DefaultClient, httpBase, nil, 4, 5).GetValue())
	resp, err := http.Get(httpBase + "/heartbeat")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
