package conformance

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tariffd/tariff/plugins"
)

// vectorKind returns the kind a vector calls, or why it cannot be called.
func (s *suite) vectorKind(v Vector) (plugins.Kind, string) {
	switch {
	case v.Kind != 0 && !s.info.Has(v.Kind):
		return 0, fmt.Sprintf("kind %s: the plugin does not implement it", v.Kind)
	case v.Kind != 0:
		return v.Kind, ""
	case len(s.info.Kinds) == 1:
		return s.info.Kinds[0], ""
	}
	return 0, fmt.Sprintf(`"kind" is required: the plugin implements %s`, strings.Join(s.report.Plugin.Kinds, ", "))
}

// vectorProbes returns the vectors of the kinds checked, as probes.
func (s *suite) vectorProbes() []probe {
	var out []probe
	for _, v := range s.opts.Vectors {
		k, problem := s.vectorKind(v)
		if problem != "" || !slices.Contains(s.kinds, k) {
			continue
		}
		in := v.Input
		out = append(out, probe{label: fmt.Sprintf("vector %q", v.Name), kind: k, in: &in, atCap: len(in.Body) >= s.limits.BodyBytes})
	}
	return out
}

// vectors runs the author's golden vectors.
func (s *suite) vectors(p *plugins.Plugin) {
	if len(s.opts.Vectors) == 0 {
		s.set(checkVectors, Skip, "no vectors given (--vectors): only the generated requests were checked", "")
		return
	}
	var fails []string
	ran, other, stopped := 0, 0, ""
	for _, v := range s.opts.Vectors {
		k, problem := s.vectorKind(v)
		switch {
		case problem != "":
			fails = append(fails, fmt.Sprintf("vector %q: %s", v.Name, problem))
			ran++ // counted as run, and failed
			continue
		case !slices.Contains(s.kinds, k):
			other++
			continue
		}
		if why := s.stopped(); why != "" {
			if len(fails) == 0 {
				return // not run
			}
			stopped = "stopped: " + why
			break
		}
		in := v.Input
		o := s.call(p, probe{label: v.Name, kind: k, in: &in, atCap: len(in.Body) >= s.limits.BodyBytes})
		ran++
		if d := v.Expect.mismatch(o); d != "" {
			fails = append(fails, fmt.Sprintf("vector %q: got %s; %s", v.Name, o, d))
		}
	}
	if other > 0 {
		s.warn(checkVectors, fmt.Sprintf("%s of other kinds not run (--kind)", count(other, "vector")))
	}
	if len(fails) > 0 {
		reason := fmt.Sprintf("%d of %s failed; first: %s", len(fails), count(ran, "vector"), fails[0])
		if stopped != "" {
			fails = append(fails, stopped)
		}
		s.set(checkVectors, Fail, reason, "correct the plugin, or the vector if the plugin is right; tariffd answers exactly as shown", fails...)
		return
	}
	s.pass(checkVectors, fmt.Sprintf("%s gave the expected answers", count(ran, "vector")))
}

// adversarialFixes say how to avoid each ERROR reason the adversarial
// check fails on.
var adversarialFixes = map[plugins.Reason]string{
	plugins.ErrTrap:          "check every accessor's answer before using it: -1 absent, -2 not available, n larger than the buffer: call again with n bytes; never index past what the host wrote",
	plugins.ErrBadPointer:    "give the host only buffers inside memory: after a too-small read, grow the buffer to the returned length before calling again",
	plugins.ErrExit:          "do not exit: return a status instead (in Go, no os.Exit or unrecovered panic)",
	plugins.ErrMissingOutput: "call set_price (pricing) or set_free_call (free_call) before returning OK, or return PASS to decline",
	plugins.ErrInit:          "a replacement instance failed to start: make _initialize and tariff_init depend only on the config",
	plugins.ErrCanceled:      "the call was canceled",
	plugins.ErrBusy:          "no instance was free",
}

