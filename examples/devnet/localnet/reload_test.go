package localnet_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow/paidcall"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/examples/devnet/localnet"
	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/plugins/plugintest"
	tariffpb "github.com/tariffd/tariff/proto/tariff"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func pluginHCL(wasm string, price int) string {
	return fmt.Sprintf(`
plugin "flat" {
  kind    = "pricing"
  path    = %q
  methods = ["/example_service.Calculator/add"]
  limits {
    instances = 4
    timeout   = "100ms"
  }
  config = { price = %d }
}
`, wasm, price)
}

// buildWAT assembles a test plugin from testdata.
func buildWAT(t *testing.T, name string) string {
	t.Helper()
	wasm, err := plugintest.WAT(filepath.Join("testdata", name+".wat"))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), name+".wasm")
	require.NoError(t, os.WriteFile(out, wasm, 0o644))
	return out
}

// Paid calls keep flowing from several workers while the operator rewrites
// the plugin file many times: prices alternate, some edits are invalid.
// No call fails because of a reload: a client that paid the price of the
// previous snapshot is told the current one (trailer) and pays it; every
// accepted payment is counted once.
func TestReloadUnderLoad(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	wasm := buildWAT(t, "flat")
	hcl := filepath.Join(t.TempDir(), "plugins.hcl")
	require.NoError(t, os.WriteFile(hcl, []byte(pluginHCL(wasm, 7)), 0o644))
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{ExtraConfigs: []string{hcl}}))
	require.NoError(t, err)
	defer n.Close()

	conn, err := grpc.NewClient(n.DaemonAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	calc := calculatorpb.NewCalculatorClient(conn)

	const workers = 4
	stop := make(chan struct{})
	var served, repriced, failed atomic.Int64
	var wg sync.WaitGroup
	payers := make([]*paidcall.Payer, workers)
	for w := range workers {
		id, err := n.OpenChannel(ctx, 10_000_000, 100_000)
		require.NoError(t, err)
		payers[w] = paidcall.NewPayer(n.Sim.Sender.Key, n.Sim.Contracts.MPE, id, new(big.Int), new(big.Int))
		wg.Add(1)
		go func() {
			defer wg.Done()
			payer, price := payers[w], big.NewInt(7)
			for {
				select {
				case <-stop:
					return
				default:
				}
				pctx, err := payer.Pay(ctx, price)
				if err != nil {
					failed.Add(1)
					return
				}
				var trailer metadata.MD
				_, err = calc.Add(pctx, &calculatorpb.Numbers{A: 1, B: 2}, grpc.Trailer(&trailer))
				switch {
				case err == nil:
					served.Add(1)
				case status.Code(err) == codes.Unauthenticated && len(trailer.Get(host.TrailerPrice)) == 1:
					// The price changed under us: pay what the trailer says.
					payer.Undo(price)
					p, _ := strconv.ParseInt(trailer.Get(host.TrailerPrice)[0], 10, 64)
					price = big.NewInt(p)
					repriced.Add(1)
				default:
					payer.Undo(price)
					failed.Add(1)
					t.Errorf("call failed: %v", err)
					return
				}
			}
		}()
	}

	// The operator edits the file; the daemon picks it up by itself.
	// Invalid edits are refused and leave the running prices in force.
	var refused int
	for i := range 24 {
		content := pluginHCL(wasm, 7+2*(i%2))
		if i%6 == 5 {
			content = "plugin \"tiered\" { kind = " // malformed HCL
		}
		tmp := hcl + ".tmp"
		require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
		require.NoError(t, os.Rename(tmp, hcl)) // as editors save
		time.Sleep(150 * time.Millisecond)
		// Direct reloads as well, so the count does not depend on timing.
		if _, err := n.Daemon.Reload(ctx); err != nil {
			refused++
			if i%6 != 5 {
				t.Errorf("valid edit %d refused: %v", i, err)
			}
		}
	}
	close(stop)
	wg.Wait()
	require.Zero(t, failed.Load())
	require.Equal(t, 4, refused, "each malformed edit is refused")
	require.Positive(t, served.Load())
	t.Logf("served %d paid calls, %d repriced by a reload", served.Load(), repriced.Load())

	// Every accepted payment is stored, none twice.
	head, err := n.Sim.Head(ctx)
	require.NoError(t, err)
	for _, payer := range payers {
		st, err := paidcall.State(ctx, conn, n.Sim.Sender.Key, n.Sim.Contracts.MPE, payerChannel(payer), head)
		require.NoError(t, err)
		_, signed := payer.Signed()
		require.Equal(t, signed, new(big.Int).SetBytes(st.GetCurrentSignedAmount()))
	}

	// A saved edit alone (no SIGHUP, no Reload call) reaches new calls.
	require.NoError(t, os.WriteFile(hcl, []byte(pluginHCL(wasm, 11)), 0o644))
	quotes := tariffpb.NewQuoteServiceClient(conn)
	require.Eventually(t, func() bool {
		q, err := quotes.Quote(ctx, &tariffpb.QuoteRequest{Method: "/example_service.Calculator/add"})
		return err == nil && q.GetPriceInCogs() == "11"
	}, 5*time.Second, 50*time.Millisecond)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}

