package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tariffd/tariff/plugins"
)

// Options configure Check. The zero value checks a plugin that needs no
// config, with tariffd's default limits and no vectors.
type Options struct {
	// Kinds to check. Empty: every kind tariff_info declares.
	Kinds []plugins.Kind
	// Config is the plugin's configuration as JSON: what tariffd makes of the
	// HCL config block. Nil: none (the guest's config call answers -1).
	Config []byte
	// Vectors are the author's golden test cases.
	Vectors []Vector
	// Limits are the plugin's limits, as in its HCL limits block; zero fields
	// take tariffd's defaults. Instances is ignored: the suite chooses how
	// many instances each step needs.
	Limits plugins.Limits
	// LatencyBudget is the p99 a call may take. Zero: a quarter of the call
	// deadline (5ms for pricing and free_call, 25ms for transform), which
	// leaves room for a busy machine before calls fail.
	LatencyBudget time.Duration
}

// ErrOptions wraps the errors of Check about its options (not about the
// plugin): invalid config JSON, limits above tariffd's maxima, unknown
// kinds.
var ErrOptions = errors.New("invalid options")

// Names of the checks, in report order.
const (
	checkValid       = "static.valid"
	checkSize        = "static.size"
	checkThreads     = "static.threads"
	checkImports     = "static.imports"
	checkExports     = "static.exports"
	checkStart       = "static.start"
	checkMemory      = "static.memory"
	checkInit        = "init.start"
	checkInfo        = "init.info"
	checkVectors     = "vectors"
	checkAdversarial = "adversarial"
	checkMemoryUse   = "resources.memory"
	checkOutput      = "resources.output"
	checkLogs        = "resources.logs"
	checkInstances   = "determinism.instances"
	checkEnvironment = "determinism.environment"
	checkLatency     = "latency"
)

var checkOrder = []string{checkValid, checkSize, checkThreads, checkImports, checkExports, checkStart, checkMemory,
	checkInit, checkInfo, checkVectors, checkAdversarial, checkMemoryUse, checkOutput, checkLogs,
	checkInstances, checkEnvironment, checkLatency}

// Bounds of a run. A hostile plugin costs at most these, plus one call
// deadline or one Load.
// suiteBudget bounds the whole run (a variable for the tests).
var suiteBudget = 60 * time.Second

const (
	memoryCalls     = 10_000          // calls of the memory-plateau run
	memoryBudget    = 6 * time.Second // ... unless they take longer than this
	latencyRounds   = 5               // rounds of latencyCalls; the median round is judged
	latencyCalls    = 200
	maxDetails      = 10  // evidence lines per check
	maxFailures     = 25  // failing calls after which a step stops
	maxDiscards     = 200 // instances thrown away after which the run stops
	parallelWorkers = 4
	timeoutRetries  = 2   // a timeout is confirmed this many times
	freshMemoryMiB  = 256 // memory the fresh-instance step may reserve
)

// Check runs the conformance suite on a module (ABI v1 §8) and returns its
// report. It loads the plugin with exactly the runtime tariffd uses (package
// plugins: the same verification, limits, restricted WASI and deadlines), so
// a pass means tariffd will load the plugin and run it as the suite did.
//
// Problems of the plugin, however hostile, are reported in the Report, never
// returned: the error is for invalid options (wrapping ErrOptions), a done
// ctx, or a failure of the machine (no temporary directory).
func Check(ctx context.Context, wasm []byte, opts Options) (*Report, error) {
	s := &suite{
		ctx:     ctx,
		wasm:    wasm,
		opts:    opts,
		start:   time.Now(),
		results: map[string]*CheckResult{},
		logs:    &logCapture{},
	}
	s.deadline = s.start.Add(suiteBudget)
	sum := sha256.Sum256(wasm)
	s.report = &Report{Plugin: PluginInfo{SHA256: hex.EncodeToString(sum[:]), ModuleBytes: len(wasm)}}
	s.report.Metrics.ModuleBytes = len(wasm)
	if err := s.validate(); err != nil {
		return nil, err
	}
	err := s.run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return s.finish(), nil
}