// acceptable reports whether an ERROR reason is a status for the
// adversarial check: a negative status is the plugin's own answer; memory
// and output limits are judged by the resource checks.
func acceptable(r plugins.Reason) bool {
	return r == plugins.ErrStatus || r == plugins.ErrMemoryLimit || r == plugins.ErrOutputLimit
}

// adversarial sends the typical requests, then the hostile ones: every one
// must get a status, never a trap or a timeout.
func (s *suite) adversarial(p *plugins.Plugin, typ []probe) {
	probes := append(slices.Clone(typ), adversarial(s.kinds, s.hints, s.limits.BodyBytes)...)
	var (
		bad     []string
		first   plugins.Reason
		counts  = map[string]int{}
		stopped string
	)
	for _, pr := range probes {
		if why := s.stopped(); why != "" {
			stopped = why
			break
		}
		o := s.call(p, pr)
		s.sample(p)
		switch {
		case !o.isErr:
			counts[o.status.String()]++
		case acceptable(o.reason):
			counts["ERROR "+o.reason.String()]++
		default:
			if first == 0 {
				first = o.reason
			}
			bad = append(bad, fmt.Sprintf("%s: %s", pr.label, o))
		}
		if len(bad) >= maxFailures {
			stopped = fmt.Sprintf("%d requests failed", len(bad))
			break
		}
	}
	if len(bad) > 0 {
		fix := adversarialFixes[first]
		if first == plugins.ErrTimeout {
			var deadlines []string
			for _, k := range s.kinds {
				deadlines = append(deadlines, fmt.Sprintf("%s %s", k, s.deadlineOf(k)))
			}
			fix = "bound the work of a call by the size of its input: the call deadline is " + strings.Join(deadlines, ", ")
		}
		reason := fmt.Sprintf("%d of %s ended in a trap, timeout or other failure instead of a status", len(bad), count(len(probes), "request"))
		if stopped != "" {
			bad = append(bad, "stopped: "+stopped)
		}
		s.set(checkAdversarial, Fail, reason, fix, bad...)
		return
	}
	if stopped != "" {
		return // not run to the end, with nothing wrong so far
	}
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	s.pass(checkAdversarial, fmt.Sprintf("%d requests (typical; absent, empty, invalid UTF-8 and 64 KiB values; buffer-size edges; odd metadata; empty and %s bodies) all got a status: %s",
		len(probes), fmtBytes(uint64(s.limits.BodyBytes)), strings.Join(parts, ", ")))
}

