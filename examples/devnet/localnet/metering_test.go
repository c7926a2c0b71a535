package localnet_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/examples/devnet/localnet"
	"github.com/tariffd/tariff/host/metering"
)

// meteringService stands in for SingularityNET's metering service: it
// accepts requests signed by one key and counts them by path.
type meteringService struct {
	*httptest.Server
	mu    sync.Mutex
	paths map[string]int
}

func newMeteringService(t *testing.T, key string) *meteringService {
	m := &meteringService{paths: map[string]int{}}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		block, _ := strconv.ParseUint(r.Header.Get("X-Currentblocknumber"), 10, 64)
		sig, _ := base64.StdEncoding.DecodeString(r.Header.Get("X-Signature"))
		signer, err := escrow.RecoverSigner(escrow.MeteringMessage(r.Header.Get("X-Username"), r.Header.Get("X-Organizationid"),
			r.Header.Get("X-Serviceid"), r.Header.Get("X-Groupid"), block), sig)
		if err != nil || signer.Hex() != key {
			_ = json.NewEncoder(w).Encode(map[string]string{"data": "unknown daemon"})
			return
		}
		m.mu.Lock()
		m.paths[r.URL.Path]++
		m.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{"data": "success"})
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *meteringService) count(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paths[path]
}

// TestMetering: an snet-daemon config with metering_enabled; tariffd
// verifies its key with the metering service at start, then reports every
// paid call and the channel's balance after it.
func TestMetering(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("devnet metering key")))
	svc := newMeteringService(t, crypto.PubkeyToAddress(key.PublicKey).Hex())
	quiet := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	n, err := localnet.Start(ctx, localnet.Options{Dir: t.TempDir(), BlockTime: 200 * time.Millisecond, Log: quiet,
		MeteringEndpoint: svc.URL, MeteringKey: key})
	require.NoError(t, err)
	defer n.Close()
	require.Equal(t, 1, svc.count("/metering/verify"))

	var out bytes.Buffer
	res, err := n.Demo(ctx, &out, 2)
	require.NoError(t, err, out.String())
	balance := "/contract-api/channel/" + res.ChannelID.String() + "/balance"
	require.Eventually(t, func() bool {
		return svc.count("/metering/usage") >= 4 && svc.count(balance) == 4
	}, 20*time.Second, 20*time.Millisecond, "usage %d, balance %d", svc.count("/metering/usage"), svc.count(balance))

	// A key the metering service does not know stops the daemon at start.
	other, _ := crypto.ToECDSA(crypto.Keccak256([]byte("another key")))
	_, err = localnet.Start(ctx, localnet.Options{Dir: t.TempDir(), BlockTime: 200 * time.Millisecond, Log: quiet,
		MeteringEndpoint: svc.URL, MeteringKey: other})
	require.ErrorIs(t, err, metering.ErrVerify)
}
