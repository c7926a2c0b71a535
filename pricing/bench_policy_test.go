package pricing_test

import (
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/tariffd/tariff/plugins"
	"github.com/tariffd/tariff/pricing"
)

// BenchmarkPolicyPrice: the price of a paid call, from the Table alone and
// through a pricing plugin (tiered: one metadata read, one method read), and
// the plugin call alone for comparison. The difference between "plugin" and
// "table" is what a plugin adds to the hot path. Besides the mean, p50-ns
// and p99-ns are percentiles of individually timed calls (the timing adds
// about 40 ns): on a busy machine the mean follows the scheduler, the
// median does not.
func BenchmarkPolicyPrice(b *testing.B) {
	rt := newRuntime(b)
	table := calcTable(b)
	tableOnly, _ := newPolicy(b, table)
	withPlugin, _ := newPolicy(b, table, pricing.Rule{Name: "tiered", Kind: plugins.KindPricing,
		Methods: []string{"/calc.Calculator/*"}, Plugin: load(b, rt, "tiered", plugins.Limits{})})
	pass := &pricing.Request{
		Method: "/calc.Calculator/mul", ServiceID: "svc", OrgID: "org", GroupID: "Z3JvdXA=",
		Caller: "0xAbC0000000000000000000000000000000000001", PaymentType: "escrow", ChannelID: big.NewInt(42),
		Meta: map[string][]string{"snet-payment-type": {"escrow"}, "snet-payment-channel-id": {"42"}},
		Time: time.Now(),
	}
	priced := *pass
	priced.Method = "/calc.Calculator/add" // tiered prices add itself, PASSes mul to the table

	raw := load(b, rt, "tiered", plugins.Limits{})
	defer raw.Retire()
	var in plugins.Input
	in.SetString(plugins.FieldMethod, priced.Method)
	in.Meta = priced.Meta

	for _, bc := range []struct {
		name string
		call func() error
	}{
		{"table", func() error { _, err := tableOnly.Price(ctx, pass); return err }},
		{"plugin", func() error { _, err := withPlugin.Price(ctx, &priced); return err }},
		{"plugin_pass", func() error { _, err := withPlugin.Price(ctx, pass); return err }},
		{"raw_call", func() error { _, err := raw.Call(ctx, plugins.KindPricing, &in); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			samples := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				start := time.Now()
				if err := bc.call(); err != nil {
					b.Fatal(err)
				}
				if len(samples) < cap(samples) {
					samples = append(samples, time.Since(start))
				}
			}
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
		})
	}
	b.Run("plugin_parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := withPlugin.Price(ctx, &priced); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
