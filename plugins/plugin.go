package plugins

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/time/rate"

	"github.com/tariffd/tariff/plugins/internal/wasi"
	"github.com/tariffd/tariff/plugins/internal/wasmbin"
)

// Options describe one plugin to Load.
type Options struct {
	// Name names the plugin in logs, errors and metrics (the HCL label).
	// Empty: the name from tariff_info.
	Name string
	// Config is the plugin's configuration as JSON (the HCL config block),
	// read by the guest with `config`. Nil: `config` answers -1 (absent).
	Config []byte
	// SHA256, when set, pins the module: hex SHA-256 of the wasm bytes.
	SHA256 string
	// Limits bound the plugin's resources.
	Limits Limits
	// Logger receives the plugin's log lines. Nil: the Runtime's logger.
	Logger *slog.Logger
}

// Info is what the plugin says about itself in tariff_info.
type Info struct {
	Name      string
	Version   string
	ABIMinor  int
	Kinds     []Kind
	NeedsBody bool // pricing and free_call plugins may read the body
}

// Has reports whether the plugin implements kind k.
func (i Info) Has(k Kind) bool {
	for _, x := range i.Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Plugin is a loaded, verified plugin with a pool of started instances. It
// is safe for concurrent use. A Plugin stays usable until Retire or Close;
// its resources are released when the last call in flight ends.
type Plugin struct {
	rt       *Runtime
	name     string
	info     Info
	sum      [32]byte
	limits   Limits
	config   []byte
	logger   *slog.Logger
	logLimit *rate.Limiter
	compiled wazero.CompiledModule
	modCfg   wazero.ModuleConfig
	shape    shape
	memLimit uint64 // bytes

	pool chan *instance // nil: an empty slot, started on demand

	mu    sync.Mutex
	live  map[*instance]struct{}
	freed bool

	refs     atomic.Int64 // 1 for the owner until Retire, plus calls in flight
	retired  atomic.Bool
	freeOnce sync.Once
	done     chan struct{}

	stats counters
}

type instance struct {
	mod   api.Module
	entry [numKinds]api.Function
	stack []uint64
	st    callState
	rnd   wasi.Stream
	mem   linearMemory
}

// linearMemory backs an instance's memory (wazero's experimental allocator
// hook). It refuses to grow past the plugin's limit, so memory.grow returns
// -1, and remembers that it did: the host then fails the call.
type linearMemory struct {
	buf     []byte
	limit   uint64
	refused bool
}

func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused = true
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size] // bytes past the old length were never written
		return m.buf
	}
	b := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.limit))
	copy(b, m.buf)
	m.buf = b
	return b
}

func (m *linearMemory) Free() { m.buf = nil }

type counters struct {
	calls, ok, pass, deny atomic.Uint64
	errors                [numReasons]atomic.Uint64
	started, discarded    atomic.Uint64
	logLines, logsDropped atomic.Uint64
}

