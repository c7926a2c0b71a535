package metering_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/host/metering"
	"github.com/tariffd/tariff/host/metering/meteringtest"
)

var meterKey, _ = crypto.ToECDSA(crypto.Keccak256([]byte("tariff metering test key")))

func reporter(url string) *metering.Reporter {
	return metering.New(metering.Options{
		Endpoint: url + "/", Key: meterKey, OrgID: "snet", ServiceID: "example-service", GroupID: "Z3JvdXA=",
		DaemonID: "d43a1e", Version: "test",
		Head: func(context.Context) (uint64, error) { return 7_000_000, nil },
	})
}

func TestVerify(t *testing.T) {
	svc := meteringtest.New(t, crypto.PubkeyToAddress(meterKey.PublicKey))
	require.NoError(t, reporter(svc.URL).Verify(context.Background()))
	got := svc.Requests()
	require.Len(t, got, 1)
	require.Equal(t, meteringtest.Request{Method: "GET", Path: "/metering/verify", User: "d43a1e"}, got[0])

	other := meteringtest.New(t, common.HexToAddress("0x01"))
	err := reporter(other.URL).Verify(context.Background())
	require.ErrorIs(t, err, metering.ErrVerify)
	require.ErrorContains(t, err, `"{\"data\":\"unknown daemon\"}"`)
}

func TestReports(t *testing.T) {
	svc := meteringtest.New(t, crypto.PubkeyToAddress(meterKey.PublicKey))
	r := reporter(svc.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)

	received := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	r.Usage(metering.Call{ID: "c1", Method: "/example_service.Calculator/add", Received: received,
		Sent: received.Add(1500 * time.Microsecond), Code: "OK", ChannelID: "7", PaymentMode: "escrow", UserAddress: "0xabc"})
	sender := common.HexToAddress("0x2c7536E3605D9C16a7a3D7b1898e529396a65c23")
	r.Balance(&escrow.ChannelData{ChannelID: big.NewInt(7), Nonce: big.NewInt(0), Sender: sender,
		AuthorizedAmount: big.NewInt(30), FullAmount: big.NewInt(1000)})

	require.Eventually(t, func() bool { return len(svc.Requests()) == 2 }, 10*time.Second, 10*time.Millisecond)
	byPath := map[string]meteringtest.Request{}
	for _, req := range svc.Requests() {
		byPath[req.Path] = req
	}
	usage := byPath["/metering/usage"]
	require.Equal(t, "POST", usage.Method)
	for k, v := range map[string]any{
		"type": "response", "request_id": "c1", "organization_id": "snet", "service_id": "example-service",
		"group_id": "Z3JvdXA=", "service_method": "/example_service.Calculator/add",
		"request_received_time": "2026-11-22 06:00:00", "response_sent_time": "2026-11-22 06:00:00.0015",
		"response_time": "0.0015", "response_code": "OK", "status": "success", "usage_value": 1.0,
		"usage_type": "apicall", "operation": "read", "channel_id": "7", "payment_mode": "escrow", "user_address": "0xabc",
	} {
		require.Equal(t, v, usage.Body[k], k)
	}
	bal := byPath["/contract-api/channel/7/balance"]
	require.Equal(t, sender.Hex(), bal.User)
	require.Equal(t, map[string]any{"OrganizationID": "snet", "ServiceID": "example-service", "GroupID": "Z3JvdXA=",
		"AuthorizedAmount": 30.0, "FullAmount": 1000.0, "ChannelId": 7.0, "Nonce": 0.0}, bal.Body)
	require.Equal(t, metering.Stats{}, r.Stats())
}

// Reports never wait: past the queue they are dropped and counted.
func TestFullQueueDrops(t *testing.T) {
	r := metering.New(metering.Options{Endpoint: "http://127.0.0.1:1", Key: meterKey, Queue: 2,
		Head: func(context.Context) (uint64, error) { return 1, nil }})
	for range 5 {
		r.Usage(metering.Call{Code: "OK"})
	}
	require.Equal(t, uint64(3), r.Stats().Dropped)
}

// A service that stays down is reported once a minute, not per probe.
func TestServiceDownAlerts(t *testing.T) {
	svc := meteringtest.New(t, crypto.PubkeyToAddress(meterKey.PublicKey))
	r := metering.New(metering.Options{
		NotificationEndpoint: svc.URL + "/notify", AlertsEmail: "ops@example.org", Key: meterKey, DaemonID: "d1",
		OrgID: "snet", ServiceID: "example-service",
		Head: func(context.Context) (uint64, error) { return 9, nil },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	for range 3 {
		r.ServiceDown("probe failed")
	}
	require.Eventually(t, func() bool { return len(svc.Requests()) == 1 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	got := svc.Requests()
	require.Len(t, got, 1)
	require.Equal(t, "/notify", got[0].Path)
	for k, v := range map[string]any{"component_id": "d1", "recipient": "ops@example.org", "details": "probe failed",
		"message": "Problem in calling Service Heartbeat endpoint.", "component": "Daemon", "level": "ERROR"} {
		require.Equal(t, v, got[0].Body[k], k)
	}
}
