package plugins_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/plugins"
)

// hammer runs fn in p goroutines, n times each, started together.
func hammer(t *testing.T, p, n int, fn func(g, i int)) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < p; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < n; i++ {
				fn(g, i)
			}
		}()
	}
	close(start)
	wg.Wait()
}

// TestConcurrentCalls: many goroutines share a pool of 4 instances; some
// calls trap and discard their instance; answers stay right and the pool
// recovers.
func TestConcurrentCalls(t *testing.T) {
	rt, _ := newRuntime(t)
	good := load(t, rt, "good_pricing", plugins.Options{Config: []byte(`2`)})
	bad := load(t, rt, "adversarial", plugins.Options{})
	const P, N = 8, 60
	var traps, wrong atomic.Int64
	hammer(t, P, N, func(g, i int) {
		price := uint64(g*N + i)
		res, err := good.Call(ctx, plugins.KindPricing, input("/calc.Calculator/add", "x-price", fmt.Sprint(price)))
		if err != nil || res.Price != 2*price {
			wrong.Add(1)
		}
		m := ""
		if i%5 == 0 {
			m = "u"
		}
		res, err = bad.Call(ctx, plugins.KindPricing, mode(m))
		switch {
		case m == "u" && err != nil:
			traps.Add(1)
		case m == "" && err == nil && res.Price == 1:
		default:
			wrong.Add(1)
		}
	})
	require.Zero(t, wrong.Load())
	require.EqualValues(t, P*N/5, traps.Load())

	gs, bs := good.Stats(), bad.Stats()
	require.EqualValues(t, P*N, gs.Calls)
	require.EqualValues(t, P*N, gs.OK)
	require.EqualValues(t, 4, gs.Started)
	require.EqualValues(t, P*N, bs.Calls)
	require.EqualValues(t, P*N/5, bs.Errors[plugins.ErrTrap])
	require.EqualValues(t, P*N/5, bs.Discarded)
	require.LessOrEqual(t, bs.Instances, 4)
	require.EqualValues(t, bs.Started-bs.Discarded, bs.Instances)
}

// TestConcurrentRetire: calls racing with Retire either succeed or fail
// with ErrClosed, and the plugin is released once they are all done.
func TestConcurrentRetire(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, rt, "good_pricing", plugins.Options{})
	var ok, closed atomic.Int64
	hammer(t, 4, 50, func(g, i int) {
		if g == 0 && i == 25 {
			p.Retire()
		}
		_, err := p.Call(ctx, plugins.KindPricing, input("/a/b"))
		switch {
		case err == nil:
			ok.Add(1)
		case errorsIs(err, plugins.ErrClosed):
			closed.Add(1)
		default:
			t.Error(err)
		}
	})
	require.EqualValues(t, 200, ok.Load()+closed.Load())
	require.NotZero(t, closed.Load())
	<-p.Done()
}