// Load verifies a module and starts its instances. Nothing of the module
// runs before the static checks pass: size, optional SHA-256 pin, a valid
// binary, exports and imports with their exact signatures, memory within
// the limit, no shared memory, no _start. Then one instance is started to
// read and check tariff_info, and the pool is filled. Every error but
// ErrClosed (the Runtime is closed) wraps ErrInvalid and says what is
// wrong.
func (r *Runtime) Load(ctx context.Context, wasm []byte, opts Options) (*Plugin, error) {
	name := opts.Name
	refuse := func(format string, args ...any) error {
		n := name
		if n == "" {
			n = "(unnamed)"
		}
		return fmt.Errorf("%w %q: %s", ErrInvalid, n, fmt.Sprintf(format, args...))
	}
	lim, err := opts.Limits.withDefaults()
	if err != nil {
		return nil, refuse("limits: %v", err)
	}
	if len(wasm) > lim.ModuleBytes {
		return nil, refuse("module is %d bytes, over the limit of %d bytes", len(wasm), lim.ModuleBytes)
	}
	sum := sha256.Sum256(wasm)
	if opts.SHA256 != "" && !strings.EqualFold(opts.SHA256, hex.EncodeToString(sum[:])) {
		return nil, refuse("module SHA-256 is %x, the configuration pins %s", sum, opts.SHA256)
	}
	if opts.Config != nil && !json.Valid(opts.Config) {
		return nil, refuse("config is not valid JSON")
	}
	parsed, err := wasmbin.Parse(wasm)
	if err != nil {
		return nil, refuse("not a valid WebAssembly module: %v", err)
	}
	sh, err := verify(parsed, lim)
	if err != nil {
		return nil, refuse("%v", err)
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	compiled, err := r.wz.CompileModule(ctx, wasm)
	if err != nil {
		return nil, refuse("invalid module: %s", firstLine(err.Error()))
	}
	p := &Plugin{
		rt:       r,
		name:     name,
		sum:      sum,
		limits:   lim,
		config:   bytes.Clone(opts.Config),
		logLimit: rate.NewLimiter(rate.Limit(lim.LogRate), lim.LogLines),
		compiled: compiled,
		modCfg:   wazero.NewModuleConfig().WithName("").WithStartFunctions(),
		shape:    sh,
		memLimit: uint64(lim.MemoryMiB) << 20,
		pool:     make(chan *instance, lim.Instances),
		live:     make(map[*instance]struct{}),
		done:     make(chan struct{}),
	}
	p.refs.Store(1)
	p.setLogger(opts.Logger)
	if err := r.add(p); err != nil {
		_ = compiled.Close(ctx)
		return nil, err
	}
	fail := func(err error) (*Plugin, error) {
		p.retired.Store(true)
		p.free()
		return nil, err
	}

	first, err := p.startInstance(ctx, func(raw []byte) error {
		info, err := parseInfo(raw, sh)
		if err != nil {
			return err
		}
		p.info = info
		if p.name == "" {
			name = info.Name
			p.name = info.Name
			p.setLogger(opts.Logger)
		}
		return nil
	})
	if err != nil {
		return fail(refuse("%v", err))
	}
	p.pool <- first
	for i := 1; i < lim.Instances; i++ {
		inst, err := p.startInstance(ctx, nil)
		if err != nil {
			return fail(refuse("instance %d: %v", i+1, err))
		}
		p.pool <- inst
	}
	return p, nil
}

func (p *Plugin) setLogger(l *slog.Logger) {
	if l == nil {
		l = p.rt.logger
	}
	p.logger = l.With(slog.String("plugin", p.name))
}

type infoJSON struct {
	Name      *string  `json:"name"`
	Version   *string  `json:"version"`
	ABIMinor  *int     `json:"abi_minor"`
	Kinds     []string `json:"kinds"`
	NeedsBody bool     `json:"needs_body"`
}

func parseInfo(raw []byte, sh shape) (Info, error) {
	var j infoJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return Info{}, fmt.Errorf("not valid JSON (%v): %q", err, cutText(raw, 200))
	}
	var missing []string
	if j.Name == nil || *j.Name == "" {
		missing = append(missing, `"name"`)
	}
	if j.Version == nil {
		missing = append(missing, `"version"`)
	}
	if j.ABIMinor == nil {
		missing = append(missing, `"abi_minor"`)
	}
	if len(j.Kinds) == 0 {
		missing = append(missing, `"kinds"`)
	}
	if len(missing) > 0 {
		return Info{}, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	info := Info{Name: *j.Name, Version: *j.Version, ABIMinor: *j.ABIMinor, NeedsBody: j.NeedsBody}
	if info.ABIMinor < 0 {
		return Info{}, fmt.Errorf("abi_minor %d is negative", info.ABIMinor)
	}
	if info.ABIMinor > ABIMinor {
		return Info{}, fmt.Errorf("the plugin needs ABI v1.%d, this host implements v1.%d: upgrade tariffd or rebuild the plugin with an older SDK", info.ABIMinor, ABIMinor)
	}
	var declared [numKinds]bool
	for _, s := range j.Kinds {
		k, ok := ParseKind(s)
		if !ok {
			return Info{}, fmt.Errorf("unknown kind %q (known: pricing, free_call, transform)", s)
		}
		if declared[k] {
			continue
		}
		declared[k] = true
		info.Kinds = append(info.Kinds, k)
	}
	var problems []string
	for k := KindPricing; k <= KindTransform; k++ {
		switch {
		case declared[k] && !sh.entries[k]:
			problems = append(problems, fmt.Sprintf("declares kind %s but does not export %s", k, k.Entry()))
		case !declared[k] && sh.entries[k]:
			problems = append(problems, fmt.Sprintf("exports %s but does not declare kind %s", k.Entry(), k))
		}
	}
	if len(problems) > 0 {
		return Info{}, errors.New(strings.Join(problems, "; "))
	}
	return info, nil
}

// startInstance instantiates the module and runs _initialize, then (first
// instance only) tariff_info and onInfo, then tariff_init, all under the
// init deadline.
func (p *Plugin) startInstance(ctx context.Context, onInfo func([]byte) error) (*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, p.limits.InitTimeout)
	defer cancel()
	inst := &instance{stack: make([]uint64, 1), mem: linearMemory{limit: p.memLimit}}
	st := &inst.st
	st.p, st.inst = p, inst
	cctx := context.WithValue(ctx, stateKey{}, st)

	st.begin(ctx, phaseInit, 0, "instantiate", nil)
	alloc := experimental.MemoryAllocatorFunc(func(_, _ uint64) experimental.LinearMemory { return &inst.mem })
	mod, err := p.rt.wz.InstantiateModule(experimental.WithMemoryAllocator(cctx, alloc), p.compiled, p.modCfg)
	st.end()
	if err != nil || inst.mem.refused {
		if mod != nil {
			_ = mod.Close(context.WithoutCancel(ctx))
		}
		return nil, p.initError(st, "instantiation", err)
	}
	inst.mod = mod
	fail := func(err error) (*instance, error) {
		_ = mod.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	call := func(name string) (uint64, error) {
		st.begin(ctx, phaseInit, 0, name, nil)
		err := mod.ExportedFunction(name).CallWithStack(cctx, inst.stack)
		st.end()
		if err != nil || inst.mem.refused {
			return 0, p.initError(st, name, err)
		}
		return inst.stack[0], nil
	}
	if p.shape.initialize {
		if _, err := call("_initialize"); err != nil {
			return fail(err)
		}
	}
	if onInfo != nil {
		v, err := call("tariff_info")
		if err != nil {
			return fail(err)
		}
		ptr, n := uint32(v>>32), uint32(v)
		if n > maxInfoBytes {
			return fail(fmt.Errorf("tariff_info: %d bytes, over the limit of %d", n, maxInfoBytes))
		}
		raw, ok := mod.Memory().Read(ptr, n)
		if !ok {
			return fail(fmt.Errorf("tariff_info: range [%d, %d+%d) is outside memory", ptr, ptr, n))
		}
		if err := onInfo(bytes.Clone(raw)); err != nil {
			return fail(fmt.Errorf("tariff_info: %w", err))
		}
	}
	if p.shape.init {
		v, err := call("tariff_init")
		if err != nil {
			return fail(err)
		}
		if status := int32(v); status != 0 {
			msg := fmt.Sprintf("tariff_init returned %d", status)
			if st.hasFail && st.failMsg != "" {
				msg += ": " + st.failMsg
			}
			return fail(errors.New(msg))
		}
	}
	for k := KindPricing; k <= KindTransform; k++ {
		if p.shape.entries[k] {
			inst.entry[k] = mod.ExportedFunction(k.Entry())
		}
	}
	p.mu.Lock()
	if p.freed {
		p.mu.Unlock()
		return fail(ErrClosed)
	}
	p.live[inst] = struct{}{}
	p.mu.Unlock()
	p.stats.started.Add(1)
	return inst, nil
}

func (p *Plugin) initError(st *callState, what string, err error) error {
	if st.reason != 0 {
		return fmt.Errorf("%s: %s", what, st.detail)
	}
	if st.inst.mem.refused {
		return fmt.Errorf("%s: tried to grow memory past the limit of %d MiB", what, p.limits.MemoryMiB)
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%s: did not finish within the init deadline of %s", what, p.limits.InitTimeout)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%s: canceled", what)
		}
	}
	return fmt.Errorf("%s failed: %s", what, firstLine(err.Error()))
}

