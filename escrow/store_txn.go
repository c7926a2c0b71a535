package escrow

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrKeyExists: a key that a transaction must create is already there with
// another value.
var ErrKeyExists = errors.New("key already exists")

// SwapCreate is Swap that also creates newKey with newValue in the same etcd
// transaction: both writes land or neither does. It loses when key is no
// longer at rev (the result then carries key's current value, as Swap's
// does) and fails with ErrKeyExists when newKey holds another value. If
// newKey already holds newValue, the same change was made before (by an
// ambiguous earlier attempt, or an identical concurrent one) and the result
// is Swapped.
//
// An ambiguous etcd error is resolved as in Swap: both keys are read in one
// snapshot and, when newValue is not there, key is fenced by rewriting fence
// (its value at rev) so the pending transaction can no longer land.
func (s *Store) SwapCreate(ctx context.Context, key string, rev int64, value, fence []byte, newKey string, newValue []byte) (SwapResult, error) {
	res, existing, err := s.swapCreateTxn(ctx, key, rev, value, newKey, newValue)
	if err != nil {
		return s.resolveCreate(ctx, key, rev, fence, newKey, newValue, err)
	}
	return decideCreate(res, existing, newKey, newValue)
}

func (s *Store) swapCreateTxn(ctx context.Context, key string, rev int64, value []byte, newKey string, newValue []byte) (SwapResult, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.kv.Txn(ctx).
		If(swapCompare(key, rev), clientv3.Compare(clientv3.CreateRevision(newKey), "=", 0)).
		Then(clientv3.OpPut(key, string(value)), clientv3.OpPut(newKey, string(newValue))).
		Else(clientv3.OpGet(key), clientv3.OpGet(newKey)).
		Commit()
	if err != nil {
		return SwapResult{}, nil, err
	}
	if resp.Succeeded {
		return SwapResult{Swapped: true, Rev: resp.Header.Revision}, nil, nil
	}
	res, existing := twoKeys(resp)
	return res, existing, nil
}

// twoKeys reads the answers of a transaction's two gets: the first key's
// revision and value, and the second key's value (nil if absent).
func twoKeys(resp *clientv3.TxnResponse) (SwapResult, []byte) {
	var (
		res      SwapResult
		existing []byte
	)
	if rr := resp.Responses; len(rr) == 2 {
		if kvs := rr[0].GetResponseRange().GetKvs(); len(kvs) == 1 {
			res.Rev, res.Current = kvs[0].ModRevision, kvs[0].Value
		}
		if kvs := rr[1].GetResponseRange().GetKvs(); len(kvs) == 1 {
			existing = kvs[0].Value
			if existing == nil {
				existing = []byte{}
			}
		}
	}
	return res, existing
}

func decideCreate(res SwapResult, existing []byte, newKey string, newValue []byte) (SwapResult, error) {
	switch {
	case existing == nil:
		return res, nil
	case bytes.Equal(existing, newValue):
		// Already made: our own earlier attempt, or the same change racing.
		res.Swapped = true
		return res, nil
	default:
		return res, fmt.Errorf("%w: %q", ErrKeyExists, newKey)
	}
}

func (s *Store) resolveCreate(ctx context.Context, key string, rev int64, fence []byte, newKey string, newValue []byte, cause error) (SwapResult, error) {
	// The caller's context may be what timed out; resolution must still run.
	ctx = context.WithoutCancel(ctx)
	for range resolveAttempts {
		res, existing, err := s.readTwo(ctx, key, newKey)
		if err != nil {
			continue
		}
		if existing != nil || res.Rev != rev {
			// Either our write is there, or it can never land: newKey exists
			// or key moved past rev.
			return decideCreate(res, existing, newKey, newValue)
		}
		// Neither key changed: move key on so ours cannot land later.
		fenced, err := s.txn(ctx, key, rev, fence)
		if err != nil {
			continue
		}
		if fenced.Swapped {
			return SwapResult{Rev: fenced.Rev, Current: fence}, nil
		}
		// key moved meanwhile, perhaps by our own write: look again.
	}
	return SwapResult{}, fmt.Errorf("%w: write %q and %q: %w", ErrStorage, key, newKey, cause)
}

// readTwo reads two keys at one revision.
func (s *Store) readTwo(ctx context.Context, key, other string) (SwapResult, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.kv.Txn(ctx).Then(clientv3.OpGet(key), clientv3.OpGet(other)).Commit()
	if err != nil {
		return SwapResult{}, nil, err
	}
	res, existing := twoKeys(resp)
	return res, existing, nil
}

// DeleteAt deletes key if it is still at revision rev. It reports whether
// the key is gone; false means another value was written there since. An
// ambiguous etcd error is resolved by reading the key again.
func (s *Store) DeleteAt(ctx context.Context, key string, rev int64) (bool, error) {
	var cause error
	for range resolveAttempts {
		gone, err := s.deleteTxn(ctx, key, rev)
		if err == nil {
			return gone, nil
		}
		cause = err
		// Whether or not the delete landed, the key now tells; the caller's
		// context may be what timed out, and the answer is still needed.
		ctx = context.WithoutCancel(ctx)
		cur, err := s.Get(ctx, key)
		if err != nil {
			continue
		}
		if cur.Rev == 0 {
			return true, nil
		}
		if cur.Rev != rev {
			return false, nil
		}
	}
	return false, fmt.Errorf("%w: delete %q: %w", ErrStorage, key, cause)
}

func (s *Store) deleteTxn(ctx context.Context, key string, rev int64) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.kv.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
		Then(clientv3.OpDelete(key)).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return false, err
	}
	if resp.Succeeded {
		return true, nil
	}
	if rr := resp.Responses; len(rr) == 1 {
		return len(rr[0].GetResponseRange().GetKvs()) == 0, nil
	}
	return false, nil
}

func swapCompare(key string, rev int64) clientv3.Cmp {
	if rev == 0 {
		return clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	}
	return clientv3.Compare(clientv3.ModRevision(key), "=", rev)
}
