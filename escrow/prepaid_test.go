package escrow_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/etcdfault"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func prepaidTestMD(id, token string) metadata.MD {
	return metadata.Pairs(
		escrow.HeaderPaymentType, escrow.PaymentTypePrepaid,
		escrow.HeaderChannelID, id,
		escrow.HeaderChannelNonce, "0",
		escrow.HeaderPrepaidAuthToken, token,
	)
}

// prepaidTestForge signs claims (JSON text) with HS256 under secret, with
// header (JSON text).
func prepaidTestForge(secret, header, claims string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

const prepaidTestHS256 = `{"alg":"HS256","typ":"JWT"}`

func TestPrepaidCallsUntilExhausted(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	ctx := context.Background()
	reply := prepaidTestToken(t, e, 100)
	md := prepaidTestMD("42", reply.Token)
	client := crypto.PubkeyToAddress(clientKey.PublicKey).Hex()
	for range 10 {
		r, err := e.p.Pay(ctx, "/svc/M", md, price)
		require.NoError(t, err)
		require.Equal(t, client, r.Payer())
		require.Equal(t, uint64(42), r.ChannelID)
	}
	_, err := e.p.Pay(ctx, "/svc/M", md, price)
	requireStatus(t, err, codes.Internal, "internal error: Usage Exceeded on channel Id 42")
	// The refused call changed nothing; a cheaper one that fits would still pass.
	require.Equal(t, int64(100), prepaidTestCounter(t, e.store, 42, escrow.PrepaidUsed))
	_, err = e.p.Pay(ctx, "/svc/M", md, big.NewInt(0))
	require.NoError(t, err)

	again := prepaidTestToken(t, e, 100)
	require.Equal(t, uint64(100), again.UsedAmount)
	require.Equal(t, uint64(100), again.PlannedAmount)
}

func TestPrepaidRefundRaisesCeiling(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	ctx := context.Background()
	md := prepaidTestMD("42", prepaidTestToken(t, e, 30).Token)
	var last *escrow.PrepaidReceipt
	for range 3 {
		r, err := e.p.Pay(ctx, "/svc/M", md, price)
		require.NoError(t, err)
		last = r
	}
	_, err := e.p.Pay(ctx, "/svc/M", md, price)
	requireStatus(t, err, codes.Internal, "internal error: Usage Exceeded on channel Id 42")

	// The service failed on the last call: it is refunded once.
	rolled, err := last.Rollback(ctx)
	require.NoError(t, err)
	require.True(t, rolled)
	rolled, err = last.Rollback(ctx)
	require.NoError(t, err)
	require.False(t, rolled, "a receipt refunds once")
	require.Equal(t, int64(10), prepaidTestCounter(t, e.store, 42, escrow.PrepaidRefunded))
	require.Equal(t, int64(30), prepaidTestCounter(t, e.store, 42, escrow.PrepaidUsed), "U is never decreased")

	_, err = e.p.Pay(ctx, "/svc/M", md, price)
	require.NoError(t, err)
	_, err = e.p.Pay(ctx, "/svc/M", md, price)
	requireStatus(t, err, codes.Internal, "internal error: Usage Exceeded on channel Id 42")
}

// The steady state of a prepaid call is one etcd round trip: the swap.
func TestPrepaidCallCostsOneRoundTrip(t *testing.T) {
	kv := etcdfault.New(etcdClient())
	e := prepaidTestSetup(t, kv)
	ctx := context.Background()
	md := prepaidTestMD("42", prepaidTestToken(t, e, 100).Token)
	start := kv.Txns()
	for range 10 {
		_, err := e.p.Pay(ctx, "/svc/M", md, price)
		require.NoError(t, err)
	}
	// One read to learn the counters after GetToken, then one swap per call.
	require.Equal(t, 11, kv.Txns()-start)
}

// The refund happens even when the client has gone away.
func TestPrepaidRefundOutlivesTheCall(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	md := prepaidTestMD("42", prepaidTestToken(t, e, 30).Token)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := e.p.Pay(ctx, "/svc/M", md, price)
	require.NoError(t, err)
	cancel()
	rolled, err := r.Rollback(ctx)
	require.NoError(t, err)
	require.True(t, rolled)
	require.Equal(t, int64(10), prepaidTestCounter(t, e.store, 42, escrow.PrepaidRefunded))
}

func TestPrepaidTokenRefusals(t *testing.T) {
	const claims = `{"exp":1767225600,"groupId":"EoFmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ=","orgId":"snet","payload":"42","userAddress":"0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"}`
	vector := prepaidTestForge(prepaidTestSecret, prepaidTestHS256, claims)
	for _, tc := range []struct {
		name string
		md   metadata.MD
		code codes.Code
		msg  string
	}{
		{name: "no token", md: metadata.Pairs(escrow.HeaderChannelID, "42"),
			code: codes.InvalidArgument, msg: `missing "snet-prepaid-auth-token-bin"`},
		{name: "no channel", md: metadata.Pairs(escrow.HeaderPrepaidAuthToken, vector),
			code: codes.InvalidArgument, msg: `missing "snet-payment-channel-id"`},
		{name: "bad channel id", md: prepaidTestMD("4x2", vector),
			code: codes.InvalidArgument, msg: `incorrect format "snet-payment-channel-id": "4x2"`},
		{name: "tampered signature", md: prepaidTestMD("42", vector[:len(vector)-2]+"AA"),
			code: codes.Internal, msg: "internal error: token signature is invalid: signature is invalid"},
		{name: "wrong secret", md: prepaidTestMD("42", prepaidTestForge("some-other-secret-of-at-least-32-bytes", prepaidTestHS256, claims)),
			code: codes.Internal, msg: "internal error: token signature is invalid: signature is invalid"},
		{name: "alg none", md: prepaidTestMD("42", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))+"."+
			base64.RawURLEncoding.EncodeToString([]byte(claims))+"."),
			code: codes.Internal, msg: "internal error: token is unverifiable: unexpected signing method: none"},
		{name: "alg RS256", md: prepaidTestMD("42", prepaidTestForge(prepaidTestSecret, `{"alg":"RS256","typ":"JWT"}`, claims)),
			code: codes.Internal, msg: "internal error: token is unverifiable: unexpected signing method: RS256"},
		{name: "another channel's token", md: prepaidTestMD("43", vector),
			code: codes.Internal, msg: "internal error: payload 42 used to generate the Token doesnt match expected values"},
		{name: "no payload", md: prepaidTestMD("42", prepaidTestForge(prepaidTestSecret, prepaidTestHS256, `{"exp":1767225600}`)),
			code: codes.Internal, msg: "internal error: payload <nil> used to generate the Token doesnt match expected values"},
		{name: "another org", md: prepaidTestMD("42", prepaidTestForge(prepaidTestSecret, prepaidTestHS256,
			`{"exp":1767225600,"groupId":"EoFmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ=","orgId":"other","payload":"42"}`)),
			code: codes.Internal, msg: "internal error: organization other is not associated with this Daemon"},
		{name: "another group", md: prepaidTestMD("42", prepaidTestForge(prepaidTestSecret, prepaidTestHS256,
			`{"exp":1767225600,"groupId":"Zm9v","orgId":"snet","payload":"42"}`)),
			code: codes.Internal, msg: "internal error: groupId Zm9v is not associated with this Daemon"},
		{name: "expired", md: prepaidTestMD("42", prepaidTestForge(prepaidTestSecret, prepaidTestHS256,
			`{"exp":1767139200,"groupId":"EoFmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ=","orgId":"snet","payload":"42"}`)),
			code: codes.Internal, msg: "internal error: token has invalid claims: token is expired"},
		{name: "channel beyond uint64", md: prepaidTestMD("18446744073709551658", prepaidTestForge(prepaidTestSecret, prepaidTestHS256,
			`{"exp":1767225600,"groupId":"EoFmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ=","orgId":"snet","payload":"18446744073709551658"}`)),
			code: codes.Internal, msg: "internal error: payload 18446744073709551658 used to generate the Token doesnt match expected values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := prepaidTestSetup(t, nil)
			prepaidTestToken(t, e, 100)
			_, err := e.p.Pay(context.Background(), "/svc/M", tc.md, price)
			requireStatus(t, err, tc.code, tc.msg)
			require.Equal(t, int64(-1), prepaidTestCounter(t, e.store, 42, escrow.PrepaidUsed))
		})
	}
}