var emptyInput Input

// Call runs the entry point of kind on a pooled instance, with in as its
// input, under the call deadline (Limits.Timeout). It waits for a free
// instance as long as ctx allows.
//
// A nil error means the plugin returned OK, PASS or DENY (Result.Status).
// Any other outcome is an ERROR, returned as a *CallError whose Reason the
// caller can test with errors.Is; the caller then applies on_error. An
// instance that trapped, timed out, broke a limit or passed a bad pointer is
// discarded and replaced by a fresh one when next needed.
func (p *Plugin) Call(ctx context.Context, kind Kind, in *Input) (Result, error) {
	if !p.acquire() {
		return Result{}, fmt.Errorf("plugin %q: %w", p.name, ErrClosed)
	}
	defer p.release()
	if kind < KindPricing || kind > KindTransform || !p.shape.entries[kind] {
		return Result{}, fmt.Errorf("plugin %q: %w: %s", p.name, ErrUnsupported, kind)
	}
	if in == nil {
		in = &emptyInput
	}
	p.stats.calls.Add(1)
	if err := ctx.Err(); err != nil {
		// Calling with a done context would make wazero close the instance.
		return Result{}, p.countErr(&CallError{Plugin: p.name, Kind: kind, Reason: ErrCanceled, Err: err,
			Detail: "the caller's context ended before the call started"})
	}
	inst, err := p.borrow(ctx, kind)
	if err != nil {
		return Result{}, p.countErr(err)
	}

	st := &inst.st
	inst.mem.refused = false
	cctx, cancel := context.WithTimeout(ctx, p.limits.timeout(kind))
	st.begin(ctx, phaseCall, kind, kind.Entry(), in)
	err = inst.entry[kind].CallWithStack(context.WithValue(cctx, stateKey{}, st), inst.stack)
	expired := cctx.Err() != nil
	cancel()
	st.end()

	res, cerr := p.finish(inst, st, kind, err)
	st.release()
	switch {
	case cerr != nil && cerr.Reason.discards():
		p.discard(inst)
	case expired:
		// The deadline passed as the call returned: wazero may close the
		// module at any moment, so do not reuse it.
		p.discard(inst)
	default:
		p.pool <- inst
	}
	if cerr != nil {
		return Result{}, p.countErr(cerr)
	}
	return res, nil
}

