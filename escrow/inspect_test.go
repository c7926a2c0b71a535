package escrow_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/etcdfault"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const (
	inspectOrg     = "snet"
	inspectService = "example-service"
	inspectUser    = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
)

// inspectStore is a store under a key root of its own on the shared etcd.
func inspectStore(t *testing.T, kv clientv3.KV) *escrow.Store {
	t.Helper()
	if kv == nil {
		kv = etcdClient()
	}
	network := "inspect_" + strings.ReplaceAll(t.Name(), "/", "_")
	// Start from nothing, also when the test runs again (-count) on the same etcd.
	_, err := etcdClient().Delete(context.Background(), network+"/", clientv3.WithPrefix())
	require.NoError(t, err)
	return escrow.NewStore(kv, escrow.NewKeys(network, inspectOrg, testGroupB64, testMPE), 0)
}

func inspectPut(t *testing.T, key string, v any) {
	t.Helper()
	raw, ok := v.([]byte)
	if !ok {
		var err error
		raw, err = escrow.EncodeGob(v)
		require.NoError(t, err)
	}
	_, err := etcdClient().Put(context.Background(), key, string(raw))
	require.NoError(t, err)
}

func inspectChannel(id, nonce, full, signed int64) *escrow.ChannelData {
	client := common.HexToAddress(inspectUser)
	return &escrow.ChannelData{
		ChannelID: big.NewInt(id), Nonce: big.NewInt(nonce), Sender: client, Signer: client,
		Recipient: testMPE, GroupID: testGroupID(), FullAmount: big.NewInt(full), Expiration: big.NewInt(7100000),
		AuthorizedAmount: big.NewInt(signed), Signature: []byte{1, 2, 3},
	}
}

func TestInspectChannels(t *testing.T) {
	ctx := context.Background()
	s := inspectStore(t, nil)
	keys := s.Keys()

	empty, err := s.InspectChannels(ctx)
	require.NoError(t, err)
	require.Empty(t, empty)

	for _, id := range []int64{42, 2, 10} {
		inspectPut(t, keys.Channel(big.NewInt(id)), inspectChannel(id, id%3, 1000*id, 10*id))
	}
	inspectPut(t, keys.Channel(big.NewInt(7)), []byte("not a gob stream"))
	inspectPut(t, keys.ChannelPrefix()+"stray", inspectChannel(99, 0, 1, 0))
	// Another MPE's channels share the group root but are not listed.
	other := escrow.NewKeys("inspect_"+t.Name(), inspectOrg, testGroupB64, common.HexToAddress("0x01"))
	inspectPut(t, other.Channel(big.NewInt(1)), inspectChannel(1, 0, 1, 0))

	got, err := s.InspectChannels(ctx)
	require.NoError(t, err)
	require.Len(t, got, 5)
	for i, want := range []int64{2, 7, 10, 42} {
		require.Equal(t, keys.Channel(big.NewInt(want)), got[i].Key)
		require.Equal(t, want, got[i].ID.Int64(), "sorted by number, not by text")
		if want == 7 {
			require.ErrorIs(t, got[i].Err, escrow.ErrGobDecode)
			require.Nil(t, got[i].Data)
			continue
		}
		require.NoError(t, got[i].Err)
		require.Equal(t, inspectChannel(want, want%3, 1000*want, 10*want), got[i].Data)
	}
	require.Nil(t, got[4].ID, "a key that names no channel sorts last")
	require.Equal(t, keys.ChannelPrefix()+"stray", got[4].Key)
	require.NoError(t, got[4].Err)
}

func TestInspectChannelsPages(t *testing.T) {
	ctx := context.Background()
	s := inspectStore(t, nil)
	const n = 1203 // more than two pages
	raw, err := escrow.EncodeGob(inspectChannel(0, 0, 1, 0))
	require.NoError(t, err)
	for start := 0; start < n; start += 100 {
		ops := make([]clientv3.Op, 0, 100)
		for id := start; id < min(start+100, n); id++ {
			ops = append(ops, clientv3.OpPut(s.Keys().Channel(big.NewInt(int64(id))), string(raw)))
		}
		_, err := etcdClient().Txn(ctx).Then(ops...).Commit()
		require.NoError(t, err)
	}
	got, err := s.InspectChannels(ctx)
	require.NoError(t, err)
	require.Len(t, got, n)
	for i, e := range got {
		require.Equal(t, int64(i), e.ID.Int64())
		require.NoError(t, e.Err)
	}
}