// A token without userAddress is served and forwarded as "unknown".
func TestPrepaidUnknownPayer(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	prepaidTestToken(t, e, 100)
	tok := prepaidTestForge(prepaidTestSecret, prepaidTestHS256,
		`{"exp":1767225600,"groupId":"EoFmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ=","orgId":"snet","payload":"42"}`)
	r, err := e.p.Pay(context.Background(), "/svc/M", prepaidTestMD("42", tok), price)
	require.NoError(t, err)
	require.Equal(t, "unknown", r.Payer())
}

// Counters written by snet-daemon (the spec's gob sample, P = 600) are
// read, and ours are what upstream decodes.
func TestPrepaidUpstreamCounters(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	ctx := context.Background()
	sample, err := hex.DecodeString("25ff8d0301010b507265506169644461746101ff8e0001010106416d6f756e7401ff820000000aff81050102ff8800000008ff8e010302025800")
	require.NoError(t, err)
	key := e.store.Keys().Prepaid(42, escrow.PrepaidPlanned)
	require.True(t, strings.HasSuffix(key, "/snet/"+testGroupB64+"//PrePaid/storage/{ID:42/P}"), key)
	_, err = e.kv.Put(ctx, key, string(sample))
	require.NoError(t, err)

	md := prepaidTestMD("42", prepaidTestJWT)
	for range 10 {
		_, err := e.p.Pay(ctx, "/svc/M", md, big.NewInt(60))
		require.NoError(t, err)
	}
	_, err = e.p.Pay(ctx, "/svc/M", md, big.NewInt(1))
	requireStatus(t, err, codes.Internal, "internal error: Usage Exceeded on channel Id 42")
	v, err := e.store.Get(ctx, e.store.Keys().Prepaid(42, escrow.PrepaidUsed))
	require.NoError(t, err)
	used, err := escrow.DecodePrePaidData(v.Raw)
	require.NoError(t, err)
	require.Equal(t, int64(600), used.Amount.Int64())
}