func (p *Plugin) countErr(err error) error {
	var ce *CallError
	if errors.As(err, &ce) {
		p.stats.errors[ce.Reason].Add(1)
	}
	return err
}

// finish turns the outcome of an entry point into a Result or a CallError.
func (p *Plugin) finish(inst *instance, st *callState, kind Kind, err error) (Result, *CallError) {
	status := int32(inst.stack[0])
	var (
		reason Reason
		detail string
	)
	switch {
	case st.reason != 0:
		reason, detail = st.reason, st.detail
	case inst.mem.refused:
		// The guest tried to grow past its limit. Whatever it did next
		// (trap, error, or even OK), the call fails and the instance goes.
		reason = ErrMemoryLimit
		detail = fmt.Sprintf("memory.grow past the limit of %d MiB", p.limits.MemoryMiB)
		if err != nil {
			detail += ", then: " + firstLine(err.Error())
		}
	case err != nil:
		reason, detail = ErrTrap, firstLine(err.Error())
		var exit *sys.ExitError
		if errors.As(err, &exit) {
			switch exit.ExitCode() {
			case sys.ExitCodeDeadlineExceeded:
				reason, detail = ErrTimeout, fmt.Sprintf("did not return within %s", p.limits.timeout(kind))
			case sys.ExitCodeContextCanceled:
				reason, detail = ErrCanceled, "the caller canceled the call"
			default:
				detail = fmt.Sprintf("module closed (exit code %d)", exit.ExitCode())
			}
		}
	case st.overflow:
		reason, detail = ErrOutputLimit, st.detail
	case status < 0 || status > int32(StatusDeny):
		reason, detail = ErrStatus, fmt.Sprintf("%s returned %d", kind.Entry(), status)
	case status == int32(StatusOK) && kind == KindPricing && !st.hasPrice:
		reason, detail = ErrMissingOutput, "tariff_price returned OK without calling set_price"
	case status == int32(StatusOK) && kind == KindFreeCall && !st.hasFreeCall:
		reason, detail = ErrMissingOutput, "tariff_free_call returned OK without calling set_free_call"
	default:
		return p.result(st, Status(status)), nil
	}
	ce := &CallError{Plugin: p.name, Kind: kind, Reason: reason, Detail: detail, Err: err}
	if reason == ErrStatus {
		ce.Status = status
	}
	return Result{}, ce
}

func (p *Plugin) result(st *callState, s Status) Result {
	res := Result{Status: s, Logs: st.logs, LogsDropped: st.logsDropped}
	switch s {
	case StatusOK:
		p.stats.ok.Add(1)
		res.Price = st.price
		res.FreeCall, res.FreeCallsRemaining = st.allow, st.remaining
		res.Body, res.BodySet = st.body, st.hasBody
		if res.BodySet && res.Body == nil {
			res.Body = []byte{}
		}
		res.Meta = st.meta
	case StatusPass:
		p.stats.pass.Add(1)
	case StatusDeny:
		p.stats.deny.Add(1)
		res.Code = CodePermissionDenied
		if st.hasFail {
			if st.failCode > 0 && st.failCode <= 16 {
				res.Code = uint32(st.failCode)
			}
			res.Message = st.failMsg
		}
	}
	return res
}