func (s *suite) validate() error {
	if s.opts.Config != nil && !json.Valid(s.opts.Config) {
		return fmt.Errorf("%w: the config is not valid JSON", ErrOptions)
	}
	for _, k := range s.opts.Kinds {
		if k.Entry() == "" {
			return fmt.Errorf("%w: unknown kind %v", ErrOptions, k)
		}
	}
	if s.opts.LatencyBudget < 0 {
		return fmt.Errorf("%w: negative latency budget", ErrOptions)
	}
	if _, _, err := plugins.Verify(nil, s.opts.Limits); err != nil {
		return fmt.Errorf("%w: %v", ErrOptions, err)
	}
	return nil
}

// suite is one run of Check.
type suite struct {
	ctx      context.Context
	wasm     []byte
	opts     Options
	start    time.Time
	deadline time.Time
	report   *Report
	results  map[string]*CheckResult
	warnings map[string][]string
	notRun   string // why the checks not reached were not run
	logs     *logCapture

	facts    plugins.ModuleFacts
	info     plugins.Info
	kinds    []plugins.Kind
	limits   plugins.Limits // in force, defaults filled in
	hints    hints
	cacheDir string
	rt       *plugins.Runtime

	mu        sync.Mutex // guards the counters below, updated by parallel calls
	calls     int
	discards  int
	peakPages uint32
	memHits   []string // calls that reached the memory limit
	outHits   []string // calls that went over an output cap
	logHits   []string // calls that tried to log more than the per-call cap
	logCalls  int      // calls of the memory run that logged
	plateau   *plateau // the memory run, once made
	retried   []string // calls that timed out once, then answered in time
	current   string   // the check whose step is running
}

func (s *suite) set(name string, st Status, reason, fix string, details ...string) {
	if len(details) > maxDetails {
		more := len(details) - maxDetails
		details = append(details[:maxDetails:maxDetails], fmt.Sprintf("... and %d more", more))
	}
	s.results[name] = &CheckResult{Name: name, Status: st, Reason: reason, Fix: fix, Details: details}
}

func (s *suite) pass(name, reason string) { s.set(name, Pass, reason, "") }

func (s *suite) warn(name, w string) {
	if s.warnings == nil {
		s.warnings = map[string][]string{}
	}
	s.warnings[name] = append(s.warnings[name], w)
}

// stopped says why calls must stop, or "". The first reason is kept as
// the reason the checks not reached were not run.
func (s *suite) stopped() string {
	why := ""
	s.mu.Lock()
	d := s.discards
	s.mu.Unlock()
	switch {
	case s.ctx.Err() != nil:
		why = "canceled"
	case time.Now().After(s.deadline):
		why = fmt.Sprintf("the suite's time budget of %s ran out", suiteBudget)
	case d > maxDiscards:
		why = fmt.Sprintf("the plugin failed so often that %d instances were thrown away", d)
	}
	if why != "" && s.notRun == "" {
		s.notRun = why
	}
	return why
}

func (s *suite) run() error {
	if !s.static() {
		s.notRun = "the module fails the static checks, so tariffd refuses to load it"
		return nil
	}
	dir, err := os.MkdirTemp("", "tariff-conformance")
	if err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	s.cacheDir = dir
	defer os.RemoveAll(dir)
	rt, err := s.newRuntime()
	if err != nil {
		return err
	}
	s.rt = rt
	defer rt.Close(context.WithoutCancel(s.ctx))

	p1, ok := s.start1()
	if !ok {
		return nil
	}
	defer p1.Close(context.WithoutCancel(s.ctx))
	defer s.resources() // judged on every call made, however far the run got
	s.hints = newHints(s.opts.Vectors, s.opts.Config)
	typ := typical(s.kinds, s.hints)
	corpus := append(s.vectorProbes(), typ...)

	var warm, ref []outcome
	for _, step := range []struct {
		check string
		run   func() bool // false: stop here
	}{
		{checkVectors, func() bool { s.vectors(p1); return true }},
		{checkAdversarial, func() bool { s.adversarial(p1, typ); return true }},
		{checkLatency, func() bool { s.latency(p1, corpus); return true }},
		{checkMemoryUse, func() bool { warm = s.memory(corpus); return warm != nil }},
		{checkInstances, func() bool { ref = s.instances(corpus, warm); return ref != nil }},
		{checkEnvironment, func() bool { s.environment(corpus, ref); return true }},
	} {
		if s.stopped() != "" {
			return nil
		}
		s.current = step.check
		if !step.run() {
			return nil
		}
	}
	s.current = ""
	return nil
}

