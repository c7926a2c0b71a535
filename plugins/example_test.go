package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/tariffd/tariff/plugins"
	"github.com/tariffd/tariff/plugins/plugintest"
)

// wasmOf returns testdata/NAME.wat compiled with wat2wasm; a real host reads
// the .wasm file named in its configuration.
func wasmOf(name string) []byte {
	b, err := plugintest.Fixture(name)
	if err != nil {
		panic(err)
	}
	return b
}

// A pricing plugin: load it once, then call it for every request.
func Example() {
	ctx := context.Background()
	rt, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)

	p, err := rt.Load(ctx, wasmOf("good_pricing"), plugins.Options{
		Name:   "tiered",
		Config: []byte(`2`), // the HCL config block, as JSON
		Limits: plugins.Limits{MemoryMiB: 16, Instances: 2},
	})
	if err != nil {
		panic(err) // the message says what is wrong with the module
	}

	var in plugins.Input
	in.SetString(plugins.FieldMethod, "/calc.Calculator/add")
	in.Meta = map[string][]string{"x-price": {"21"}}
	res, err := p.Call(ctx, plugins.KindPricing, &in)
	switch {
	case err != nil:
		fmt.Println("ERROR, apply on_error:", err)
	case res.Status == plugins.StatusOK:
		fmt.Println("price:", res.Price)
	case res.Status == plugins.StatusPass:
		fmt.Println("PASS, use the fallback price")
	case res.Status == plugins.StatusDeny:
		fmt.Println("DENY:", res.Code, res.Message)
	}
	// Output: price: 42
}

// An ERROR carries the plugin's name and the reason, testable with errors.Is.
func ExamplePlugin_Call_error() {
	ctx := context.Background()
	rt, _ := plugins.NewRuntime(ctx, plugins.RuntimeOptions{Logger: slog.New(slog.DiscardHandler)})
	defer rt.Close(ctx)
	p, err := rt.Load(ctx, wasmOf("adversarial"), plugins.Options{Name: "bad"})
	if err != nil {
		panic(err)
	}

	in := &plugins.Input{Meta: map[string][]string{"x-mode": {"l"}}} // loops forever
	_, err = p.Call(ctx, plugins.KindPricing, in)
	fmt.Println(errors.Is(err, plugins.ErrTimeout))
	fmt.Println(err)

	// The instance that timed out was discarded; the plugin goes on.
	res, err := p.Call(ctx, plugins.KindPricing, nil)
	fmt.Println(res.Price, err, p.Stats().Discarded)
	// Output:
	// true
	// plugin "bad" (pricing): timeout: did not return within 20ms
	// 1 <nil> 1
}

// Hot reload: load the new version, swap it in, retire the old one. Calls
// already running on the old version finish on it; it is released after the
// last one.
func ExamplePlugin_Retire() {
	ctx := context.Background()
	rt, _ := plugins.NewRuntime(ctx, plugins.RuntimeOptions{Logger: slog.New(slog.DiscardHandler)})
	defer rt.Close(ctx)

	var current atomic.Pointer[plugins.Plugin]
	v1, _ := rt.Load(ctx, wasmOf("good_pricing"), plugins.Options{Name: "tiered", Config: []byte(`1`)})
	current.Store(v1)

	v2, err := rt.Load(ctx, wasmOf("good_pricing"), plugins.Options{Name: "tiered", Config: []byte(`3`)})
	if err != nil {
		return // keep running v1 and report the error
	}
	old := current.Swap(v2)
	old.Retire()
	<-old.Done()

	var in plugins.Input
	in.SetString(plugins.FieldMethod, "/calc.Calculator/add")
	res, _ := current.Load().Call(ctx, plugins.KindPricing, &in)
	fmt.Println(res.Price)
	_, err = old.Call(ctx, plugins.KindPricing, &in)
	fmt.Println(errors.Is(err, plugins.ErrClosed))
	// Output:
	// 30
	// true
}
