package conformance_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/plugins"
)

// The hooks package plugins gives the suite (plugins/conformance_hooks.go).

func TestVerifyHook(t *testing.T) {
	facts, problems, err := plugins.Verify(fixture(t, "good"), plugins.Limits{})
	require.NoError(t, err)
	require.Empty(t, problems)
	require.EqualValues(t, 3<<16, facts.InitialMemoryBytes)
	require.False(t, facts.ImportsWASI)
	require.Contains(t, facts.Imports, "tariff_v1.meta_set")
	require.Contains(t, facts.Exports, "tariff_transform")

	// Every problem on its own, even those whose text holds "; ".
	facts, problems, err = plugins.Verify(fixture(t, "bad_imports"), plugins.Limits{ModuleBytes: 10})
	require.NoError(t, err)
	require.True(t, facts.ImportsWASI)
	require.Len(t, problems, 3)
	require.Contains(t, problems[0], "module is ")
	require.Equal(t, "imports env.now: plugins may import only from tariff_v1 and wasi_snapshot_preview1", problems[1])
	require.Contains(t, problems[2], "; use time.FixedZone or embedded data)")

	_, _, err = plugins.Verify(nil, plugins.Limits{MemoryMiB: 5000})
	require.ErrorContains(t, err, "memory_mib 5000 is above the host maximum")
}

func TestVaryWASIHook(t *testing.T) {
	rt, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{})
	require.NoError(t, err)
	defer rt.Close(ctx)
	price := func(rt *plugins.Runtime) uint64 {
		p, err := rt.Load(ctx, fixture(t, "bad_random"), plugins.Options{})
		require.NoError(t, err)
		defer p.Retire()
		res, err := p.Call(ctx, plugins.KindPricing, &plugins.Input{})
		require.NoError(t, err)
		require.NotEmpty(t, p.MemoryPages())
		return res.Price
	}
	fixed := price(rt)
	require.Equal(t, fixed, price(rt), "random_get restarts at every call")
	p, err := rt.Load(ctx, fixture(t, "good"), plugins.Options{})
	require.NoError(t, err)
	require.ErrorContains(t, rt.VaryWASI(ctx, plugins.WASIVariation{RandomSeed: 1}), "while no plugin is loaded")
	p.Retire()

	varied, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{})
	require.NoError(t, err)
	defer varied.Close(ctx)
	require.NoError(t, varied.VaryWASI(ctx, plugins.WASIVariation{RandomSeed: 0xff}))
	require.Equal(t, ((fixed-1)^0xff)+1, price(varied))
}