func (s *suite) newRuntime() (*plugins.Runtime, error) {
	rt, err := plugins.NewRuntime(s.ctx, plugins.RuntimeOptions{CacheDir: s.cacheDir, Logger: slog.New(s.logs)})
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	return rt, nil
}

// load loads the plugin on rt with the given pool size, as tariffd would.
func (s *suite) load(rt *plugins.Runtime, instances int) (*plugins.Plugin, time.Duration, error) {
	lim := s.opts.Limits
	lim.Instances = instances
	t0 := time.Now()
	p, err := rt.Load(s.ctx, s.wasm, plugins.Options{Config: s.opts.Config, Limits: lim})
	return p, time.Since(t0), err
}

// static runs the checks made before anything of the module runs.
func (s *suite) static() bool {
	facts, problems, _ := plugins.Verify(s.wasm, s.opts.Limits) // limits are valid: see validate
	s.facts = facts
	s.report.Metrics.InitialMemoryBytes = facts.InitialMemoryBytes
	s.peakPages = uint32(facts.InitialMemoryBytes >> 16)
	lim := s.opts.Limits
	if lim.ModuleBytes == 0 {
		lim.ModuleBytes = plugins.DefaultModuleBytes
	}
	if lim.MemoryMiB == 0 {
		lim.MemoryMiB = plugins.DefaultMemoryMiB
	}
	s.report.Metrics.MemoryLimitBytes = uint64(lim.MemoryMiB) << 20

	byCheck := map[string][]string{}
	for _, p := range problems {
		c := classify(p)
		byCheck[c] = append(byCheck[c], p)
	}
	fixes := map[string]string{
		checkValid:   "build with a WebAssembly toolchain: Go GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared; Rust --target wasm32-unknown-unknown",
		checkSize:    "shrink the module (Go: -ldflags='-s -w' or TinyGo; Rust: opt-level = \"z\", strip = true), or raise the module size limit",
		checkThreads: "build without threads: no shared memory or atomics (Rust: no +atomics target feature; C: no -pthread)",
		checkImports: "import only the tariff_v1 functions (ABI.md §3) with their exact signatures, and the WASI subset (§5): no files, sockets or other modules",
		checkExports: "export memory, tariff_abi_v1 () -> (), tariff_info () -> i64 and each entry point () -> i32 (ABI.md §2); a WASI module also exports _initialize; the SDKs do this for you",
		checkStart:   "build a reactor, not a command: Go and TinyGo -buildmode=c-shared; Rust crate-type = [\"cdylib\"]",
		checkMemory:  "define and export one 32-bit memory named \"memory\" whose initial size is within memory_mib, or raise memory_mib",
	}
	passes := map[string]string{
		checkValid:   "a WebAssembly module",
		checkSize:    fmt.Sprintf("%d bytes, within the limit of %d (%s)", len(s.wasm), lim.ModuleBytes, fmtBytes(uint64(lim.ModuleBytes))),
		checkThreads: "no shared memory",
		checkImports: describeImports(facts.Imports),
		checkExports: "exports " + strings.Join(abiExports(facts.Exports), ", "),
		checkStart:   "no _start: a reactor",
		checkMemory:  fmt.Sprintf("initial memory %s, within memory_mib = %d", fmtBytes(facts.InitialMemoryBytes), lim.MemoryMiB),
	}
	ok := true
	for _, c := range []string{checkValid, checkSize, checkThreads, checkImports, checkExports, checkStart, checkMemory} {
		if ps := byCheck[c]; len(ps) > 0 {
			ok = false
			reason := ps[0]
			if len(ps) > 1 {
				reason = fmt.Sprintf("%s (and %d more)", ps[0], len(ps)-1)
			}
			s.set(c, Fail, reason, fixes[c], ps...)
			continue
		}
		if _, unreadable := byCheck[checkValid]; unreadable && c != checkSize {
			continue // nothing could be read: not run
		}
		s.pass(c, passes[c])
	}
	return ok
}