func payerChannel(p *paidcall.Payer) *big.Int { return p.Channel() }

// A plugin whose method patterns select none of the service's methods (as
// its published API declares them) is a mistake: the reload is refused
// with the location and the running configuration stays.
func TestReloadRefusesPatternsThatSelectNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wasm := buildWAT(t, "flat")
	hcl := filepath.Join(t.TempDir(), "plugins.hcl")
	require.NoError(t, os.WriteFile(hcl, []byte(pluginHCL(wasm, 7)), 0o644))
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{ExtraConfigs: []string{hcl}}))
	require.NoError(t, err)
	defer n.Close()

	typo := strings.Replace(pluginHCL(wasm, 9), "Calculator/add", "Calculater/add", 1)
	require.NoError(t, os.WriteFile(hcl, []byte(typo), 0o644))
	_, err = n.Daemon.Reload(ctx)
	require.ErrorContains(t, err, `methods pattern "/example_service.Calculater/add" selects none of the service's`)
	require.ErrorContains(t, err, "plugins.hcl:2")

	conn, err := grpc.NewClient(n.DaemonAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	q, err := tariffpb.NewQuoteServiceClient(conn).Quote(ctx, &tariffpb.QuoteRequest{Method: "/example_service.Calculator/add"})
	require.NoError(t, err)
	require.Equal(t, "7", q.GetPriceInCogs(), "the running configuration stays")
}

// A provider publishes new prices in the service metadata (Registry and
// IPFS, as snet-cli does); a reload charges them, without a restart.
func TestReloadTakesNewMetadataPrices(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := localnet.Start(ctx, testOptions(t, localnet.Options{}))
	require.NoError(t, err)
	defer n.Close()
	conn, err := grpc.NewClient(n.DaemonAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	quote := func() string {
		q, err := tariffpb.NewQuoteServiceClient(conn).Quote(ctx, &tariffpb.QuoteRequest{Method: "/example_service.Calculator/add"})
		require.NoError(t, err)
		return q.GetPriceInCogs()
	}
	require.Equal(t, strconv.FormatInt(localnet.Prices["add"], 10), quote())

	prices := map[string]int64{}
	for m, p := range localnet.Prices {
		prices[m] = 3 * p
	}
	require.NoError(t, n.PublishPrices(ctx, prices))
	warnings, err := n.Daemon.Reload(ctx)
	require.NoError(t, err)
	for _, w := range warnings {
		require.NotContains(t, w, "restart", "prices need no restart")
	}
	require.Equal(t, strconv.FormatInt(prices["add"], 10), quote())

	id, err := n.OpenChannel(ctx, 1000, 1000)
	require.NoError(t, err)
	payer := paidcall.NewPayer(n.Sim.Sender.Key, n.Sim.Contracts.MPE, id, new(big.Int), new(big.Int))
	pctx, err := payer.Pay(ctx, big.NewInt(prices["add"]))
	require.NoError(t, err)
	_, err = calculatorpb.NewCalculatorClient(conn).Add(pctx, &calculatorpb.Numbers{A: 1, B: 2})
	require.NoError(t, err, "the new price is charged")
}
