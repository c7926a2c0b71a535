package localnet_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/examples/devnet/localnet"
	"github.com/tariffd/tariff/host/metering"
	"github.com/tariffd/tariff/host/metering/meteringtest"
)

// TestMetering: an snet-daemon config with metering_enabled; tariffd
// verifies its key with the metering service at start, then reports every
// paid call and the channel's balance after it.
func TestMetering(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("devnet metering key")))
	svc := meteringtest.New(t, crypto.PubkeyToAddress(key.PublicKey))
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{MeteringEndpoint: svc.URL, MeteringKey: key}))
	require.NoError(t, err)
	defer n.Close()
	require.Equal(t, 1, svc.Count("/metering/verify"))

	var out bytes.Buffer
	res, err := n.Demo(ctx, &out, 2)
	require.NoError(t, err, out.String())
	balance := "/contract-api/channel/" + res.ChannelID.String() + "/balance"
	require.Eventually(t, func() bool {
		return svc.Count("/metering/usage") >= 4 && svc.Count(balance) == 4
	}, 20*time.Second, 20*time.Millisecond, "usage %d, balance %d", svc.Count("/metering/usage"), svc.Count(balance))

	// A key the metering service does not know stops the daemon at start.
	other, _ := crypto.ToECDSA(crypto.Keccak256([]byte("another key")))
	_, err = localnet.Start(ctx, testOptions(t, localnet.Options{MeteringEndpoint: svc.URL, MeteringKey: other}))
	require.ErrorIs(t, err, metering.ErrVerify)
}
