package escrow

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// What the operator commands read and change. Nothing here is on the paid-call
// path: listings page through etcd at one revision, and a value that cannot be
// decoded is reported beside the others instead of hiding them.

// ErrNoFreeCallCounter: there is no free-call counter for the (address, user id).
// Counters are keyed by the address exactly as the client sent it, so a
// different letter case names a different counter.
var ErrNoFreeCallCounter = errors.New("no free-call counter")

// ChannelEntry is one stored channel record.
type ChannelEntry struct {
	Key  string
	ID   *big.Int     // from the key, so an undecodable record still names its channel; nil if the key is malformed
	Data *ChannelData // nil when Err is set
	Err  error        // the value could not be decoded
}

// ClaimEntry is one payment record being claimed ("<channel>/<nonce>").
type ClaimEntry struct {
	Key       string
	ChannelID *big.Int       // from the key; nil if the key is malformed
	Nonce     *big.Int       // from the key; nil if the key is malformed
	Data      *PaymentRecord // nil when Err is set
	Err       error          // the value could not be decoded
}

// FreeCallEntry is one free-call counter.
type FreeCallEntry struct {
	Key string
	// Address and UserID come from the key, as the client sent them: they
	// are what ResetFreeCalls needs. Empty if the key is malformed.
	Address, UserID string
	Data            *FreeCallUserData // nil when Err is set
	Err             error             // the value could not be decoded
}

// InspectChannels lists the stored channel records by channel id.
func (s *Store) InspectChannels(ctx context.Context) ([]ChannelEntry, error) {
	prefix := s.keys.ChannelPrefix()
	var out []ChannelEntry
	err := s.inspectScan(ctx, prefix, func(key string, raw []byte) {
		e := ChannelEntry{Key: key}
		if id, ok := strings.CutPrefix(key[len(prefix):], "{ID: "); ok {
			if id, ok := strings.CutSuffix(id, "}"); ok {
				e.ID = inspectNumber(id)
			}
		}
		e.Data, e.Err = DecodeChannelData(raw)
		out = append(out, e)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b ChannelEntry) int {
		return cmp.Or(inspectCompare(a.ID, b.ID), strings.Compare(a.Key, b.Key))
	})
	return out, nil
}

// InspectClaims lists the payment records of claims in progress by channel
// and nonce. A record stays until the claim service sees the chain nonce move
// past it, so some may belong to claims already completed on chain.
func (s *Store) InspectClaims(ctx context.Context) ([]ClaimEntry, error) {
	prefix := s.keys.PaymentPrefix()
	var out []ClaimEntry
	err := s.inspectScan(ctx, prefix, func(key string, raw []byte) {
		e := ClaimEntry{Key: key}
		if id, nonce, ok := strings.Cut(key[len(prefix):], "/"); ok {
			e.ChannelID, e.Nonce = inspectNumber(id), inspectNumber(nonce)
			if e.ChannelID == nil || e.Nonce == nil {
				e.ChannelID, e.Nonce = nil, nil
			}
		}
		e.Data, e.Err = DecodePaymentRecord(raw)
		out = append(out, e)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b ClaimEntry) int {
		return cmp.Or(inspectCompare(a.ChannelID, b.ChannelID), inspectCompare(a.Nonce, b.Nonce), strings.Compare(a.Key, b.Key))
	})
	return out, nil
}

