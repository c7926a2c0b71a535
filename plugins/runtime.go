package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tetratelabs/wazero"
)

// RuntimeOptions configure a Runtime.
type RuntimeOptions struct {
	// CacheDir keeps compiled machine code on disk, so a restart does not
	// compile unchanged plugins again. Empty: compile in memory only.
	CacheDir string
	// Logger receives plugin log lines, with a "plugin" attribute, unless a
	// plugin has its own (Options.Logger). Nil: slog.Default().
	Logger *slog.Logger
}

// Runtime compiles and runs plugins. Create one per process and share it:
// it owns the wazero runtime (compiler, compilation cache, close on context
// done, memory capped at the host maximum) and the host modules, tariff_v1
// and the deterministic WASI subset, registered once.
//
// wazero's memory limit is per runtime; each plugin's own limit (memory_mib)
// is enforced per instance by the memory allocator given to wazero, which
// also tells the host when a guest tried to grow past it.
type Runtime struct {
	wz     wazero.Runtime
	cache  wazero.CompilationCache
	logger *slog.Logger

	mu      sync.Mutex
	plugins map[*Plugin]struct{} // loaded and not yet freed
	closed  bool
}

// NewRuntime returns a Runtime. Close it when done.
func NewRuntime(ctx context.Context, opts RuntimeOptions) (*Runtime, error) {
	r := &Runtime{logger: opts.Logger, plugins: make(map[*Plugin]struct{})}
	if r.logger == nil {
		r.logger = slog.Default()
	}
	if opts.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("plugins: compilation cache %q: %w", opts.CacheDir, err)
		}
		r.cache = c
	} else {
		r.cache = wazero.NewCompilationCache()
	}
	cfg := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(r.cache).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(maxMemoryMiB * pagesPerMiB)
	r.wz = wazero.NewRuntimeWithConfig(ctx, cfg)
	if err := instantiateHostModules(ctx, r.wz); err != nil {
		_ = r.wz.Close(ctx)
		_ = r.cache.Close(ctx)
		return nil, fmt.Errorf("plugins: host modules: %w", err)
	}
	return r, nil
}

func (r *Runtime) add(p *Plugin) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.plugins[p] = struct{}{}
	return nil
}

func (r *Runtime) remove(p *Plugin) {
	r.mu.Lock()
	delete(r.plugins, p)
	r.mu.Unlock()
}

// Close retires every plugin, waits for their calls to end (each is bounded
// by its deadline) or for ctx, then releases all compiled code. Calls and
// loads after Close fail with ErrClosed.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	ps := make([]*Plugin, 0, len(r.plugins))
	for p := range r.plugins {
		ps = append(ps, p)
	}
	r.mu.Unlock()

	for _, p := range ps {
		p.Retire()
	}
	var errs []error
	for _, p := range ps {
		if err := p.Close(ctx); err != nil {
			errs = append(errs, err)
			break // ctx is done: stop waiting
		}
	}
	bg := context.WithoutCancel(ctx)
	errs = append(errs, r.wz.Close(bg), r.cache.Close(bg))
	return errors.Join(errs...)
}
