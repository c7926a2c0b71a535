package escrow

import "sync"

// latest keeps, per key, the newest value this process has seen of some
// etcd state (by the revision it was read or written at). It lets the hot
// path skip a read: a stale entry is harmless, because the compare-and-swap
// made with it fails and returns the current value.
type latest[K comparable, V interface{ revision() int64 }] struct {
	m sync.Map // K -> V
}

func (l *latest[K, V]) get(k K) (V, bool) {
	if v, ok := l.m.Load(k); ok {
		return v.(V), true
	}
	var zero V
	return zero, false
}

// put stores v unless a newer value of k is already there.
func (l *latest[K, V]) put(k K, v V) {
	for {
		cur, loaded := l.m.LoadOrStore(k, v)
		if !loaded || cur.(V).revision() >= v.revision() || l.m.CompareAndSwap(k, cur, v) {
			return
		}
	}
}

func (l *latest[K, V]) forget(k K) { l.m.Delete(k) }

func (s *snapshot) revision() int64        { return s.rev }
func (c *prepaidCounters) revision() int64 { return c.rev }

// inflight counts, per key, the payments prepared and not yet committed
// in this process.
type inflight struct {
	mu sync.Mutex
	n  map[string]int
}

// enter counts one more for k and reports whether it is the only one.
func (f *inflight) enter(k string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = make(map[string]int)
	}
	f.n[k]++
	return f.n[k] == 1
}

func (f *inflight) leave(k string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[k]--; f.n[k] <= 0 {
		delete(f.n, k)
	}
}