// classify names the check a problem found by plugins.Verify belongs to.
func classify(p string) string {
	switch {
	case strings.HasPrefix(p, "module is "):
		return checkSize
	case strings.HasPrefix(p, "not a valid WebAssembly"):
		return checkValid
	case strings.Contains(p, "but does not export _initialize"):
		return checkExports
	case strings.HasPrefix(p, "imports "):
		return checkImports
	case strings.HasPrefix(p, "memory is shared"):
		return checkThreads
	case strings.HasPrefix(p, "exports _start"):
		return checkStart
	case strings.HasPrefix(p, "defines "), strings.HasPrefix(p, "memory is "),
		strings.HasPrefix(p, "initial memory"), strings.HasPrefix(p, "does not export its memory"):
		return checkMemory
	}
	return checkExports
}

func describeImports(imports []string) string {
	if len(imports) == 0 {
		return "imports nothing"
	}
	count := map[string]int{}
	var mods []string
	for _, im := range imports {
		mod, _, _ := strings.Cut(im, ".")
		if count[mod] == 0 {
			mods = append(mods, mod)
		}
		count[mod]++
	}
	parts := make([]string, len(mods))
	for i, m := range mods {
		parts[i] = fmt.Sprintf("%d from %s", count[m], m)
	}
	return "imports " + strings.Join(parts, ", ")
}

// abiExports lists the exports the ABI gives a meaning to.
func abiExports(exports []string) []string {
	known := []string{"memory", plugins.ABIMarker, "tariff_info", "_initialize", "tariff_init",
		plugins.KindPricing.Entry(), plugins.KindFreeCall.Entry(), plugins.KindTransform.Entry()}
	var out []string
	for _, k := range known {
		if slices.Contains(exports, k) {
			out = append(out, k)
		}
	}
	return out
}

