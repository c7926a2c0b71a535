package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Status is the verdict of one check.
type Status string

// Verdicts. A skipped check does not apply (no vectors were given) or could
// not run because an earlier check failed; only Fail fails the report.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Report is the outcome of Check.
type Report struct {
	Plugin PluginInfo `json:"plugin"`
	// Passed is true when no check failed: tariffd will load the plugin and
	// run it as the suite did.
	Passed  bool          `json:"passed"`
	Checks  []CheckResult `json:"checks"`
	Metrics Metrics       `json:"metrics"`
}

// PluginInfo describes the module checked. Name, Version, ABIMinor, Kinds
// and NeedsBody come from tariff_info, once the plugin started.
type PluginInfo struct {
	Name        string   `json:"name,omitempty"`
	Version     string   `json:"version,omitempty"`
	ABIMinor    int      `json:"abi_minor"`
	Kinds       []string `json:"kinds,omitempty"`
	NeedsBody   bool     `json:"needs_body"`
	SHA256      string   `json:"sha256"`
	ModuleBytes int      `json:"module_bytes"`
}

// CheckResult is the verdict of one named check ("static.imports", ...; the
// list is in README.md).
type CheckResult struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Reason says in one line what was found.
	Reason string `json:"reason"`
	// Fix says in one line what to change, when the check failed.
	Fix string `json:"fix,omitempty"`
	// Details lists the evidence: failing inputs, vectors, differences.
	Details []string `json:"details,omitempty"`
	// Warnings are worth knowing but do not fail the check.
	Warnings []string `json:"warnings,omitempty"`
}

// Metrics are the measurements of the run, like Shopify's function-runner
// prints them. Durations are in milliseconds in JSON.
type Metrics struct {
	ModuleBytes int `json:"module_bytes"`
	// Compile is the time to compile the module to machine code (once per
	// version: tariffd caches it).
	Compile Duration `json:"compile_ms"`
	// Init is the time to start one instance: instantiate, _initialize,
	// tariff_info and tariff_init.
	Init Duration `json:"init_ms"`
	// InitialMemoryBytes is the memory the module declares; PeakMemoryBytes
	// the largest any instance reached during the run; MemoryLimitBytes the
	// limit (memory_mib).
	InitialMemoryBytes uint64 `json:"initial_memory_bytes"`
	PeakMemoryBytes    uint64 `json:"peak_memory_bytes"`
	MemoryLimitBytes   uint64 `json:"memory_limit_bytes"`
	// Calls holds the call latency, per kind.
	Calls []CallMetrics `json:"calls,omitempty"`
	// TotalCalls is the number of calls the suite made.
	TotalCalls int `json:"total_calls"`
	// Elapsed is the duration of the whole run.
	Elapsed Duration `json:"elapsed_ms"`
}

// CallMetrics is the latency of one kind's entry point: the median over the
// rounds of each round's percentile.
type CallMetrics struct {
	Kind     string   `json:"kind"`
	P50      Duration `json:"p50_ms"`
	P99      Duration `json:"p99_ms"`
	Max      Duration `json:"max_ms"`
	Budget   Duration `json:"budget_ms"`
	Deadline Duration `json:"deadline_ms"`
	Calls    int      `json:"calls"`
}

// Duration is a time.Duration written in JSON as milliseconds.
type Duration time.Duration

// MarshalJSON writes d in milliseconds, to the nanosecond.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(d)/float64(time.Millisecond), 'f', -1, 64), nil
}

// UnmarshalJSON reads milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return err
	}
	*d = Duration(math.Round(ms * float64(time.Millisecond)))
	return nil
}

func (d Duration) String() string { return fmtDuration(time.Duration(d)) }

// Check returns the check with the given name, or nil.
func (r *Report) Check(name string) *CheckResult {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

// Failed returns the names of the checks that failed.
func (r *Report) Failed() []string {
	var names []string
	for _, c := range r.Checks {
		if c.Status == Fail {
			names = append(names, c.Name)
		}
	}
	return names
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people: what the plugin is, the
// measurements, one line per check with its reason, and for failed checks
// the fix and the evidence.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	p, m := r.Plugin, r.Metrics
	if p.Name != "" {
		fmt.Fprintf(&b, "plugin   %s %s: %s, ABI v1.%d", p.Name, p.Version, strings.Join(p.Kinds, ", "), p.ABIMinor)
		if p.NeedsBody {
			b.WriteString(", needs_body")
		}
		b.WriteByte('\n')
	}
	size := fmt.Sprintf("%d bytes", p.ModuleBytes)
	if p.ModuleBytes >= 1<<10 {
		size += " (" + fmtBytes(uint64(p.ModuleBytes)) + ")"
	}
	fmt.Fprintf(&b, "module   %s, sha256 %s\n", size, p.SHA256)
	if m.Compile > 0 || m.Init > 0 {
		fmt.Fprintf(&b, "start    compile %s, init %s per instance\n", m.Compile, m.Init)
	}
	if m.MemoryLimitBytes > 0 {
		fmt.Fprintf(&b, "memory   initial %s, peak %s, limit %s\n",
			fmtBytes(m.InitialMemoryBytes), fmtBytes(m.PeakMemoryBytes), fmtBytes(m.MemoryLimitBytes))
	}
	for _, c := range m.Calls {
		fmt.Fprintf(&b, "calls    %-9s p50 %s  p99 %s  max %s  (budget %s, deadline %s)\n",
			c.Kind, c.P50, c.P99, c.Max, c.Budget, c.Deadline)
	}
	b.WriteByte('\n')
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.Name))
	}
	failed := 0
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%-4s  %-*s  %s\n", strings.ToUpper(string(c.Status)), width, c.Name, c.Reason)
		indent := strings.Repeat(" ", width+8)
		if c.Status == Fail {
			failed++
			if c.Fix != "" {
				fmt.Fprintf(&b, "%sfix: %s\n", indent, c.Fix)
			}
			for _, d := range c.Details {
				fmt.Fprintf(&b, "%s- %s\n", indent, d)
			}
		}
		for _, wn := range c.Warnings {
			fmt.Fprintf(&b, "%swarning: %s\n", indent, wn)
		}
	}
	b.WriteByte('\n')
	if r.Passed {
		fmt.Fprintf(&b, "PASS: %d checks passed", countStatus(r.Checks, Pass))
		if n := countStatus(r.Checks, Skip); n > 0 {
			fmt.Fprintf(&b, ", %d skipped", n)
		}
		fmt.Fprintf(&b, " (%d calls in %s)\n", m.TotalCalls, m.Elapsed)
	} else {
		fmt.Fprintf(&b, "FAIL: %d of %d checks failed: %s\n", failed, len(r.Checks), strings.Join(r.Failed(), ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func countStatus(cs []CheckResult, s Status) int {
	n := 0
	for _, c := range cs {
		if c.Status == s {
			n++
		}
	}
	return n
}

// fmtBytes formats a size for people, with one decimal above 1 KiB.
func fmtBytes(n uint64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
}

// fmtDuration rounds a duration to about three significant digits.
func fmtDuration(d time.Duration) string {
	unit := time.Duration(1)
	for v := d; v >= 1000; v /= 10 {
		unit *= 10
	}
	return d.Round(unit).String()
}
