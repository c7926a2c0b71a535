// Package etcdfault wraps an etcd KV so that tests can inject the failures
// a payment store must survive (a write that lands but times out, one that
// never lands, etcd unreachable) and races (another writer between a read
// and a compare-and-swap). It is for tests; nothing in the daemon uses it.
package etcdfault

import (
	"context"
	"sync/atomic"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrInjected is what a failed request returns: etcd's timeout status.
var ErrInjected = status.Error(codes.DeadlineExceeded, "injected: context deadline exceeded")

// Hook runs in place of a transaction's commit; commit sends it to etcd.
type Hook func(commit func() (*clientv3.TxnResponse, error)) (*clientv3.TxnResponse, error)

// Landed is a write that reaches etcd, while its caller sees a timeout.
func Landed(commit func() (*clientv3.TxnResponse, error)) (*clientv3.TxnResponse, error) {
	if _, err := commit(); err != nil {
		return nil, err
	}
	return nil, ErrInjected
}

// Lost is a write that times out before it reaches etcd.
func Lost(func() (*clientv3.TxnResponse, error)) (*clientv3.TxnResponse, error) {
	return nil, ErrInjected
}

// Before runs f, then commits: f plays another writer racing the caller.
func Before(f func()) Hook {
	return func(commit func() (*clientv3.TxnResponse, error)) (*clientv3.TxnResponse, error) {
		f()
		return commit()
	}
}

// KV is a clientv3.KV with faults. A transaction is a write when its Then
// branch puts or deletes; other transactions and Gets are reads.
type KV struct {
	clientv3.KV
	hooks      atomic.Pointer[[]Hook] // for the next writes, in order
	readsDown  atomic.Pointer[error]
	writesDown atomic.Pointer[error]
	txns       atomic.Int32
	writes     atomic.Int32
}

// New wraps kv.
func New(kv clientv3.KV) *KV { return &KV{KV: kv} }

// OnNextWrites runs hooks in place of the commits of the next writes, one
// per write.
func (k *KV) OnNextWrites(hooks ...Hook) { k.hooks.Store(&hooks) }

// Down makes every request fail with err (nil: etcd is back).
func (k *KV) Down(err error) { k.ReadsDown(err); k.WritesDown(err) }

// ReadsDown makes Gets and read transactions fail with err (nil: back).
func (k *KV) ReadsDown(err error) { k.readsDown.Store(errPtr(err)) }

// WritesDown makes write transactions fail with err, without landing (nil: back).
func (k *KV) WritesDown(err error) { k.writesDown.Store(errPtr(err)) }

// Txns counts committed or failed transactions, reads included.
func (k *KV) Txns() int { return int(k.txns.Load()) }

// Writes counts write transactions.
func (k *KV) Writes() int { return int(k.writes.Load()) }

func errPtr(err error) *error {
	if err == nil {
		return nil
	}
	return &err
}

// Get reads unless reads are down.
func (k *KV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if err := k.readsDown.Load(); err != nil {
		return nil, *err
	}
	return k.KV.Get(ctx, key, opts...)
}

// Txn returns a transaction whose commit the faults apply to.
func (k *KV) Txn(ctx context.Context) clientv3.Txn { return &txn{Txn: k.KV.Txn(ctx), k: k} }

// nextHook takes the hook for the next write, if any.
func (k *KV) nextHook() Hook {
	for {
		cur := k.hooks.Load()
		if cur == nil || len(*cur) == 0 {
			return nil
		}
		rest := (*cur)[1:]
		if k.hooks.CompareAndSwap(cur, &rest) {
			return (*cur)[0]
		}
	}
}

type txn struct {
	clientv3.Txn
	k     *KV
	write bool
}

func (t *txn) If(c ...clientv3.Cmp) clientv3.Txn  { t.Txn = t.Txn.If(c...); return t }
func (t *txn) Else(o ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(o...); return t }

func (t *txn) Then(o ...clientv3.Op) clientv3.Txn {
	for _, op := range o {
		t.write = t.write || op.IsPut() || op.IsDelete()
	}
	t.Txn = t.Txn.Then(o...)
	return t
}

func (t *txn) Commit() (*clientv3.TxnResponse, error) {
	t.k.txns.Add(1)
	if !t.write {
		if err := t.k.readsDown.Load(); err != nil {
			return nil, *err
		}
		return t.Txn.Commit()
	}
	t.k.writes.Add(1)
	if err := t.k.writesDown.Load(); err != nil {
		return nil, *err
	}
	if h := t.k.nextHook(); h != nil {
		return h(t.Txn.Commit)
	}
	return t.Txn.Commit()
}
