package pricing_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"

	"google.golang.org/grpc/status"

	"github.com/tariffd/tariff/plugins"
	"github.com/tariffd/tariff/plugins/plugintest"
	"github.com/tariffd/tariff/pricing"
)

// A pricing plugin for one service, the metadata's prices for the rest. The
// host builds one Policy per configuration snapshot from its plugin blocks.
func ExampleNewPolicy() {
	ctx := context.Background()
	rt, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)

	// plugin "tiered" { kind = "pricing"  path = "tiered.wasm"  methods = ["/calc.Calculator/*"] }
	wasm, err := plugintest.Fixture("tiered") // a real host reads the file named by path
	if err != nil {
		panic(err)
	}
	tiered, err := rt.Load(ctx, wasm, plugins.Options{Name: "tiered"})
	if err != nil {
		panic(err)
	}
	table, _ := pricing.NewTable([]pricing.PriceEntry{{Model: pricing.ModelFixedPrice, PriceInCogs: big.NewInt(3), Default: true}})
	policy, err := pricing.NewPolicy(table, []pricing.Rule{{
		Name:    "tiered",
		Kind:    plugins.KindPricing,
		Methods: []string{"/calc.Calculator/*"},
		OnError: pricing.OnErrorDeny, // the default: a failing plugin refuses calls
		Plugin:  tiered,
	}}, nil)
	if err != nil {
		panic(err)
	}
	defer policy.Close(ctx) // on reload: after the requests on this snapshot finished

	for _, r := range []*pricing.Request{
		{Method: "/calc.Calculator/add"},                                               // tiered: 10 cogs
		{Method: "/calc.Calculator/add", Meta: map[string][]string{"x-price": {"25"}}}, // tiered: from metadata
		{Method: "/calc.Calculator/mul"},                                               // tiered PASSes: the table
		{Method: "/other.Service/run"},                                                 // not selected: the table
		{Method: "/calc.Calculator/add", Meta: map[string][]string{"x-price": {"?"}}},  // tiered fails
	} {
		q, err := policy.Price(ctx, r)
		if err != nil {
			st := status.Convert(err) // every error is a status for the client
			fmt.Println(r.Method, st.Code(), st.Message())
			continue
		}
		fmt.Println(r.Method, q.Price, q.Source)
	}
	// Output:
	// /calc.Calculator/add 10 tiered
	// /calc.Calculator/add 25 tiered
	// /calc.Calculator/mul 3 metadata
	// /other.Service/run 3 metadata
	// /calc.Calculator/add Internal internal error: pricing plugin "tiered" failed: status -1
}
