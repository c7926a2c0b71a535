// Package plugins runs sandboxed WebAssembly plugins that follow the tariff
// plugin ABI v1 (import module tariff_v1; see ABI.md), with wazero. It knows
// nothing about payments: pricing and host decide what a price, a free call
// or a transform means, and what to do on PASS, DENY or ERROR.
//
// # Use
//
// One Runtime per process owns the compiler, the compilation cache (on disk
// with RuntimeOptions.CacheDir) and the host modules. Runtime.Load verifies
// a module before anything of it runs, then starts a pool of instances
// (Limits.Instances), each initialized once (_initialize, tariff_init):
//
//	rt, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{CacheDir: dir})
//	p, err := rt.Load(ctx, wasm, plugins.Options{Name: "tiered", Config: cfgJSON,
//		Limits: plugins.Limits{MemoryMiB: 16, Instances: 4}})
//
// Plugin.Call borrows an instance, lets the entry point of a Kind read the
// Input through the host functions, and returns the Result:
//
//	var in plugins.Input
//	in.SetString(plugins.FieldMethod, "/example_service.Calculator/add")
//	in.Meta = md // lowercase keys; -bin values raw
//	res, err := p.Call(ctx, plugins.KindPricing, &in)
//
// A nil error carries Result.Status: StatusOK (use Result's outputs),
// StatusPass (apply the fallback) or StatusDeny (Result.Code and
// Result.Message). Anything else is an ERROR: a *CallError naming the plugin
// and a Reason (errors.Is(err, plugins.ErrTimeout), ...). An instance that
// trapped, timed out, broke a limit or passed a bad pointer is discarded and
// replaced when next needed, so one bad request never affects the next.
//
// For hot reload, load the new version, swap it in, and Retire the old one:
// it refuses new calls and is released when its last call in flight returns
// (Plugin.Done). Plugin.Stats returns counters for metrics.
//
// # Determinism
//
// Pricing must be a pure function of the Input: the price quoted to a
// client and the price charged must agree. Plugins get no files, network,
// arguments or environment; WASI clocks are constants and random_get is a
// fixed stream (restarted at every call), so only the Input varies.
//
// The reasons for the design are in RATIONALE.md.
package plugins
