package host_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/host/metering"
)

// With metering on, every call to the service is reported, and a paid one
// also reports its channel's new balance; the calls never wait for it.
func TestMeteredCalls(t *testing.T) {
	var (
		mu      sync.Mutex
		reports = map[string][]map[string]any{}
	)
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		mu.Lock()
		reports[r.URL.Path] = append(reports[r.URL.Path], body)
		mu.Unlock()
		_, _ = io.WriteString(w, `{"data":"success"}`)
	}))
	defer svc.Close()
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("metering")))
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

	got := func() (usage, balance []map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		return reports["/metering/usage"], reports["/contract-api/channel/"+e.id.String()+"/balance"]
	}
	require.Eventually(t, func() bool { u, b := got(); return len(u) == 2 && len(b) == 1 }, 10*time.Second, 10*time.Millisecond)
	usage, balance := got()
	byMethod := map[string]map[string]any{}
	for _, u := range usage {
		byMethod[u["service_method"].(string)] = u
	}
	add, div := byMethod["/example_service.Calculator/add"], byMethod["/example_service.Calculator/div"]
	require.Equal(t, "success", add["status"])
	require.Equal(t, testSim.Sender.Address.Hex(), add["user_address"])
	require.Equal(t, e.id.String(), add["channel_id"])
	require.Equal(t, "failed", div["status"])
	require.Equal(t, "InvalidArgument", div["response_code"])
	require.Equal(t, "division by zero", div["error_message"])
	require.Equal(t, 5.0, balance[0]["AuthorizedAmount"], "the failed call was rolled back, not reported")
	require.Equal(t, metering.Stats{}, meter.Stats())
}
