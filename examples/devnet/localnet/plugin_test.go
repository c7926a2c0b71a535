package localnet_test

import (
	"context"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow/paidcall"
	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/examples/devnet/localnet"
	"github.com/tariffd/tariff/host"
	tariffpb "github.com/tariffd/tariff/proto/tariff"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// buildGoPlugin compiles an example plugin the way its author would.
func buildGoPlugin(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", out, "../../plugins/"+name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

// An operator keeps the unchanged snet-daemon config and adds an HCL file
// with a pricing plugin; clients learn the programmable price from a quote
// (or from the trailer of a refused payment) and pay it.
func TestPluginPricedCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm plugin")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	wasm := buildGoPlugin(t, "go-tiered")
	hcl := filepath.Join(t.TempDir(), "plugins.hcl")
	require.NoError(t, os.WriteFile(hcl, []byte(`
plugin "tiered" {
  kind    = "pricing"
  path    = "`+wasm+`"
  methods = ["/example_service.Calculator/add"]
  limits {
    memory_mib = 16
    timeout    = "50ms"
    instances  = 2
  }
  config = {
    methods = { "/example_service.Calculator/add" = { base = 7 } }
    priority_header  = "x-priority"
    priority_percent = { high = 300 }
  }
}
`), 0o644))
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{ExtraConfigs: []string{hcl}}))
	require.NoError(t, err)
	defer n.Close()

	conn, err := grpc.NewClient(n.DaemonAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	quotes := tariffpb.NewQuoteServiceClient(conn)
	quote := func(method string, md map[string]string) (string, string) {
		q, err := quotes.Quote(ctx, &tariffpb.QuoteRequest{Method: method, Metadata: md})
		require.NoError(t, err)
		return q.GetPriceInCogs(), q.GetSource()
	}
	price, source := quote("/example_service.Calculator/add", nil)
	require.Equal(t, "7", price)
	require.Equal(t, "tiered", source)
	price, _ = quote("/example_service.Calculator/add", map[string]string{"x-priority": "high"})
	require.Equal(t, "21", price)
	price, source = quote("/example_service.Calculator/mul", nil)
	require.Equal(t, "20", price, "methods the plugin does not select keep the metadata price")
	require.Equal(t, "metadata", source)

	id, err := n.OpenChannel(ctx, 1_000_000, 100_000)
	require.NoError(t, err)
	payer := paidcall.NewPayer(n.Sim.Sender.Key, n.Sim.Contracts.MPE, id, new(big.Int), new(big.Int))
	calc := calculatorpb.NewCalculatorClient(conn)

	// Paying the metadata price is refused, and the trailer says what to pay.
	pctx, err := payer.Pay(ctx, big.NewInt(10))
	require.NoError(t, err)
	var trailer metadata.MD
	_, err = calc.Add(pctx, &calculatorpb.Numbers{A: 1, B: 2}, grpc.Trailer(&trailer))
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	require.Equal(t, []string{"7"}, trailer.Get(host.TrailerPrice))
	require.Equal(t, []string{"tiered"}, trailer.Get(host.TrailerPriceSource))
	payer.Undo(big.NewInt(10))

	for _, p := range []struct {
		price int64
		md    []string
	}{{7, nil}, {21, []string{"x-priority", "high"}}, {7, nil}} {
		pctx, err := payer.Pay(ctx, big.NewInt(p.price))
		require.NoError(t, err)
		if p.md != nil {
			pctx = metadata.AppendToOutgoingContext(pctx, p.md...)
		}
		r, err := calc.Add(pctx, &calculatorpb.Numbers{A: 1, B: 2})
		require.NoError(t, err)
		require.Equal(t, float32(3), r.GetValue())
	}
	head, err := n.Sim.Head(ctx)
	require.NoError(t, err)
	st, err := paidcall.State(ctx, conn, n.Sim.Sender.Key, n.Sim.Contracts.MPE, id, head)
	require.NoError(t, err)
	require.Equal(t, int64(35), new(big.Int).SetBytes(st.GetCurrentSignedAmount()).Int64())
}

// A free_call policy and a transform, from HCL next to the snetd JSON: the
// daily allowance lets a user make more free calls than the metadata's
// free_calls, and the transform's header reaches the service.
func TestFreeCallAndTransformPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm plugins")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	allowance, transform := buildGoPlugin(t, "go-daily-allowance"), buildGoPlugin(t, "go-transform")
	hcl := filepath.Join(t.TempDir(), "plugins.hcl")
	require.NoError(t, os.WriteFile(hcl, []byte(`
plugin "allowance" {
  kind    = "free_call"
  path    = "`+allowance+`"
  methods = ["/example_service.Calculator/add"]
  config  = { per_day = 5, since = "2024-01-01", max_total = 5 }
}
plugin "tier" {
  kind    = "transform"
  path    = "`+transform+`"
  limits { timeout = "200ms" }
  config  = { default_tier = "standard", free_tier = "free", body_field = 0 }
}
`), 0o644))
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{ExtraConfigs: []string{hcl}}))
	require.NoError(t, err)
	defer n.Close()

	// Five free calls where the metadata allows three; the sixth is refused.
	var out strings.Builder
	for i := range 5 {
		_, err := n.FreeCall(ctx, &out)
		require.NoError(t, err, "free call %d: %s", i+1, out.String())
	}
	_, err = n.FreeCall(ctx, &out)
	require.Error(t, err)
	require.Contains(t, err.Error(), "free call")

	// A paid call: the transform tagged it before forwarding.
	conn, err := grpc.NewClient(n.DaemonAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	id, err := n.OpenChannel(ctx, 1_000_000, 100_000)
	require.NoError(t, err)
	payer := paidcall.NewPayer(n.Sim.Sender.Key, n.Sim.Contracts.MPE, id, new(big.Int), new(big.Int))
	pctx, err := payer.Pay(ctx, big.NewInt(localnet.Prices["mul"]))
	require.NoError(t, err)
	pctx = metadata.AppendToOutgoingContext(pctx, calculator.TierHeader, "platinum") // a client cannot pick its tier
	var trailer metadata.MD
	_, err = calculatorpb.NewCalculatorClient(conn).Mul(pctx, &calculatorpb.Numbers{A: 2, B: 3}, grpc.Trailer(&trailer))
	require.NoError(t, err)
	require.Equal(t, []string{"standard"}, trailer.Get(calculator.TierTrailer))

	// Both plugins' decisions are in the metrics.
	res, err := http.Get("http://" + n.DaemonAddr + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Contains(t, string(body), `tariff_plugin_decisions_total{kind="free_call",outcome="ok",plugin="allowance"}`)
	require.Contains(t, string(body), `tariff_plugin_decisions_total{kind="transform",outcome="ok",plugin="tier"}`)
}