// latency times the typical requests and the vectors of each kind on a
// warm instance: rounds of calls, the median round judged.
func (s *suite) latency(p *plugins.Plugin, corpus []probe) {
	var (
		fails   []string
		reasons []string
	)
	for _, k := range s.kinds {
		var inputs []probe
		for _, pr := range corpus {
			if pr.kind == k {
				inputs = append(inputs, pr)
			}
		}
		if len(inputs) == 0 {
			continue
		}
		budget, deadline := s.opts.LatencyBudget, s.deadlineOf(k)
		if budget == 0 {
			budget = deadline / 4
		}
		var p50s, p99s, maxs []time.Duration
		timeouts := 0
		for r := 0; r < latencyRounds; r++ {
			ds := make([]time.Duration, 0, latencyCalls)
			for i := 0; i < latencyCalls; i++ {
				if s.stopped() != "" {
					return // not run
				}
				t0 := time.Now()
				o := s.call(p, inputs[i%len(inputs)])
				ds = append(ds, time.Since(t0))
				if o.isErr && o.reason == plugins.ErrTimeout {
					timeouts++
				}
			}
			slices.Sort(ds)
			p50s = append(p50s, ds[len(ds)/2])
			p99s = append(p99s, ds[(len(ds)*99+99)/100-1])
			maxs = append(maxs, ds[len(ds)-1])
		}
		cm := CallMetrics{Kind: k.String(), P50: Duration(median(p50s)), P99: Duration(median(p99s)), Max: Duration(median(maxs)),
			Budget: Duration(budget), Deadline: Duration(deadline), Calls: latencyRounds * latencyCalls}
		s.report.Metrics.Calls = append(s.report.Metrics.Calls, cm)
		line := fmt.Sprintf("%s p50 %s, p99 %s, max %s", k, cm.P50, cm.P99, cm.Max)
		switch {
		case timeouts > 0:
			fails = append(fails, fmt.Sprintf("%s: %d of %d calls timed out (deadline %s)", k, timeouts, cm.Calls, deadline))
		case time.Duration(cm.P99) > budget:
			fails = append(fails, fmt.Sprintf("%s: p99 %s is over the budget of %s (%s)", k, cm.P99, fmtDuration(budget), line))
		default:
			reasons = append(reasons, fmt.Sprintf("%s, within %s", line, fmtDuration(budget)))
		}
	}
	if len(fails) > 0 {
		s.set(checkLatency, Fail, fails[0],
			"do less per call: parse the config once in tariff_init, avoid reflection and encoding/json per call, read only the fields you need", fails...)
		return
	}
	s.pass(checkLatency, strings.Join(reasons, "; ")+fmt.Sprintf(" (median of %d rounds of %d calls)", latencyRounds, latencyCalls))
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// memory makes memoryCalls calls on one fresh instance and watches its
// memory, then answers the corpus once more: the warmest answers, for the
// determinism check.
func (s *suite) memory(corpus []probe) []outcome {
	p, _, err := s.load(s.rt, 1)
	if err != nil {
		s.set(checkInit, Fail, "the plugin started before, then failed to start: "+loadError(err),
			"make _initialize and tariff_init depend only on the config")
		return nil
	}
	defer p.Close(context.WithoutCancel(s.ctx))
	samples := []uint32{s.sample(p)}
	errs := map[string]int{}
	t0 := time.Now()
	done, cut := 0, ""
	for i := 0; i < memoryCalls; i++ {
		if s.stopped() != "" {
			return nil // not run
		}
		if time.Since(t0) > memoryBudget {
			cut = fmt.Sprintf("the calls took more than %s", memoryBudget)
			break
		}
		o := s.call(p, corpus[i%len(corpus)])
		if o.logs > 0 {
			s.mu.Lock()
			s.logCalls++
			s.mu.Unlock()
		}
		if o.isErr {
			errs[o.reason.String()]++
		}
		done++
		if done%sampleEvery == 0 {
			samples = append(samples, s.sample(p))
		}
	}
	s.plateau = &plateau{samples: samples, calls: done, cut: cut, errors: errs}
	warm := make([]outcome, len(corpus))
	for i, pr := range corpus {
		warm[i] = s.call(p, pr)
	}
	s.sample(p)
	return warm
}

const (
	sampleEvery = 100
	// growthShare: memory may grow by 1/growthShare of memory_mib over the
	// last half of the memory run. A garbage-collected runtime grows its
	// heap for a long time before it settles (Go's heap goal is at least
	// 4 MiB; measured, Go plugins grow 26 to 200 bytes a call for 50,000 to
	// 160,000 calls, then stop), so only a faster leak is told apart from a
	// collector in 10,000 calls.
	growthShare = 8
)

// plateau is what the memory run saw: the memory after the start and after
// every sampleEvery calls.
type plateau struct {
	samples []uint32
	calls   int
	cut     string
	errors  map[string]int // ERROR outcomes by reason
}

// growth is how much memory grew from sample i on. An ERROR that discards
// the instance replaces it with a fresh one, whose memory starts again:
// only the rises count.
func (pl *plateau) growth(i int) uint64 {
	var pages uint64
	for ; i+1 < len(pl.samples); i++ {
		if pl.samples[i+1] > pl.samples[i] {
			pages += uint64(pl.samples[i+1] - pl.samples[i])
		}
	}
	return pages * 64 << 10
}

// resources judges the memory, output and log checks on everything the
// calls so far recorded.
func (s *suite) resources() {
	limit := uint64(s.limits.MemoryMiB) << 20
	peak := uint64(s.peakPages) * 64 << 10
	switch pl := s.plateau; {
	case len(s.memHits) > 0:
		s.set(checkMemoryUse, Fail, fmt.Sprintf("%s reached the memory limit of %d MiB; first: %s", count(len(s.memHits), "call"), s.limits.MemoryMiB, s.memHits[0]),
			"bound what a call allocates by the size of its input, or raise memory_mib", s.memHits...)
	case pl == nil:
	case pl.calls < 10*sampleEvery:
		s.set(checkMemoryUse, Pass, fmt.Sprintf("peak %s of the %d MiB limit", fmtBytes(peak), s.limits.MemoryMiB), "")
		s.warn(checkMemoryUse, fmt.Sprintf("only %d calls ran (%s): too few to tell whether memory stops growing", pl.calls, pl.cut))
	default:
		half := len(pl.samples) / 2
		grown := pl.growth(half)
		tolerance := limit / growthShare
		var trail []string
		for i := 0; i < len(pl.samples); i += 1000 / sampleEvery {
			trail = append(trail, fmtBytes(uint64(pl.samples[i])*64<<10))
		}
		details := []string{"memory at the start and after every 1000 calls: " + strings.Join(trail, ", ")}
		if pl.cut != "" {
			details = append(details, fmt.Sprintf("stopped after %d calls: %s", pl.calls, pl.cut))
		}
		if len(pl.errors) > 0 {
			var errs []string
			for _, r := range slices.Sorted(maps.Keys(pl.errors)) {
				errs = append(errs, fmt.Sprintf("%s %d", r, pl.errors[r]))
			}
			details = append(details, "ERRORs during the run (an instance that failed was replaced, and its memory with it): "+strings.Join(errs, ", "))
		}
		last := pl.calls - half*sampleEvery
		if grown > tolerance {
			s.set(checkMemoryUse, Fail, fmt.Sprintf("memory kept growing: by %s over the last %d of %d calls, more than 1/%d of memory_mib",
				fmtBytes(grown), last, pl.calls, growthShare),
				"free what each call allocates; keep no per-request data in globals", details...)
			break
		}
		reason := fmt.Sprintf("peak %s of the %d MiB limit; flat over the last %d of %d calls", fmtBytes(peak), s.limits.MemoryMiB, last, pl.calls)
		if grown > 0 {
			reason = fmt.Sprintf("peak %s of the %d MiB limit; grew %s over the last %d of %d calls, within 1/%d of the limit (a garbage collector's heap settles slowly)",
				fmtBytes(peak), s.limits.MemoryMiB, fmtBytes(grown), last, pl.calls, growthShare)
		}
		s.set(checkMemoryUse, Pass, reason, "", details...)
		if pl.cut != "" {
			s.warn(checkMemoryUse, fmt.Sprintf("only %d of %d calls ran: %s", pl.calls, memoryCalls, pl.cut))
		}
		if peak > limit*3/4 {
			s.warn(checkMemoryUse, fmt.Sprintf("the peak is %d%% of memory_mib: a larger request may reach it", peak*100/limit))
		}
	}
	if s.plateau == nil && len(s.outHits) == 0 && len(s.logHits) == 0 {
		return // the run stopped before the memory run: too few calls to judge
	}
	if len(s.outHits) > 0 {
		s.set(checkOutput, Fail, fmt.Sprintf("%s went over an output cap; first: %s", count(len(s.outHits), "call"), s.outHits[0]),
			fmt.Sprintf("stop writing when body_write or meta_set returns -1 (caps: body %s, metadata 64 KiB per call), and return an ERROR status or DENY", fmtBytes(uint64(s.limits.BodyBytes))),
			s.outHits...)
	} else if slices.Contains(s.kinds, plugins.KindTransform) {
		s.pass(checkOutput, fmt.Sprintf("no call went over the output caps (body %s, metadata 64 KiB)", fmtBytes(uint64(s.limits.BodyBytes))))
	} else {
		s.pass(checkOutput, "no output caps apply: pricing and free_call write no body or metadata")
	}
	if len(s.logHits) > 0 {
		s.set(checkLogs, Fail, fmt.Sprintf("%s tried to log more than %d lines (the rest is dropped); first: %s", count(len(s.logHits), "call"), s.limits.LogLines, s.logHits[0]),
			fmt.Sprintf("log at most %d lines per call", s.limits.LogLines), s.logHits...)
		return
	}
	s.pass(checkLogs, fmt.Sprintf("no call tried to log more than %d lines", s.limits.LogLines))
	if pl := s.plateau; pl != nil && pl.calls > 0 && s.logCalls*2 > pl.calls {
		s.warn(checkLogs, fmt.Sprintf("%d%% of calls log: tariffd keeps %g lines per second per plugin, so under load most are dropped; log per call only at debug level or on errors",
			s.logCalls*100/pl.calls, s.limits.LogRate))
	}
}

// instances answers the corpus on fresh instances, on warm ones in order
// and shuffled, and from parallel callers, and compares every answer with
// the first. It returns the reference answers.
func (s *suite) instances(corpus []probe, warm []outcome) []outcome {
	n := min(max(freshMemoryMiB/int(s.limits.MemoryMiB), parallelWorkers), 16)
	n = min(n, max(len(corpus), parallelWorkers))
	if time.Duration(s.report.Metrics.Init) > 100*time.Millisecond {
		n = parallelWorkers // slow starts: fewer fresh instances
	}
	p, t, err := s.load(s.rt, n)
	if err != nil {
		s.set(checkInit, Fail, fmt.Sprintf("the plugin started before, then failed to start %d instances: %s", n, loadError(err)),
			"make _initialize and tariff_init depend only on the config")
		return nil
	}
	defer p.Close(context.WithoutCancel(s.ctx))
	if one := time.Duration(s.report.Metrics.Init); n > 1 && t > one {
		s.report.Metrics.Init = Duration((t - one) / time.Duration(n-1))
	}

	ref := make([]outcome, len(corpus))
	fresh := min(n, len(corpus))
	for i := 0; i < fresh; i++ {
		ref[i] = s.call(p, corpus[i]) // each on an instance not used before: the pool is a FIFO
	}
	var diffs []string
	seen := make([]bool, len(corpus))
	compare := func(what string, i int, o outcome) {
		if !ref[i].same(o) && !seen[i] {
			seen[i] = true
			diffs = append(diffs, fmt.Sprintf("%s: %s answered %s, %s", corpus[i].label, what, o, refWhat(i, fresh, ref[i])))
		}
	}
	pass := func(order []int) []outcome {
		out := make([]outcome, len(corpus))
		for _, i := range order {
			out[i] = s.call(p, corpus[i])
		}
		return out
	}
	inOrder := make([]int, len(corpus))
	for i := range inOrder {
		inOrder[i] = i
	}
	first := pass(inOrder)
	for i, o := range first {
		if i < fresh {
			compare("a warm instance", i, o)
		} else {
			ref[i] = o
		}
	}
	for i, o := range pass(inOrder) {
		compare("a warm instance, second time", i, o)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := slices.Clone(inOrder)
	rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
	for i, o := range pass(shuffled) {
		compare("a warm instance, in shuffled order", i, o)
	}
	if s.stopped() != "" {
		return nil // not run
	}

	// Parallel callers, each in its own order.
	results := make([][]outcome, parallelWorkers)
	var wg sync.WaitGroup
	for w := range results {
		order := slices.Clone(inOrder)
		rand.New(rand.NewPCG(uint64(w)+3, 4)).Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]outcome, len(corpus))
			for round := 0; round < 2; round++ {
				for _, i := range order {
					o := s.call(p, corpus[i])
					if round == 0 || !o.same(ref[i]) {
						out[i] = o // keep a difference once seen
					}
				}
			}
			results[w] = out
		}()
	}
	wg.Wait()
	s.sample(p)
	for _, out := range results {
		for i, o := range out {
			compare(fmt.Sprintf("one of %d parallel callers", parallelWorkers), i, o)
		}
	}
	for i, o := range warm {
		compare(fmt.Sprintf("an instance after %d calls", s.plateau.calls), i, o)
	}

	if len(diffs) > 0 {
		sort.Strings(diffs)
		s.set(checkInstances, Fail, fmt.Sprintf("%s got different answers depending on the instance or the calls before; first: %s", count(len(diffs), "request"), diffs[0]),
			"answer from the request alone: keep no state across calls in globals (counters, caches, the last request); tariffd quotes and charges on any instance", diffs...)
		return ref
	}
	s.pass(checkInstances, fmt.Sprintf("%s got the same answers on %d fresh instances, warm ones in order and shuffled, from %d parallel callers, and after %d calls",
		count(len(corpus), "request"), fresh, parallelWorkers, s.plateau.calls))
	return ref
}