// Concurrent calls on one channel, through two replicas sharing etcd, with
// some failing and refunded: never more is served than planned + refunded,
// and nothing planned is left unserved.
func TestPrepaidConcurrentSpendIsExact(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	ctx := context.Background()
	const planned = 1000 // 100 calls at price 10
	md := prepaidTestMD("42", prepaidTestToken(t, e, planned).Token)
	replicas := []*escrow.Prepaid{e.p, prepaidTestNew(t, e.store, e.ch, prepaidTestNow)}

	var served, refunded atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := replicas[g%len(replicas)]
			for i := 0; ; i++ {
				r, err := p.Pay(ctx, "/svc/M", md, price)
				if status.Code(err) == codes.Aborted {
					continue // lost too many races to the other replica: the client retries
				}
				if err != nil {
					if st := status.Convert(err); st.Message() != "internal error: Usage Exceeded on channel Id 42" {
						t.Errorf("unexpected refusal: %v", err)
					}
					return
				}
				if (i+g)%7 == 0 { // the service failed
					rolled, err := r.Rollback(ctx)
					if err != nil || !rolled {
						t.Errorf("refund: %v %v", rolled, err)
						return
					}
					refunded.Add(1)
					continue
				}
				served.Add(1)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int64(planned/10), served.Load(), "served calls must use up exactly the planned amount")
	require.Equal(t, 10*(served.Load()+refunded.Load()), prepaidTestCounter(t, e.store, 42, escrow.PrepaidUsed))
	require.Equal(t, 10*refunded.Load(), prepaidTestCounter(t, e.store, 42, escrow.PrepaidRefunded))
}

