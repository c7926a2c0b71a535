package plugins_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/tariffd/tariff/plugins"
)

// BenchmarkCall: one pricing call through the pool: borrow an instance, a
// metadata read, set_price, return it.
func BenchmarkCall(b *testing.B) {
	rt, _ := newRuntime(b)
	p := load(b, rt, "good_pricing", plugins.Options{})
	in := input("/calc.Calculator/add", "x-price", "12345")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Call(ctx, plugins.KindPricing, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallParallel: the same from GOMAXPROCS goroutines, pool of 4.
func BenchmarkCallParallel(b *testing.B) {
	rt, _ := newRuntime(b)
	p := load(b, rt, "good_pricing", plugins.Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		in := input("/calc.Calculator/add", "x-price", "12345")
		for pb.Next() {
			if _, err := p.Call(ctx, plugins.KindPricing, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAccessor: the cost of one host accessor, input(METHOD) into a
// guest buffer: a call doing 100 reads minus a call doing none, over 100.
func BenchmarkAccessor(b *testing.B) {
	rt, _ := newRuntime(b)
	const reads = 100
	base := load(b, rt, "bench", plugins.Options{Name: "base", Config: []byte(`0`)})
	p := load(b, rt, "bench", plugins.Options{Name: "reads", Config: []byte(strconv.Itoa(reads))})
	in := input("/calc.Calculator/add")
	run := func(p *plugins.Plugin, n int) time.Duration {
		start := time.Now()
		for i := 0; i < n; i++ {
			if _, err := p.Call(ctx, plugins.KindPricing, in); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	b.StopTimer()
	t0 := run(base, b.N)
	b.StartTimer()
	t1 := run(p, b.N)
	b.StopTimer()
	per := (float64(t1) - float64(t0)) / float64(b.N) / reads
	b.ReportMetric(per, "ns/read")
}
