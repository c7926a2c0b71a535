package host

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tariffd/tariff/pricing"
)

// snapshot is one configuration of the pricing pipeline. Calls hold it
// from start to end; a replaced snapshot is closed (its plugin versions
// retired) when the last call on it finishes.
type snapshot struct {
	policy  *pricing.Policy
	refs    atomic.Int64
	retired atomic.Bool
	once    sync.Once
	log     *slog.Logger
}

func (s *snapshot) release() {
	if s.refs.Add(-1) == 0 && s.retired.Load() {
		s.close()
	}
}

// close retires the snapshot's plugins in the background: the call whose
// release triggers it must not wait for module teardown.
func (s *snapshot) close() {
	s.once.Do(func() { go s.closeNow() })
}

func (s *snapshot) closeNow() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.policy.Close(ctx); err != nil {
		s.log.Warn("close replaced configuration", "err", err)
	}
}

// policies holds the current snapshot. acquire and swap never block calls.
type policies struct {
	cur atomic.Pointer[snapshot]
	log *slog.Logger
}

func newPolicies(p *pricing.Policy, log *slog.Logger) *policies {
	ps := &policies{log: log}
	ps.cur.Store(&snapshot{policy: p, log: log})
	return ps
}

// acquire returns the current snapshot, counted until release.
func (ps *policies) acquire() *snapshot {
	for {
		s := ps.cur.Load()
		s.refs.Add(1)
		if ps.cur.Load() == s {
			return s
		}
		// Swapped between the load and the count: try the new one.
		s.release()
	}
}

// swap makes p current; calls running on the old snapshot finish on it.
func (ps *policies) swap(p *pricing.Policy) {
	old := ps.cur.Swap(&snapshot{policy: p, log: ps.log})
	old.retired.Store(true)
	if old.refs.Load() == 0 {
		old.close()
	}
}

// current is the policy new calls get.
func (ps *policies) current() *pricing.Policy { return ps.cur.Load().policy }