func TestPrepaidFailsClosed(t *testing.T) {
	kv := etcdfault.New(etcdClient())
	e := prepaidTestSetup(t, kv)
	ctx := context.Background()
	md := prepaidTestMD("42", prepaidTestToken(t, e, 100).Token)
	r, err := e.p.Pay(ctx, "/svc/M", md, price)
	require.NoError(t, err)

	kv.WritesDown(etcdfault.ErrInjected)
	_, err = e.p.Pay(ctx, "/svc/M", md, price)
	requireStatus(t, err, codes.Internal, "internal error: cannot record usage on channel Id 42")
	rolled, err := r.Rollback(ctx)
	require.Error(t, err)
	require.ErrorIs(t, err, escrow.ErrStorage)
	require.False(t, rolled)
	kv.WritesDown(nil)
	require.Equal(t, int64(10), prepaidTestCounter(t, e.store, 42, escrow.PrepaidUsed))

	// A refund that failed can be retried.
	rolled, err = r.Rollback(ctx)
	require.NoError(t, err)
	require.True(t, rolled)
	require.Equal(t, int64(10), prepaidTestCounter(t, e.store, 42, escrow.PrepaidRefunded))
}

// An etcd timeout on the usage write is resolved by reading: when the key
// did not move, the write is fenced and retried; when it moved, counter
// values cannot tell whose write it was, so the call is refused (the
// client may have paid for it: at most one call's price, never a call the
// provider is not paid for).
func TestPrepaidAmbiguousUsageWrite(t *testing.T) {
	kv := etcdfault.New(etcdClient())
	e := prepaidTestSetup(t, kv)
	ctx := context.Background()
	md := prepaidTestMD("42", prepaidTestToken(t, e, 100).Token)

	kv.OnNextWrites(etcdfault.Lost)
	_, err := e.p.Pay(ctx, "/svc/M", md, price)
	require.NoError(t, err)
	require.Equal(t, int64(10), prepaidTestCounter(t, e.store, 42, escrow.PrepaidUsed))

	kv.OnNextWrites(etcdfault.Landed)
	_, err = e.p.Pay(ctx, "/svc/M", md, price)
	requireStatus(t, err, codes.Internal, "internal error: usage on channel Id 42 was not confirmed by storage")
	require.Equal(t, int64(20), prepaidTestCounter(t, e.store, 42, escrow.PrepaidUsed))

	_, err = e.p.Pay(ctx, "/svc/M", md, price)
	require.NoError(t, err)
	require.Equal(t, int64(30), prepaidTestCounter(t, e.store, 42, escrow.PrepaidUsed))
}

// Another replica raising P is seen although this one cached the old value.
func TestPrepaidSeesOtherReplicasPlan(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	ctx := context.Background()
	md := prepaidTestMD("42", prepaidTestToken(t, e, 10).Token)
	_, err := e.p.Pay(ctx, "/svc/M", md, price)
	require.NoError(t, err)

	other := prepaidTestNew(t, e.store, newChannels(e.store, e.chain), prepaidTestNow)
	_, err = escrow.NewTokenService(other).GetToken(ctx, prepaidTestRequest(t, clientKey, clientKey, 42, 0, 30, 7000000))
	require.NoError(t, err)
	for range 2 {
		_, err = e.p.Pay(ctx, "/svc/M", md, price)
		require.NoError(t, err)
	}
	_, err = e.p.Pay(ctx, "/svc/M", md, price)
	requireStatus(t, err, codes.Internal, "internal error: Usage Exceeded on channel Id 42")
}

func TestNewPrepaidChecksOptions(t *testing.T) {
	f := newFixture(t, nil)
	_, err := escrow.NewPrepaid(escrow.PrepaidOptions{Secret: []byte("short"), OrgID: "snet", Store: f.store, Channels: f.ch})
	require.ErrorIs(t, err, escrow.ErrTokenSecret)
	_, err = escrow.NewPrepaid(escrow.PrepaidOptions{Secret: []byte(prepaidTestSecret), OrgID: "snet"})
	require.Error(t, err)
	_, err = escrow.NewPrepaid(escrow.PrepaidOptions{Secret: []byte(prepaidTestSecret), Store: f.store, Channels: f.ch})
	require.Error(t, err)
}

func TestPrepaidRespectsContext(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	md := prepaidTestMD("42", prepaidTestToken(t, e, 100).Token)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	_, err := e.p.Pay(ctx, "/svc/M", md, price)
	require.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
	require.Equal(t, int64(-1), prepaidTestCounter(t, e.store, 42, escrow.PrepaidUsed))
}