func TestInspectClaims(t *testing.T) {
	ctx := context.Background()
	s := inspectStore(t, nil)
	keys := s.Keys()
	record := func(id, nonce, amount int64) *escrow.PaymentRecord {
		return &escrow.PaymentRecord{ChannelID: big.NewInt(id), ChannelNonce: big.NewInt(nonce), Amount: big.NewInt(amount), Signature: []byte{9}}
	}
	inspectPut(t, keys.Payment(big.NewInt(42), big.NewInt(10)), record(42, 10, 500))
	inspectPut(t, keys.Payment(big.NewInt(42), big.NewInt(3)), record(42, 3, 300))
	inspectPut(t, keys.Payment(big.NewInt(5), big.NewInt(1)), record(5, 1, 100))
	inspectPut(t, keys.Payment(big.NewInt(6), big.NewInt(0)), []byte{0xff, 0x00})
	inspectPut(t, keys.PaymentPrefix()+"6/x", record(6, 0, 1))

	got, err := s.InspectClaims(ctx)
	require.NoError(t, err)
	require.Len(t, got, 5)
	for i, want := range []struct{ id, nonce, amount int64 }{{5, 1, 100}, {6, 0, 0}, {42, 3, 300}, {42, 10, 500}} {
		require.Equal(t, want.id, got[i].ChannelID.Int64())
		require.Equal(t, want.nonce, got[i].Nonce.Int64())
		if want.id == 6 {
			require.ErrorIs(t, got[i].Err, escrow.ErrGobDecode)
			continue
		}
		require.NoError(t, got[i].Err)
		require.Equal(t, record(want.id, want.nonce, want.amount), got[i].Data)
	}
	require.Nil(t, got[4].ChannelID)
	require.Nil(t, got[4].Nonce)
}

func TestInspectAndResetFreeCalls(t *testing.T) {
	ctx := context.Background()
	s := inspectStore(t, nil)
	keys := s.Keys()
	key := func(address, user string) string {
		return keys.FreeCallUser(address, user, inspectOrg, inspectService, testGroupB64)
	}
	counter := func(address, user string, made int) *escrow.FreeCallUserData {
		return &escrow.FreeCallUserData{Address: address, UserID: user, FreeCallsMade: made,
			OrganizationId: inspectOrg, ServiceId: inspectService, GroupID: testGroupB64}
	}
	lower := strings.ToLower(inspectUser)
	inspectPut(t, key(inspectUser, ""), counter(inspectUser, "", 3))
	inspectPut(t, key(inspectUser, "alice@example.com"), counter(inspectUser, "alice@example.com", 7))
	inspectPut(t, key(lower, ""), []byte("garbage"))

	got, err := s.InspectFreeCalls(ctx)
	require.NoError(t, err)
	require.Len(t, got, 3)
	byKey := map[string]escrow.FreeCallEntry{}
	for _, e := range got {
		byKey[e.Key] = e
	}
	e := byKey[key(inspectUser, "alice@example.com")]
	require.Equal(t, inspectUser, e.Address)
	require.Equal(t, "alice@example.com", e.UserID)
	require.Equal(t, counter(inspectUser, "alice@example.com", 7), e.Data)
	e = byKey[key(lower, "")]
	require.Equal(t, lower, e.Address, "the key names an undecodable counter")
	require.Empty(t, e.UserID)
	require.ErrorIs(t, e.Err, escrow.ErrGobDecode)

	reset := func(address, user string) (*escrow.FreeCallUserData, error) {
		return s.ResetFreeCalls(ctx, address, user, inspectOrg, inspectService, testGroupB64)
	}
	stored := func(address, user string) *escrow.FreeCallUserData {
		v, err := s.Get(ctx, key(address, user))
		require.NoError(t, err)
		d, err := escrow.DecodeFreeCallUserData(v.Raw)
		require.NoError(t, err)
		return d
	}
	for _, tc := range []struct {
		name, address, user string
		prev                *escrow.FreeCallUserData
		err                 error
	}{
		{"counter", inspectUser, "", counter(inspectUser, "", 3), nil},
		{"again is a no-op", inspectUser, "", counter(inspectUser, "", 0), nil},
		{"with user id", inspectUser, "alice@example.com", counter(inspectUser, "alice@example.com", 7), nil},
		{"undecodable counter is repaired", lower, "", nil, nil},
		{"unknown user id", inspectUser, "bob", nil, escrow.ErrNoFreeCallCounter},
		{"address as sent, not normalised", strings.ToUpper(inspectUser), "", nil, escrow.ErrNoFreeCallCounter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev, err := reset(tc.address, tc.user)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				v, err := s.Get(ctx, key(tc.address, tc.user))
				require.NoError(t, err)
				require.Zero(t, v.Rev, "a reset never creates a counter")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.prev, prev)
			require.Equal(t, counter(tc.address, tc.user, 0), stored(tc.address, tc.user))
		})
	}
}

