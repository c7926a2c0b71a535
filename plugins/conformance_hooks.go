package plugins

// Hooks for the conformance suite (package conformance, `tariffd plugin
// check`): the verification step of Load alone, the memory size of started
// instances, and a way to vary the values the deterministic WASI subset
// returns. The daemon never calls them, so production behaviour does not
// depend on them.

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/tariffd/tariff/plugins/internal/wasi"
	"github.com/tariffd/tariff/plugins/internal/wasmbin"
)

// ModuleFacts is what the static checks learn about a module.
type ModuleFacts struct {
	Imports            []string // "module.name" of every import, in order
	Exports            []string // export names, in order
	InitialMemoryBytes uint64   // the declared initial size of the exported memory
	ImportsWASI        bool     // imports wasi_snapshot_preview1 (Go, TinyGo, wasi-libc)
}

// Verify runs the checks Load makes before anything of a module runs or is
// compiled: the module size against lim, a readable binary, the imports and
// exports with their exact signatures, the memory, no _start. It returns
// every problem found, worded as Load words it (Load joins them with "; ");
// none means Load's static checks pass. Code is validated by the compiler,
// so a module Verify accepts may still fail Load with "invalid module".
// The error is for limits Load would refuse.
func Verify(wasm []byte, lim Limits) (ModuleFacts, []string, error) {
	var facts ModuleFacts
	lim, err := lim.withDefaults()
	if err != nil {
		return facts, nil, fmt.Errorf("limits: %w", err)
	}
	var problems []string
	if len(wasm) > lim.ModuleBytes {
		problems = append(problems, fmt.Sprintf("module is %d bytes, over the limit of %d bytes", len(wasm), lim.ModuleBytes))
	}
	m, err := wasmbin.Parse(wasm)
	if err != nil {
		return facts, append(problems, fmt.Sprintf("not a valid WebAssembly module: %v", err)), nil
	}
	for _, im := range m.Imports {
		facts.Imports = append(facts.Imports, im.Module+"."+im.Name)
		facts.ImportsWASI = facts.ImportsWASI || im.Module == wasi.ModuleName
	}
	for _, e := range m.Exports {
		facts.Exports = append(facts.Exports, e.Name)
	}
	if e, ok := m.Export("memory"); ok && e.Kind == wasmbin.KindMemory {
		facts.InitialMemoryBytes = e.Memory.Min * wasmPageBytes
	}
	if _, err := verify(m, lim); err != nil {
		problems = append(problems, splitProblems(err.Error())...)
	}
	return facts, problems, nil
}

// problemStarts are the openings of verify's problems. Some problems contain
// "; " themselves, so the joined message is split only where one of these
// follows.
var problemStarts = []string{"imports ", "defines ", "does not export", "memory is ", "initial memory is ", "exports "}

func splitProblems(s string) []string {
	var out []string
	for {
		cut := -1
		for i := 0; ; {
			j := strings.Index(s[i:], "; ")
			if j < 0 {
				break
			}
			at := i + j
			rest := s[at+2:]
			for _, p := range problemStarts {
				if strings.HasPrefix(rest, p) {
					cut = at
					break
				}
			}
			if cut >= 0 {
				break
			}
			i = at + 2
		}
		if cut < 0 {
			return append(out, s)
		}
		out = append(out, s[:cut])
		s = s[cut+2:]
	}
}

// MemoryPages returns the memory size, in 64 KiB pages, of each started
// instance of the plugin. Memory only grows, so it is also the peak of each
// instance. It reads the sizes without synchronizing with calls: use it
// while no call is in flight.
func (p *Plugin) MemoryPages() []uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	pages := make([]uint32, 0, len(p.live))
	for inst := range p.live {
		pages = append(pages, inst.mod.Memory().Size()/wasmPageBytes)
	}
	return pages
}

// WASIVariation changes the values the deterministic WASI subset gives
// plugins, so the conformance suite can tell whether a plugin's answers
// depend on them. The zero value changes nothing.
type WASIVariation struct {
	// ClockShift is added to every clock clock_time_get reads.
	ClockShift time.Duration
	// RandomSeed, when not zero, changes the bytes of random_get: each is
	// XORed with a byte of the seed. The stream stays fixed per call.
	RandomSeed uint64
}

