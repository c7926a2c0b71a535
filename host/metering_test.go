package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/host/metering"
	"github.com/tariffd/tariff/host/metering/meteringtest"
)

// With metering on, every call to the service is reported, and a paid one
// also reports its channel's new balance; the calls never wait for it.
func TestMeteredCalls(t *testing.T) {
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("metering")))
	svc := meteringtest.New(t, crypto.PubkeyToAddress(key.PublicKey))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	meter := metering.New(metering.Options{Endpoint: svc.URL, Key: key, OrgID: "org", ServiceID: "svc",
		Head: testSim.Head})
	go meter.Run(ctx)
	e := newEnvWith(t, 5, envOptions{server: func(o *host.ServerOptions) { o.Metering = meter }})

	_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 1, B: 2})
	require.NoError(t, err)
	_, err = e.calc.Div(e.pay(t), &calculatorpb.Numbers{A: 1, B: 0})
	require.Error(t, err)
	e.payer.Undo(e.price)

	balancePath := "/contract-api/channel/" + e.id.String() + "/balance"
	require.Eventually(t, func() bool { return svc.Count("/metering/usage") == 2 && svc.Count(balancePath) == 1 },
		10*time.Second, 10*time.Millisecond)
	byMethod := map[string]map[string]any{}
	var balance map[string]any
	for _, r := range svc.Requests() {
		switch r.Path {
		case "/metering/usage":
			byMethod[r.Body["service_method"].(string)] = r.Body
		case balancePath:
			balance = r.Body
			require.Equal(t, testSim.Sender.Address.Hex(), r.User)
		}
	}
	add, div := byMethod["/example_service.Calculator/add"], byMethod["/example_service.Calculator/div"]
	require.Equal(t, "success", add["status"])
	require.Equal(t, testSim.Sender.Address.Hex(), add["user_address"])
	require.Equal(t, e.id.String(), add["channel_id"])
	require.Equal(t, "failed", div["status"])
	require.Equal(t, "InvalidArgument", div["response_code"])
	require.Equal(t, "division by zero", div["error_message"])
	require.Equal(t, 5.0, balance["AuthorizedAmount"], "the failed call was rolled back, not reported")
	require.Equal(t, metering.Stats{}, meter.Stats())
}