// inspectRaces makes a free call land between the reset's read and its
// compare-and-swap, the next n times (the last one leaves 10 calls made).
func inspectRaces(t *testing.T, kv *etcdfault.KV, key string, n int) {
	hooks := make([]etcdfault.Hook, n)
	for i := range hooks {
		made := 10 + n - 1 - i
		hooks[i] = etcdfault.Before(func() {
			raw, err := escrow.EncodeGob(escrow.FreeCallUserData{Address: inspectUser, FreeCallsMade: made,
				OrganizationId: inspectOrg, ServiceId: inspectService, GroupID: testGroupB64})
			require.NoError(t, err)
			_, err = kv.KV.Put(context.Background(), key, string(raw))
			require.NoError(t, err)
		})
	}
	kv.OnNextWrites(hooks...)
}

func TestResetFreeCallsRacesWithCalls(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		races int
		err   error
	}{{1, nil}, {4, nil}, {100, escrow.ErrStorage}} {
		t.Run(fmt.Sprint(tc.races), func(t *testing.T) {
			kv := etcdfault.New(etcdClient())
			s := inspectStore(t, kv)
			key := s.Keys().FreeCallUser(inspectUser, "", inspectOrg, inspectService, testGroupB64)
			inspectPut(t, key, escrow.FreeCallUserData{Address: inspectUser, FreeCallsMade: 1})
			inspectRaces(t, kv, key, tc.races)

			prev, err := s.ResetFreeCalls(ctx, inspectUser, "", inspectOrg, inspectService, testGroupB64)
			v, gerr := s.Get(ctx, key)
			require.NoError(t, gerr)
			d, derr := escrow.DecodeFreeCallUserData(v.Raw)
			require.NoError(t, derr)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.NotZero(t, d.FreeCallsMade, "a reset that gave up wrote nothing")
				return
			}
			require.NoError(t, err)
			require.Equal(t, 10, prev.FreeCallsMade, "the reset saw the last free call")
			require.Zero(t, d.FreeCallsMade)
		})
	}
}

var errInspectDown = errors.New("injected: etcd unreachable")

func TestInspectFailsClosed(t *testing.T) {
	ctx := context.Background()
	kv := etcdfault.New(etcdClient())
	kv.Down(errInspectDown)
	s := inspectStore(t, kv)
	_, err := s.InspectChannels(ctx)
	require.ErrorIs(t, err, escrow.ErrStorage)
	require.ErrorIs(t, err, errInspectDown)
	_, err = s.InspectClaims(ctx)
	require.ErrorIs(t, err, escrow.ErrStorage)
	_, err = s.InspectFreeCalls(ctx)
	require.ErrorIs(t, err, escrow.ErrStorage)
	_, err = s.ResetFreeCalls(ctx, inspectUser, "", inspectOrg, inspectService, testGroupB64)
	require.ErrorIs(t, err, escrow.ErrStorage)
}

// FuzzInspect stores one arbitrary key suffix and value under each listed
// prefix: the listing never panics, never drops the record and reports
// either its value or why it could not be decoded.
func FuzzInspect(f *testing.F) {
	ch, err := escrow.EncodeGob(inspectChannel(42, 3, 100, 10))
	require.NoError(f, err)
	f.Add(uint8(0), "{ID: 42}", ch)
	f.Add(uint8(0), "{ID: -1}", []byte{})
	f.Add(uint8(1), "42/3", []byte("x"))
	f.Add(uint8(1), "/", ch)
	f.Add(uint8(2), "{ID:0xabc/user/snet/svc/a/b=}", []byte{0xff})
	f.Add(uint8(2), "{ID:}", []byte(nil))
	f.Fuzz(func(t *testing.T, kind uint8, suffix string, value []byte) {
		if len(suffix) > 1024 || len(value) > 4096 {
			t.Skip()
		}
		ctx := context.Background()
		s := inspectStore(t, nil)
		keys := s.Keys()
		prefix := []string{keys.ChannelPrefix(), keys.PaymentPrefix(), keys.FreeCallUserPrefix()}[kind%3]
		_, err := etcdClient().Put(ctx, prefix+suffix, string(value))
		require.NoError(t, err)
		check := func(n int, key string, hasData bool, decodeErr error) {
			require.Equal(t, 1, n)
			require.Equal(t, prefix+suffix, key)
			require.NotEqual(t, hasData, decodeErr != nil, "value or error, not both")
		}
		switch kind % 3 {
		case 0:
			got, err := s.InspectChannels(ctx)
			require.NoError(t, err)
			check(len(got), got[0].Key, got[0].Data != nil, got[0].Err)
		case 1:
			got, err := s.InspectClaims(ctx)
			require.NoError(t, err)
			check(len(got), got[0].Key, got[0].Data != nil, got[0].Err)
			require.Equal(t, got[0].ChannelID == nil, got[0].Nonce == nil)
		case 2:
			got, err := s.InspectFreeCalls(ctx)
			require.NoError(t, err)
			check(len(got), got[0].Key, got[0].Data != nil, got[0].Err)
		}
	})
}