// borrow takes an instance from the pool, starting one in an empty slot.
func (p *Plugin) borrow(ctx context.Context, kind Kind) (*instance, error) {
	var inst *instance
	select {
	case inst = <-p.pool:
	default:
		select {
		case inst = <-p.pool:
		case <-ctx.Done():
			return nil, &CallError{Plugin: p.name, Kind: kind, Reason: ErrBusy, Err: ctx.Err(),
				Detail: fmt.Sprintf("all %d instances stayed busy until the caller gave up", p.limits.Instances)}
		}
	}
	if inst != nil {
		return inst, nil
	}
	inst, err := p.startInstance(ctx, nil)
	if err != nil {
		p.pool <- nil
		return nil, &CallError{Plugin: p.name, Kind: kind, Reason: ErrInit, Detail: err.Error()}
	}
	return inst, nil
}

// discard closes an instance and leaves an empty slot in the pool.
func (p *Plugin) discard(inst *instance) {
	p.mu.Lock()
	delete(p.live, inst)
	p.mu.Unlock()
	_ = inst.mod.Close(context.Background())
	p.stats.discarded.Add(1)
	p.pool <- nil
}

func (p *Plugin) acquire() bool {
	p.refs.Add(1)
	if p.retired.Load() {
		p.release()
		return false
	}
	return true
}

func (p *Plugin) release() {
	if p.refs.Add(-1) == 0 {
		p.free()
	}
}

func (p *Plugin) free() {
	p.freeOnce.Do(func() {
		p.mu.Lock()
		p.freed = true
		live := p.live
		p.live = nil
		p.mu.Unlock()
		ctx := context.Background()
		for inst := range live {
			_ = inst.mod.Close(ctx)
		}
		_ = p.compiled.Close(ctx)
		p.rt.remove(p)
		close(p.done)
	})
}

// Retire stops new calls (they fail with ErrClosed) and releases the plugin
// when the last call in flight returns, at once if there is none. Hot reload
// retires the old version after swapping in the new one.
func (p *Plugin) Retire() {
	if p.retired.CompareAndSwap(false, true) {
		p.release()
	}
}

// Close retires the plugin and waits until its resources are released or
// ctx is done. Calls in flight finish normally; each is bounded by its
// deadline.
func (p *Plugin) Close(ctx context.Context) error {
	p.Retire()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("plugin %q: close: %w", p.name, ctx.Err())
	}
}

// Done is closed when the plugin's resources have been released.
func (p *Plugin) Done() <-chan struct{} { return p.done }

// Name returns the plugin's name (Options.Name or the name in tariff_info).
func (p *Plugin) Name() string { return p.name }

// Info returns what tariff_info declared.
func (p *Plugin) Info() Info {
	i := p.info
	i.Kinds = append([]Kind(nil), i.Kinds...)
	return i
}

// SHA256 returns the hex SHA-256 of the module, to tell versions apart.
func (p *Plugin) SHA256() string { return hex.EncodeToString(p.sum[:]) }

// Limits returns the limits in force, defaults filled in.
func (p *Plugin) Limits() Limits { return p.limits }

// Stats are a plugin's counters since Load, for metrics.
type Stats struct {
	Calls           uint64            // calls that reached an instance or failed waiting for one
	OK, Pass, Deny  uint64            // calls by status
	Errors          map[Reason]uint64 // ERROR outcomes by reason, every reason present
	Instances       int               // instances alive now
	Started         uint64            // instances started, replacements included
	Discarded       uint64            // instances discarded after a failure
	LogLines        uint64            // log lines emitted
	LogLinesDropped uint64            // log lines dropped by the caps
}

// Stats returns a snapshot of the plugin's counters.
func (p *Plugin) Stats() Stats {
	s := Stats{
		Calls:           p.stats.calls.Load(),
		OK:              p.stats.ok.Load(),
		Pass:            p.stats.pass.Load(),
		Deny:            p.stats.deny.Load(),
		Errors:          make(map[Reason]uint64, numReasons-1),
		Started:         p.stats.started.Load(),
		Discarded:       p.stats.discarded.Load(),
		LogLines:        p.stats.logLines.Load(),
		LogLinesDropped: p.stats.logsDropped.Load(),
	}
	for _, r := range Reasons() {
		s.Errors[r] = p.stats.errors[r].Load()
	}
	p.mu.Lock()
	s.Instances = len(p.live)
	p.mu.Unlock()
	return s
}
