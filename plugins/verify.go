package plugins

import (
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/tariffd/tariff/plugins/internal/wasi"
	"github.com/tariffd/tariff/plugins/internal/wasmbin"
)

// shape is what the static checks learn about a module.
type shape struct {
	entries     [numKinds]bool // entry export present, by Kind
	initialize  bool           // exports _initialize
	init        bool           // exports tariff_init
	importsWASI bool
}

var (
	sigVoid  = wasmbin.FuncType{}
	sigI32   = wasmbin.FuncType{Results: []wasmbin.ValType{wasmbin.I32}}
	sigI64   = wasmbin.FuncType{Results: []wasmbin.ValType{wasmbin.I64}}
	limitHow = "raise memory_mib in the plugin's limits, or shrink the module's initial memory"
)

func toFuncType(params, results []api.ValueType) wasmbin.FuncType {
	var ft wasmbin.FuncType
	for _, p := range params {
		ft.Params = append(ft.Params, wasmbin.ValType(p))
	}
	for _, r := range results {
		ft.Results = append(ft.Results, wasmbin.ValType(r))
	}
	return ft
}

// verify checks a parsed module against ABI v1 before anything runs. It
// reports every problem it finds, one per line.
func verify(m *wasmbin.Module, lim Limits) (shape, error) {
	var (
		s        shape
		problems []string
	)
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for _, im := range m.Imports {
		what := im.Module + "." + im.Name
		if im.Kind != wasmbin.KindFunc {
			if im.Kind == wasmbin.KindMemory {
				bad("imports memory %s: a plugin must define and export its own memory", what)
			} else {
				bad("imports %s %s: plugins may import only functions", im.Kind, what)
			}
			continue
		}
		switch im.Module {
		case HostModule:
			hf, ok := hostFuncs[im.Name]
			if !ok {
				bad("imports %s, which ABI v1.%d does not define", what, ABIMinor)
				continue
			}
			if want := toFuncType(hf.params, hf.results); !im.Type.Equal(want) {
				bad("imports %s with type %s, want %s", what, im.Type, want)
			}
		case wasi.ModuleName:
			s.importsWASI = true
			params, results, reason, ok := wasi.Signature(im.Name)
			if !ok {
				if reason == "" {
					reason = "it is not in the WASI subset given to plugins"
				}
				bad("imports %s: %s", what, reason)
				continue
			}
			if want := toFuncType(params, results); !im.Type.Equal(want) {
				bad("imports %s with type %s, want %s", what, im.Type, want)
			}
		default:
			bad("imports %s: plugins may import only from %s and %s", what, HostModule, wasi.ModuleName)
		}
	}

	// Memory: exactly one, defined here, exported as "memory".
	switch defined := len(m.Memories) - m.ImportedMemories; {
	case defined == 0 && m.ImportedMemories == 0:
		bad("defines no memory; export one named \"memory\"")
	case defined > 1:
		bad("defines %d memories; plugins have one", defined)
	}
	if e, ok := m.Export("memory"); !ok || e.Kind != wasmbin.KindMemory {
		bad("does not export its memory as \"memory\"")
	} else {
		mem := e.Memory
		limitPages := uint64(lim.MemoryMiB) * pagesPerMiB
		switch {
		case mem.Shared:
			bad("memory is shared: threads and shared memory are not allowed")
		case mem.Is64:
			bad("memory is 64-bit: plugins use 32-bit memory")
		case mem.Min > limitPages:
			bad("initial memory is %s, over the limit of %d MiB (%s)", fmtPages(mem.Min), lim.MemoryMiB, limitHow)
		}
	}

	fn := func(name string, want wasmbin.FuncType, required bool) bool {
		e, ok := m.Export(name)
		switch {
		case !ok:
			if required {
				bad("does not export %s %s", name, want)
			}
			return false
		case e.Kind != wasmbin.KindFunc:
			bad("exports %s as a %s, want a function %s", name, e.Kind, want)
			return false
		case !e.Type.Equal(want):
			bad("exports %s with type %s, want %s", name, e.Type, want)
			return false
		}
		return true
	}
	if _, ok := m.Export("_start"); ok {
		bad("exports _start: it is a command module, which runs main and exits; build a reactor (Go and TinyGo: -buildmode=c-shared; Rust: crate-type cdylib)")
	}
	if _, ok := m.Export(ABIMarker); !ok {
		bad("does not export the marker %s () -> (): it is not a tariff ABI v1 plugin", ABIMarker)
	} else {
		fn(ABIMarker, sigVoid, true)
	}
	fn("tariff_info", sigI64, true)
	s.initialize = fn("_initialize", sigVoid, false)
	s.init = fn("tariff_init", sigI32, false)
	hasEntry := false
	for k := KindPricing; k <= KindTransform; k++ {
		if _, ok := m.Export(k.Entry()); ok {
			hasEntry = true
		}
		s.entries[k] = fn(k.Entry(), sigI32, false)
	}
	if !hasEntry {
		bad("exports no entry point (tariff_price, tariff_free_call or tariff_transform)")
	}
	if _, ok := m.Export("_initialize"); s.importsWASI && !ok {
		bad("imports %s but does not export _initialize () -> (): build a reactor", wasi.ModuleName)
	}
	if len(problems) > 0 {
		return s, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return s, nil
}

func fmtPages(pages uint64) string {
	b := pages * wasmPageBytes
	if b%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", b>>20)
	}
	return fmt.Sprintf("%d KiB", b>>10)
}