// start1 loads the plugin for the first time (compiling it) and again
// (compiled), and runs the init checks. It returns the first plugin, with
// one instance.
func (s *suite) start1() (*plugins.Plugin, bool) {
	mark := s.logs.mark()
	p, cold, err := s.load(s.rt, 1)
	if err != nil {
		s.initFailed(err, s.logs.since(mark))
		return nil, false
	}
	s.limits = p.Limits()
	s.info = p.Info()
	info := s.info
	s.report.Plugin.Name, s.report.Plugin.Version, s.report.Plugin.ABIMinor = info.Name, info.Version, info.ABIMinor
	s.report.Plugin.NeedsBody = info.NeedsBody
	for _, k := range info.Kinds {
		s.report.Plugin.Kinds = append(s.report.Plugin.Kinds, k.String())
	}

	p2, warm, err := s.load(s.rt, 1)
	if err != nil {
		// It started once and not twice: its start depends on something
		// other than its module and config.
		s.set(checkInit, Fail, "the plugin started once, then failed to start again: "+loadError(err),
			"make _initialize and tariff_init depend only on the config", s.logs.since(mark)...)
		p.Close(context.WithoutCancel(s.ctx))
		return nil, false
	}
	p2.Close(context.WithoutCancel(s.ctx))
	compile := max(cold-warm, 0)
	s.report.Metrics.Compile = Duration(compile)
	s.report.Metrics.Init = Duration(warm)
	s.pass(checkValid, fmt.Sprintf("a valid WebAssembly module; compiled in %s", fmtDuration(compile)))
	s.pass(checkInit, fmt.Sprintf("%s within the init deadline of %s", startedWith(s.facts.Exports), s.limits.InitTimeout))

	kinds := info.Kinds
	if len(s.opts.Kinds) > 0 {
		var missing []string
		kinds = nil
		for _, k := range s.opts.Kinds {
			if !info.Has(k) {
				missing = append(missing, k.String())
			} else if !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
		if len(missing) > 0 {
			s.set(checkInfo, Fail, fmt.Sprintf("tariff_info declares %s, not %s", strings.Join(s.report.Plugin.Kinds, ", "),
				strings.Join(missing, ", ")), "check the kind: tariffd refuses a plugin block whose kind the module does not implement")
			p.Close(context.WithoutCancel(s.ctx))
			s.notRun = "the plugin does not implement the kind asked for"
			return nil, false
		}
	}
	s.kinds = kinds
	s.pass(checkInfo, fmt.Sprintf("%s %s: kinds %s, ABI v1.%d (this host: v1.%d), needs_body %t",
		info.Name, info.Version, strings.Join(s.report.Plugin.Kinds, ", "), info.ABIMinor, plugins.ABIMinor, info.NeedsBody))
	return p, true
}

// startedWith says what ran when an instance started.
func startedWith(exports []string) string {
	var ran []string
	for _, e := range []string{"_initialize", "tariff_init"} {
		if slices.Contains(exports, e) {
			ran = append(ran, e)
		}
	}
	if len(ran) == 0 {
		return "started (no _initialize or tariff_init to run)"
	}
	return strings.Join(ran, " and ") + " returned"
}

// initFailed classifies an error of the first Load.
func (s *suite) initFailed(err error, logs []string) {
	msg := loadError(err)
	var details []string
	for _, l := range logs {
		details = append(details, "plugin log: "+l)
	}
	switch {
	case strings.HasPrefix(msg, "invalid module: "):
		s.set(checkValid, Fail, "the compiler refuses the module: "+strings.TrimPrefix(msg, "invalid module: "),
			"build with a WebAssembly toolchain for WebAssembly 1.0 with the 2.0 features wazero supports (no threads, no exceptions, no GC)")
		s.notRun = "the module does not compile, so tariffd refuses to load it"
		return
	case strings.HasPrefix(msg, "tariff_info"):
		s.pass(checkValid, "a valid WebAssembly module")
		s.pass(checkInit, "_initialize returned within the init deadline")
		s.set(checkInfo, Fail, msg,
			`return {"name", "version", "abi_minor" (at most `+fmt.Sprint(plugins.ABIMinor)+`), "kinds" (exactly the exported entry points)} from tariff_info (ABI.md §2)`, details...)
	default:
		s.pass(checkValid, "a valid WebAssembly module")
		fix := "tariff_init must return 0: if it needs a config, give one (--config); its log says why it failed"
		if strings.Contains(msg, "init deadline") {
			fix = fmt.Sprintf("start faster: _initialize and tariff_init together must finish within the init deadline (%s); parse the config only", initTimeout(s.opts.Limits))
		}
		s.set(checkInit, Fail, msg, fix, details...)
	}
	s.notRun = "the plugin does not start, so tariffd refuses to load it"
}

func initTimeout(l plugins.Limits) time.Duration {
	if l.InitTimeout == 0 {
		return plugins.DefaultInitTimeout
	}
	return l.InitTimeout
}

// loadError returns what Load says is wrong, without the "invalid plugin
// NAME: " prefix.
func loadError(err error) string {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, plugins.ErrInvalid.Error()+" ")
	if !ok {
		return msg
	}
	name, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return msg
	}
	return strings.TrimPrefix(rest[len(name):], ": ")
}

// deadlineOf is the call deadline of kind k.
func (s *suite) deadlineOf(k plugins.Kind) time.Duration {
	if s.limits.Timeout > 0 {
		return s.limits.Timeout
	}
	if k == plugins.KindTransform {
		return plugins.DefaultTransformTimeout
	}
	return plugins.DefaultTimeout
}

