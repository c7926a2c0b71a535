package conformance

import "time"

// SetSuiteBudget sets the time budget of a run, for a test; the returned
// function restores it.
func SetSuiteBudget(d time.Duration) (restore func()) {
	old := suiteBudget
	suiteBudget = d
	return func() { suiteBudget = old }
}
