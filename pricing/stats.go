package pricing

import (
	"fmt"

	"github.com/tariffd/tariff/plugins"
)

// Outcome is what came of asking one plugin rule, for metrics.
type Outcome uint8

// Outcomes of a plugin rule.
const (
	OutcomeOK       Outcome = iota // the plugin decided
	OutcomePass                    // PASS: the built-in answer applied
	OutcomeDeny                    // DENY: the call was refused by the plugin
	OutcomeError                   // ERROR under on_error deny, or the caller's context ended: refused
	OutcomeFallback                // ERROR under on_error fallback: the built-in answer applied
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "pass", "deny", "error", "fallback"}

// Outcomes lists every Outcome, for metrics that want all labels up front.
func Outcomes() []Outcome {
	os := make([]Outcome, numOutcomes)
	for i := range os {
		os[i] = Outcome(i)
	}
	return os
}

// String is a short label ("fallback"), suitable for metrics.
func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// RuleStats counts the decisions of one rule.
type RuleStats struct {
	Name      string
	Kind      plugins.Kind
	Decisions map[Outcome]uint64 // every Outcome present
}

// Stats are a Policy's counters since NewPolicy. Each snapshot counts from
// zero; the plugins' own counters (by error reason, instances) are in
// plugins.Plugin.Stats.
type Stats struct {
	// Rules in configuration order.
	Rules []RuleStats
	// Unmatched counts, by kind, the questions no rule's Methods selected:
	// the Table or the built-in rule answered them, or nothing changed.
	Unmatched map[plugins.Kind]uint64
}

// Stats returns a snapshot of the Policy's counters.
func (p *Policy) Stats() Stats {
	s := Stats{Rules: make([]RuleStats, len(p.rules)), Unmatched: make(map[plugins.Kind]uint64, numKinds-1)}
	for i, ru := range p.rules {
		rs := RuleStats{Name: ru.name, Kind: ru.kind, Decisions: make(map[Outcome]uint64, numOutcomes)}
		for o := range numOutcomes {
			rs.Decisions[o] = ru.counts[o].Load()
		}
		s.Rules[i] = rs
	}
	for k := plugins.KindPricing; k <= plugins.KindTransform; k++ {
		s.Unmatched[k] = p.unmatched[k].Load()
	}
	return s
}