// VaryWASI replaces the runtime's WASI subset with one varied by v, for the
// plugins loaded after it. Call it while no plugin is loaded (before the
// first Load, or once every plugin is released). Only the conformance suite
// uses it; everything else about the runtime stays as NewRuntime made it.
func (r *Runtime) VaryWASI(ctx context.Context, v WASIVariation) error {
	r.mu.Lock()
	busy, closed := len(r.plugins) > 0, r.closed
	r.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case busy:
		return fmt.Errorf("plugins: VaryWASI: call it while no plugin is loaded")
	}
	if m := r.wz.Module(wasi.ModuleName); m != nil {
		if err := m.Close(ctx); err != nil {
			return fmt.Errorf("plugins: VaryWASI: %w", err)
		}
	}
	wrap := map[string]func(api.GoModuleFunction) api.GoModuleFunction{}
	if v.ClockShift != 0 {
		shift := uint64(v.ClockShift)
		wrap["clock_time_get"] = func(f api.GoModuleFunction) api.GoModuleFunction {
			return api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
				ptr := uint32(stack[2])
				f.Call(ctx, mod, stack)
				if stack[0] != 0 { // an errno
					return
				}
				if t, ok := mod.Memory().ReadUint64Le(ptr); ok {
					mod.Memory().WriteUint64Le(ptr, t+shift)
				}
			})
		}
	}
	if v.RandomSeed != 0 {
		var seed [8]byte
		binary.LittleEndian.PutUint64(seed[:], v.RandomSeed)
		wrap["random_get"] = func(f api.GoModuleFunction) api.GoModuleFunction {
			return api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
				ptr, n := uint32(stack[0]), uint32(stack[1])
				f.Call(ctx, mod, stack)
				if stack[0] != 0 {
					return
				}
				if b, ok := mod.Memory().Read(ptr, n); ok {
					for i := range b {
						b[i] ^= seed[i%8]
					}
				}
			})
		}
	}
	if err := wasi.Instantiate(ctx, wrappingRuntime{r.wz, wrap}, wasiEnv); err != nil {
		return fmt.Errorf("plugins: VaryWASI: %w", err)
	}
	return nil
}

// wrappingRuntime hands wasi.Instantiate host-module builders that wrap the
// functions named in wrap, so the subset is the production one but for them.
type wrappingRuntime struct {
	wazero.Runtime
	wrap map[string]func(api.GoModuleFunction) api.GoModuleFunction
}

func (r wrappingRuntime) NewHostModuleBuilder(name string) wazero.HostModuleBuilder {
	return &wrappingModule{HostModuleBuilder: r.Runtime.NewHostModuleBuilder(name), wrap: r.wrap}
}

type wrappingModule struct {
	wazero.HostModuleBuilder
	wrap map[string]func(api.GoModuleFunction) api.GoModuleFunction
}

func (m *wrappingModule) NewFunctionBuilder() wazero.HostFunctionBuilder {
	return &wrappingFunction{HostFunctionBuilder: m.HostModuleBuilder.NewFunctionBuilder(), mod: m}
}

type wrappingFunction struct {
	wazero.HostFunctionBuilder
	mod             *wrappingModule
	fn              api.GoModuleFunction
	params, results []api.ValueType
}

func (f *wrappingFunction) WithGoModuleFunction(fn api.GoModuleFunction, params, results []api.ValueType) wazero.HostFunctionBuilder {
	f.fn, f.params, f.results = fn, params, results
	return f
}

func (f *wrappingFunction) Export(name string) wazero.HostModuleBuilder {
	fn := f.fn
	if w := f.mod.wrap[name]; w != nil && fn != nil {
		fn = w(fn)
	}
	if fn != nil {
		f.HostFunctionBuilder.WithGoModuleFunction(fn, f.params, f.results)
	}
	f.HostFunctionBuilder.Export(name)
	return f.mod
}