// call runs one probe and records what the resource checks need.
//
// A timeout is the one outcome that depends on the machine as well as the
// plugin, so a call that times out is made again, up to timeoutRetries
// times: if it then answers in time, that answer counts and the report
// warns. A plugin that hangs times out every time.
func (s *suite) call(p *plugins.Plugin, pr probe) outcome {
	res, err := p.Call(s.ctx, pr.kind, pr.in)
	o := newOutcome(res, err)
	calls := 1
	for retry := 0; retry < timeoutRetries && o.isErr && o.reason == plugins.ErrTimeout && s.ctx.Err() == nil; retry++ {
		res, err = p.Call(s.ctx, pr.kind, pr.in)
		calls++
		if again := newOutcome(res, err); !again.isErr || again.reason != plugins.ErrTimeout {
			s.mu.Lock()
			s.discards += retry + 1
			s.retried = append(s.retried, pr.label)
			s.mu.Unlock()
			o = again
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls += calls
	if !o.isErr {
		if o.logs > s.limits.LogLines {
			s.logHits = append(s.logHits, fmt.Sprintf("%s: tried to log %d lines", pr.label, o.logs))
		}
		return o
	}
	switch o.reason {
	case plugins.ErrTrap, plugins.ErrTimeout, plugins.ErrCanceled, plugins.ErrMemoryLimit, plugins.ErrOutputLimit,
		plugins.ErrBadPointer, plugins.ErrExit, plugins.ErrInit:
		s.discards++
	}
	switch {
	case o.reason == plugins.ErrMemoryLimit:
		s.memHits = append(s.memHits, fmt.Sprintf("%s: %s", pr.label, o.detail))
	case o.reason == plugins.ErrOutputLimit && !pr.atCap:
		s.outHits = append(s.outHits, fmt.Sprintf("%s: %s", pr.label, o.detail))
	}
	return o
}

// sample records the memory of p's instances. Call it between calls.
func (s *suite) sample(p *plugins.Plugin) uint32 {
	var most uint32
	for _, pages := range p.MemoryPages() {
		most = max(most, pages)
	}
	s.mu.Lock()
	s.peakPages = max(s.peakPages, most)
	s.mu.Unlock()
	return most
}

// finish fills the checks not run and the metrics, and orders the report.
func (s *suite) finish() *Report {
	r := s.report
	r.Passed = true
	for _, name := range checkOrder {
		c := s.results[name]
		if c == nil {
			why := s.notRun
			if why == "" {
				why = "an earlier check failed"
			}
			c = &CheckResult{Name: name, Status: Skip, Reason: "not run: " + why}
		}
		c.Warnings = append(c.Warnings, s.warnings[name]...)
		if c.Status == Fail {
			r.Passed = false
		}
		r.Checks = append(r.Checks, *c)
	}
	if s.notRun != "" && r.Passed {
		// Something stopped the run without a check failing (the time
		// budget): the plugin is not proven fit. The step that was running
		// fails.
		for i := range r.Checks {
			c := &r.Checks[i]
			if c.Status == Skip && (c.Name == s.current || s.current == "") && strings.HasPrefix(c.Reason, "not run: ") {
				c.Status, c.Reason = Fail, "did not finish: "+strings.TrimPrefix(c.Reason, "not run: ")
				c.Fix = "make starts and calls faster: the suite stops after " + suiteBudget.String()
				r.Passed = false
				break
			}
		}
	}
	if n := len(s.retried); n > 0 {
		for i := range r.Checks {
			if r.Checks[i].Name == checkLatency {
				r.Checks[i].Warnings = append(r.Checks[i].Warnings, fmt.Sprintf("%s timed out, then answered in time when made again "+
					"(the machine was busy, or they run close to the deadline); first: %s", count(n, "call"), s.retried[0]))
			}
		}
	}
	r.Metrics.PeakMemoryBytes = uint64(s.peakPages) * 64 << 10
	r.Metrics.TotalCalls = s.calls
	r.Metrics.Elapsed = Duration(time.Since(s.start))
	return r
}

// logCapture is the slog handler of the plugins loaded by the suite: it
// keeps the first lines, for the report.
type logCapture struct {
	mu    sync.Mutex
	lines []string
	total int
}

const maxLogLines = 200

func (l *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (l *logCapture) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	if len(l.lines) < maxLogLines {
		l.lines = append(l.lines, fmt.Sprintf("%s %s", r.Level, cut(r.Message, 200)))
	}
	return nil
}

func (l *logCapture) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCapture) WithGroup(string) slog.Handler      { return l }

func (l *logCapture) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

func (l *logCapture) since(mark int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines[mark:])
}
