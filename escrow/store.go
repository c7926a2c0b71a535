package escrow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrStorage marks a failure to read or write the payment state. Callers
// refuse the call (fail closed); the payment is never served free.
var ErrStorage = errors.New("payment storage unavailable")

// DefaultRequestTimeout bounds every etcd request when the config sets none.
const DefaultRequestTimeout = 3 * time.Second

// Store keeps channel state in etcd under upstream's keys and gob values.
// It holds no lock keys: every change is one compare-and-swap on the key's
// mod revision, so a crash can never leave a channel stuck.
type Store struct {
	kv      clientv3.KV
	keys    Keys
	timeout time.Duration
}

// NewStore returns a store over kv (a *clientv3.Client, embedded or external).
func NewStore(kv clientv3.KV, keys Keys, requestTimeout time.Duration) *Store {
	if requestTimeout <= 0 {
		requestTimeout = DefaultRequestTimeout
	}
	return &Store{kv: kv, keys: keys, timeout: requestTimeout}
}

// Keys returns the key layout the store writes.
func (s *Store) Keys() Keys { return s.keys }

// Versioned is a stored value with the etcd mod revision it was read at.
// Rev 0 means the key was absent.
type Versioned struct {
	Raw []byte
	Rev int64
}

// Get reads one key.
func (s *Store) Get(ctx context.Context, key string) (Versioned, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.kv.Get(ctx, key)
	if err != nil {
		return Versioned{}, fmt.Errorf("%w: get %q: %w", ErrStorage, key, err)
	}
	if len(resp.Kvs) == 0 {
		return Versioned{}, nil
	}
	return Versioned{Raw: resp.Kvs[0].Value, Rev: resp.Kvs[0].ModRevision}, nil
}

// List reads every key under prefix.
func (s *Store) List(ctx context.Context, prefix string) (map[string]Versioned, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.kv.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("%w: list %q: %w", ErrStorage, prefix, err)
	}
	out := make(map[string]Versioned, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = Versioned{Raw: kv.Value, Rev: kv.ModRevision}
	}
	return out, nil
}

// Channel reads a channel's stored state; nil data with rev 0 when absent.
func (s *Store) Channel(ctx context.Context, id *big.Int) (*ChannelData, int64, error) {
	v, err := s.Get(ctx, s.keys.Channel(id))
	if err != nil || v.Rev == 0 {
		return nil, 0, err
	}
	ch, err := DecodeChannelData(v.Raw)
	if err != nil {
		return nil, 0, fmt.Errorf("channel %s: %w", id, err)
	}
	return ch, v.Rev, nil
}

// SwapResult is the outcome of a compare-and-swap.
type SwapResult struct {
	// Swapped is true when the new value was written; Rev is then its revision.
	Swapped bool
	// Rev is the key's revision after the operation (0: absent).
	Rev int64
	// Current is the value found when the swap lost (nil if absent).
	Current []byte
}

// Swap writes value at key if the key is still at revision rev (0: absent).
//
// An etcd error leaves the outcome ambiguous: the request may still be
// applied. Swap resolves it before returning: it re-reads the key and, when
// its own value is not there, fences the old revision by rewriting fence
// (the value the caller would roll back to) so the pending request can no
// longer land. Only if etcd stays unreachable does it return ErrStorage.
func (s *Store) Swap(ctx context.Context, key string, rev int64, value, fence []byte) (SwapResult, error) {
	res, err := s.txn(ctx, key, rev, value)
	if err == nil {
		return res, nil
	}
	return s.resolve(ctx, key, rev, value, fence, err)
}

func (s *Store) txn(ctx context.Context, key string, rev int64, value []byte) (SwapResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var cmp clientv3.Cmp
	if rev == 0 {
		cmp = clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	} else {
		cmp = clientv3.Compare(clientv3.ModRevision(key), "=", rev)
	}
	resp, err := s.kv.Txn(ctx).If(cmp).
		Then(clientv3.OpPut(key, string(value))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return SwapResult{}, err
	}
	if resp.Succeeded {
		return SwapResult{Swapped: true, Rev: resp.Header.Revision}, nil
	}
	res := SwapResult{}
	if rr := resp.Responses; len(rr) == 1 {
		if kvs := rr[0].GetResponseRange().GetKvs(); len(kvs) == 1 {
			res.Rev, res.Current = kvs[0].ModRevision, kvs[0].Value
		}
	}
	return res, nil
}

// resolveAttempts bounds how often an ambiguous write is re-examined.
const resolveAttempts = 3

func (s *Store) resolve(ctx context.Context, key string, rev int64, value, fence []byte, cause error) (SwapResult, error) {
	// The caller's context may be what timed out; resolution must still run.
	ctx = context.WithoutCancel(ctx)
	for range resolveAttempts {
		cur, err := s.Get(ctx, key)
		if err != nil {
			continue
		}
		if cur.Rev != 0 && bytes.Equal(cur.Raw, value) {
			return SwapResult{Swapped: true, Rev: cur.Rev}, nil
		}
		if cur.Rev != rev {
			// Someone else wrote after rev: our compare can never succeed now.
			return SwapResult{Rev: cur.Rev, Current: cur.Raw}, nil
		}
		// Still at rev: move it on with the fence value so ours cannot land later.
		res, err := s.txn(ctx, key, rev, fence)
		if err != nil {
			continue
		}
		if res.Swapped {
			return SwapResult{Rev: res.Rev, Current: fence}, nil
		}
		if bytes.Equal(res.Current, value) {
			return SwapResult{Swapped: true, Rev: res.Rev}, nil
		}
		return res, nil
	}
	return SwapResult{}, fmt.Errorf("%w: write %q: %w", ErrStorage, key, cause)
}