// InspectFreeCalls lists the free-call counters by key.
func (s *Store) InspectFreeCalls(ctx context.Context) ([]FreeCallEntry, error) {
	prefix := s.keys.FreeCallUserPrefix()
	var out []FreeCallEntry
	err := s.inspectScan(ctx, prefix, func(key string, raw []byte) {
		e := FreeCallEntry{Key: key}
		// "{ID:<address>/<user_id>/<org>/<service>/<group_b64>}": the group
		// may contain '/', the address and user id in practice do not.
		if id, ok := strings.CutPrefix(key[len(prefix):], "{ID:"); ok && strings.HasSuffix(id, "}") {
			if f := strings.SplitN(id, "/", 3); len(f) == 3 {
				e.Address, e.UserID = f[0], f[1]
			}
		}
		e.Data, e.Err = DecodeFreeCallUserData(raw)
		out = append(out, e)
	})
	if err != nil {
		return nil, err
	}
	// scan returns keys in order already; keep it explicit.
	slices.SortFunc(out, func(a, b FreeCallEntry) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// inspectResetAttempts bounds the retries when free calls race with a reset.
const inspectResetAttempts = 5

// ResetFreeCalls sets the free-call counter of (address, userID) to 0, as
// upstream's "freecall reset". address is matched exactly as the client sent
// it; orgID, serviceID and groupIDBase64 complete the key. It returns the
// counter as it was (nil if it could not be decoded: the reset repairs it).
// A counter that does not exist is ErrNoFreeCallCounter, not created: a typo
// in the address would otherwise go unnoticed.
func (s *Store) ResetFreeCalls(ctx context.Context, address, userID, orgID, serviceID, groupIDBase64 string) (*FreeCallUserData, error) {
	key := s.keys.FreeCallUser(address, userID, orgID, serviceID, groupIDBase64)
	for range inspectResetAttempts {
		cur, err := s.Get(ctx, key)
		if err != nil {
			return nil, err
		}
		if cur.Rev == 0 {
			return nil, fmt.Errorf("%w for address %q, user id %q", ErrNoFreeCallCounter, address, userID)
		}
		prev, decodeErr := DecodeFreeCallUserData(cur.Raw)
		next := FreeCallUserData{Address: address, UserID: userID, OrganizationId: orgID, ServiceId: serviceID, GroupID: groupIDBase64}
		if decodeErr == nil {
			if prev.FreeCallsMade == 0 {
				return prev, nil
			}
			next = *prev
			next.FreeCallsMade = 0
		}
		value, err := EncodeGob(next)
		if err != nil {
			return nil, err
		}
		// The fence is the value found: if the write is ambiguous and gets
		// fenced, the counter is left as it was, never lost.
		res, err := s.Swap(ctx, key, cur.Rev, value, cur.Raw)
		if err != nil {
			return nil, err
		}
		if res.Swapped {
			if decodeErr != nil {
				return nil, nil
			}
			return prev, nil
		}
		// A free call (or another reset) wrote in between: read again.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: free-call counter %q kept changing during %d attempts to reset it", ErrStorage, key, inspectResetAttempts)
}

// inspectPageSize is how many keys one etcd request returns while listing, so a
// large listing is many small requests, each within the request timeout.
const inspectPageSize = 500

// inspectScan calls fn for every key under prefix, in key order, all read at the
// revision of the first page so the listing is one consistent snapshot.
func (s *Store) inspectScan(ctx context.Context, prefix string, fn func(key string, raw []byte)) error {
	end := clientv3.GetPrefixRangeEnd(prefix)
	from, rev := prefix, int64(0)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(inspectPageSize),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.inspectPage(ctx, from, opts)
		if err != nil {
			return fmt.Errorf("%w: list %q: %w", ErrStorage, prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			fn(string(kv.Key), kv.Value)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		// The next page starts just after the last key seen.
		from = string(append(bytes.Clone(resp.Kvs[len(resp.Kvs)-1].Key), 0))
	}
}

func (s *Store) inspectPage(ctx context.Context, from string, opts []clientv3.OpOption) (*clientv3.GetResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.kv.Get(ctx, from, opts...)
}

// inspectNumber parses a key's number strictly: digits only, as upstream writes them.
func inspectNumber(s string) *big.Int {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return nil
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil
	}
	return n
}

// inspectCompare orders numbers ascending, with nil (malformed keys) last.
func inspectCompare(a, b *big.Int) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Cmp(b)
}