func refWhat(i, fresh int, o outcome) string {
	if i < fresh {
		return "a fresh instance " + o.String()
	}
	return "the first warm call " + o.String()
}

// Variations of the WASI environment: the clocks and the random stream are
// constants in tariffd, but the random bytes are not part of the ABI, and a
// price that follows the clock is almost always a mistake.
var (
	randomVariation = plugins.WASIVariation{RandomSeed: 0x5eedcafef00d1234}
	clockVariation  = plugins.WASIVariation{ClockShift: 400*24*time.Hour + 7*time.Hour + 13*time.Minute + 17*time.Second + 123456789}
)

var errStopped = errors.New("stopped")

// environment answers the corpus again with other random bytes (a
// difference fails) and other clocks (a difference warns).
func (s *suite) environment(corpus []probe, ref []outcome) {
	if !s.facts.ImportsWASI {
		s.pass(checkEnvironment, "imports no WASI: there is no clock or random stream to depend on")
		return
	}
	run := func(v plugins.WASIVariation) (diffs []string, err error) {
		rt, err := s.newRuntime()
		if err != nil {
			return nil, err
		}
		defer rt.Close(context.WithoutCancel(s.ctx))
		if err := rt.VaryWASI(s.ctx, v); err != nil {
			return nil, err
		}
		p, _, err := s.load(rt, 1)
		if err != nil {
			return []string{"the plugin does not start: " + loadError(err)}, nil
		}
		defer p.Close(context.WithoutCancel(s.ctx))
		for i, pr := range corpus {
			if s.stopped() != "" {
				return nil, errStopped
			}
			if o := s.call(p, pr); !o.same(ref[i]) {
				diffs = append(diffs, fmt.Sprintf("%s: %s, instead of %s", pr.label, o, ref[i]))
			}
		}
		s.sample(p)
		return diffs, nil
	}
	random, err := run(randomVariation)
	if err == nil {
		var clock []string
		if clock, err = run(clockVariation); err == nil && len(clock) > 0 {
			s.warn(checkEnvironment, fmt.Sprintf("%s changed with the WASI clock, a constant in tariffd (2023-11-14T22:13:20Z): for the time of a request use REQUEST_TIME_UNIX_MS; first: %s",
				count(len(clock), "answer"), clock[0]))
		}
	}
	switch {
	case errors.Is(err, errStopped):
		return // not run
	case err != nil:
		s.set(checkEnvironment, Fail, "could not vary the WASI environment: "+err.Error(), "")
		return
	}
	if len(random) > 0 {
		s.set(checkEnvironment, Fail, fmt.Sprintf("%s changed with the bytes of random_get, which the ABI does not fix; first: %s", count(len(random), "answer"), random[0]),
			"use no randomness in answers: in Go, math/rand and the order of map iteration (sort the keys); in Rust, HashMap's RandomState", random...)
		return
	}
	s.pass(checkEnvironment, fmt.Sprintf("%s got the same answers with other random_get bytes and clocks", count(len(corpus), "request")))
}

// count says "1 call" or "2 calls".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
