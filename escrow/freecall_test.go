package escrow_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/etcdfault"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fcSig9 is spec §13.2 vector 9: the client's signature of a free call
// with the vector 8 token.
const fcSig9 = "ab3bbba4dcd56c5dd99d1c763afb9e6a0afd0939dc8e0450c18f084264eccc9142cc750d50d3d817c97d3aaf083463f54ebf8ea5593c466150e3b8716268a01501"

// fcHead is a settable chain head.
type fcHead struct {
	mu   sync.Mutex
	head uint64
	err  error
}

func (h *fcHead) Head(context.Context) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.head, h.err
}

// fcBalances answers balanceOf: rich by default, poor for the listed ones.
type fcBalances struct {
	mu    sync.Mutex
	poor  map[common.Address]bool
	err   error
	calls atomic.Int32
}

func (b *fcBalances) TokenBalance(_ context.Context, _, addr common.Address) (*big.Int, error) {
	b.calls.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return nil, b.err
	}
	if b.poor[addr] {
		return fcTokens(9), nil
	}
	return fcTokens(1000), nil
}

func fcTokens(n int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(n), new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))
}

// fcEnv is one free-call setup on its own key root of the shared etcd.
type fcEnv struct {
	head   *fcHead
	bal    *fcBalances
	store  *escrow.Store
	signer *ecdsa.PrivateKey
	fc     *escrow.FreeCalls
	svc    *escrow.FreeCallStateService
}

var fcSeq atomic.Int64

// fcNew builds free calls with a fresh signing key, 3 free calls per user
// in metadata and a minimum balance of 10 tokens; edit adjusts the options.
func fcNew(t testing.TB, kv clientv3.KV, edit func(*escrow.FreeCallOptions)) *fcEnv {
	t.Helper()
	if kv == nil {
		kv = etcdClient()
	}
	network := fmt.Sprintf("fc-%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano(), fcSeq.Add(1))
	signer, err := crypto.GenerateKey()
	require.NoError(t, err)
	e := &fcEnv{
		head:   &fcHead{head: wvBlock},
		bal:    &fcBalances{poor: map[common.Address]bool{}},
		store:  escrow.NewStore(kv, escrow.NewKeys(network, wvOrg, wvGroupB64, testMPE), 0),
		signer: signer,
	}
	opts := escrow.FreeCallOptions{
		OrgID: wvOrg, ServiceID: wvService, GroupName: wvGroupName, GroupIDBase64: wvGroupB64,
		SigningKey: signer, SignerAddress: crypto.PubkeyToAddress(signer.PublicKey),
		MetadataFreeCalls: 3,
		MinBalance:        fcTokens(10),
		Token:             common.HexToAddress("0x3A54192862D1c52C8175d4912f1f778d1E3C2449"),
		Balances:          e.bal,
		Head:              e.head,
		Store:             e.store,
		Logger:            slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&opts)
	}
	if opts.SigningKey != nil {
		e.signer = opts.SigningKey
	}
	e.fc, err = escrow.NewFreeCalls(opts)
	require.NoError(t, err)
	e.svc = escrow.NewFreeCallStateService(e.fc)
	return e
}

// fcUser is a caller: its key and its address as it sends it.
type fcUser struct {
	key  *ecdsa.PrivateKey
	addr string
}

func fcNewUser(t testing.TB) fcUser {
	t.Helper()
	k, err := crypto.GenerateKey()
	require.NoError(t, err)
	return fcUser{key: k, addr: crypto.PubkeyToAddress(k.PublicKey).Hex()}
}

// token gets a token from GetFreeCallToken, signed at the current head.
func (e *fcEnv) token(t testing.TB, u fcUser, userID string) []byte {
	t.Helper()
	req := e.tokenRequest(t, u, userID, wvBlock)
	tok, err := e.svc.GetFreeCallToken(context.Background(), req)
	require.NoError(t, err)
	return tok.GetToken()
}

func (e *fcEnv) tokenRequest(t testing.TB, u fcUser, userID string, block uint64) *escrowpb.GetFreeCallTokenRequest {
	t.Helper()
	sig, err := escrow.Sign(escrow.FreeCallTokenRequestMessage(u.addr, userID, wvOrg, wvService, wvGroupB64, block), u.key)
	require.NoError(t, err)
	req := &escrowpb.GetFreeCallTokenRequest{Address: u.addr, Signature: sig, CurrentBlock: block}
	if userID != "" {
		req.UserId = &userID
	}
	return req
}

// mint makes a token for (address, userID) signed by key, as a daemon with
// that key would.
func fcMint(t testing.TB, key *ecdsa.PrivateKey, address, userID string, expiry uint64) []byte {
	t.Helper()
	sig, err := escrow.Sign(escrow.FreeCallTokenBody(wvOrg, wvGroupName, common.HexToAddress(address), userID, expiry), key)
	require.NoError(t, err)
	return escrow.FormatFreeCallToken(sig, expiry)
}

// callMD is the metadata of a free call by u (with userID) at block.
func fcCallMD(t testing.TB, u fcUser, userID string, block uint64, token []byte) metadata.MD {
	t.Helper()
	sig, err := escrow.Sign(escrow.FreeCallMessage(u.addr, userID, wvOrg, wvService, wvGroupB64, block, token), u.key)
	require.NoError(t, err)
	md := metadata.MD{
		escrow.HeaderPaymentType:         {escrow.PaymentTypeFreeCall},
		escrow.HeaderFreeCallUserAddress: {u.addr},
		escrow.HeaderCurrentBlockNumber:  {fmt.Sprint(block)},
		escrow.HeaderFreeCallAuthToken:   {string(token)},
		escrow.HeaderChannelSignature:    {string(sig)},
	}
	if userID != "" {
		md[escrow.HeaderFreeCallUserID] = []string{userID}
	}
	return md
}

// made reads the stored counter of (address, userID); -1 when absent.
func (e *fcEnv) made(t testing.TB, address, userID string) int {
	t.Helper()
	v, err := e.store.Get(context.Background(), e.store.Keys().FreeCallUser(address, userID, wvOrg, wvService, wvGroupB64))
	require.NoError(t, err)
	if v.Rev == 0 {
		return -1
	}
	u, err := escrow.DecodeFreeCallUserData(v.Raw)
	require.NoError(t, err)
	return u.FreeCallsMade
}

func TestFreeCallVector9(t *testing.T) {
	e := fcNew(t, nil, func(o *escrow.FreeCallOptions) {
		o.SigningKey = wvKey(t, wvFreeKey)
		o.SignerAddress = common.HexToAddress(wvFreeSigner)
	})
	ctx := context.Background()
	r, err := e.fc.Pay(ctx, wvFreeCallMD(t))
	require.NoError(t, err)
	require.Equal(t, wvClientAddr, r.Payer())
	require.Equal(t, 1, r.Made)
	require.Equal(t, 3, r.Allowed)
	require.Equal(t, 1, e.made(t, wvClientAddr, ""))

	// The same signed request asks how many are left.
	md := wvFreeCallMD(t)
	left, err := e.svc.GetFreeCallsAvailable(ctx, &escrowpb.FreeCallStateRequest{
		Address:       wvClientAddr,
		FreeCallToken: []byte(md.Get(escrow.HeaderFreeCallAuthToken)[0]),
		Signature:     []byte(md.Get(escrow.HeaderChannelSignature)[0]),
		CurrentBlock:  wvBlock,
	})
	require.NoError(t, err)
	require.Equal(t, uint64(2), left.GetFreeCallsAvailable())
}

func TestFreeCallUpToLimit(t *testing.T) {
	e := fcNew(t, nil, nil)
	ctx := context.Background()
	u := fcNewUser(t)
	tok := e.token(t, u, "")
	for i := 1; i <= 3; i++ {
		r, err := e.fc.Pay(ctx, fcCallMD(t, u, "", wvBlock, tok))
		require.NoError(t, err)
		require.Equal(t, i, r.Made)
		require.Equal(t, u.addr, r.Payer())
	}
	_, err := e.fc.Pay(ctx, fcCallMD(t, u, "", wvBlock, tok))
	requireStatus(t, err, codes.Internal, "internal error: free call limit has been exceeded, calls made = 3, total free calls eligible = 3")
	require.Equal(t, 3, e.made(t, u.addr, ""), "a refused call is not counted")

	// Another user has his own counter.
	v := fcNewUser(t)
	_, err = e.fc.Pay(ctx, fcCallMD(t, v, "", wvBlock, e.token(t, v, "")))
	require.NoError(t, err)
	require.Equal(t, 1, e.made(t, v.addr, ""))
}

// TestFreeCallConcurrentLastCalls: goroutines race for the last free calls
// of one user; exactly the calls left pass, whoever wins.
func TestFreeCallConcurrentLastCalls(t *testing.T) {
	const limit, before, racers = 6, 2, 16
	for _, replicas := range []int{1, 3} {
		t.Run(fmt.Sprintf("replicas=%d", replicas), func(t *testing.T) {
			e := fcNew(t, nil, func(o *escrow.FreeCallOptions) { o.MetadataFreeCalls = limit })
			// More replicas: more FreeCalls over the same keys, as daemons sharing etcd.
			fcs := []*escrow.FreeCalls{e.fc}
			for range replicas - 1 {
				other, err := escrow.NewFreeCalls(escrow.FreeCallOptions{
					OrgID: wvOrg, ServiceID: wvService, GroupName: wvGroupName, GroupIDBase64: wvGroupB64,
					SignerAddress: crypto.PubkeyToAddress(e.signer.PublicKey), MetadataFreeCalls: limit,
					Head: e.head, Store: escrow.NewStore(etcdClient(), e.store.Keys(), 0),
				})
				require.NoError(t, err)
				fcs = append(fcs, other)
			}
			ctx := context.Background()
			u := fcNewUser(t)
			tok := e.token(t, u, "")
			for range before {
				_, err := e.fc.Pay(ctx, fcCallMD(t, u, "", wvBlock, tok))
				require.NoError(t, err)
			}
			md := fcCallMD(t, u, "", wvBlock, tok)
			var passed, refused atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := fcs[i%len(fcs)].Pay(ctx, md.Copy())
					switch {
					case err == nil:
						passed.Add(1)
					case strings.Contains(status.Convert(err).Message(), "free call limit has been exceeded, calls made = 6"):
						refused.Add(1)
					default:
						t.Errorf("unexpected error: %v", err)
					}
				}()
			}
			close(start)
			wg.Wait()
			require.Equal(t, int32(limit-before), passed.Load())
			require.Equal(t, int32(racers-limit+before), refused.Load())
			require.Equal(t, limit, e.made(t, u.addr, ""))
		})
	}
}

func TestFreeCallRefusals(t *testing.T) {
	other, err := crypto.GenerateKey()
	require.NoError(t, err)
	tests := []struct {
		name string
		md   func(t *testing.T, e *fcEnv, u fcUser) metadata.MD
		code codes.Code
		msg  string
	}{
		{
			name: "forged token",
			md: func(t *testing.T, _ *fcEnv, u fcUser) metadata.MD {
				return fcCallMD(t, u, "", wvBlock, fcMint(t, other, u.addr, "", wvBlock+100))
			},
			code: codes.Unauthenticated, msg: "token sign is not valid",
		},
		{
			name: "expired token",
			md: func(t *testing.T, e *fcEnv, u fcUser) metadata.MD {
				return fcCallMD(t, u, "", wvBlock, fcMint(t, e.signer, u.addr, "", wvBlock-1))
			},
			code: codes.Internal, msg: "internal error: authentication failed as the Free Call Token passed has expired",
		},
		{
			name: "token of another user",
			md: func(t *testing.T, e *fcEnv, u fcUser) metadata.MD {
				v := fcNewUser(t)
				return fcCallMD(t, u, "", wvBlock, e.token(t, v, ""))
			},
			code: codes.Unauthenticated, msg: "token sign is not valid",
		},
		{
			name: "token of another user id",
			md: func(t *testing.T, e *fcEnv, u fcUser) metadata.MD {
				return fcCallMD(t, u, "bob", wvBlock, fcMint(t, e.signer, u.addr, "alice", wvBlock+100))
			},
			code: codes.Unauthenticated, msg: "token sign is not valid",
		},
		{
			name: "block too old",
			md: func(t *testing.T, e *fcEnv, u fcUser) metadata.MD {
				return fcCallMD(t, u, "", wvBlock-6, e.token(t, u, ""))
			},
			code: codes.Internal, msg: "internal error: authentication failed as the signature passed has expired",
		},
		{
			name: "block too new",
			md: func(t *testing.T, e *fcEnv, u fcUser) metadata.MD {
				return fcCallMD(t, u, "", wvBlock+6, e.token(t, u, ""))
			},
			code: codes.Internal, msg: "internal error: authentication failed as the signature passed has expired",
		},
		{
			name: "block far beyond int64",
			md: func(t *testing.T, e *fcEnv, u fcUser) metadata.MD {
				return fcCallMD(t, u, "", 1<<63+wvBlock, e.token(t, u, ""))
			},
			code: codes.Internal, msg: "internal error: authentication failed as the signature passed has expired",
		},
		{
			name: "request signed by someone else",
			md: func(t *testing.T, e *fcEnv, u fcUser) metadata.MD {
				md := fcCallMD(t, fcUser{key: other, addr: u.addr}, "", wvBlock, e.token(t, u, ""))
				return md
			},
			code: codes.Unauthenticated,
		},
		{
			name: "signature for another address string",
			md: func(t *testing.T, e *fcEnv, u fcUser) metadata.MD {
				// Same address, other case: the signed text differs.
				md := fcCallMD(t, u, "", wvBlock, e.token(t, u, ""))
				md[escrow.HeaderFreeCallUserAddress] = []string{strings.ToLower(u.addr)}
				return md
			},
			code: codes.Unauthenticated,
		},
		{
			name: "bad signature",
			md: func(t *testing.T, e *fcEnv, u fcUser) metadata.MD {
				md := fcCallMD(t, u, "", wvBlock, e.token(t, u, ""))
				md[escrow.HeaderChannelSignature] = []string{"short"}
				return md
			},
			code: codes.Unauthenticated, msg: "sign is not valid: incorrect signature length: got 5 bytes",
		},
		{
			name: "token without separator",
			md: func(t *testing.T, _ *fcEnv, u fcUser) metadata.MD {
				return fcCallMD(t, u, "", wvBlock, []byte("garbage"))
			},
			code: codes.InvalidArgument, msg: "invalid token: no '_' found",
		},
		{
			name: "no token",
			md: func(t *testing.T, e *fcEnv, u fcUser) metadata.MD {
				md := fcCallMD(t, u, "", wvBlock, e.token(t, u, ""))
				delete(md, escrow.HeaderFreeCallAuthToken)
				return md
			},
			code: codes.InvalidArgument, msg: `missing "snet-free-call-auth-token-bin"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fcNew(t, nil, nil)
			u := fcNewUser(t)
			md := tt.md(t, e, u)
			_, err := e.fc.Pay(context.Background(), md)
			require.Error(t, err)
			st := status.Convert(err)
			require.Equal(t, tt.code, st.Code(), st.Message())
			if tt.msg != "" {
				require.Equal(t, tt.msg, st.Message())
			} else {
				require.True(t, strings.HasPrefix(st.Message(), "sign is not valid: unauthorized signer: "), st.Message())
			}
			for _, a := range []string{u.addr, strings.ToLower(u.addr)} {
				for _, id := range []string{"", "alice", "bob"} {
					require.Equal(t, -1, e.made(t, a, id), "nothing is counted")
				}
			}
		})
	}
}

func TestFreeCallCuration(t *testing.T) {
	u, v := fcNewUser(t), fcNewUser(t)
	e := fcNew(t, nil, func(o *escrow.FreeCallOptions) { o.AllowedUsers = []common.Address{common.HexToAddress(u.addr)} })
	ctx := context.Background()
	_, err := e.fc.Pay(ctx, fcCallMD(t, u, "", wvBlock, e.token(t, u, "")))
	require.NoError(t, err)
	tok := fcMint(t, e.signer, v.addr, "", wvBlock+10)
	_, err = e.fc.Pay(ctx, fcCallMD(t, v, "", wvBlock, tok))
	requireStatus(t, err, codes.Unauthenticated, "sign is not valid: you are not Authorized to call this service during curation process")
	_, err = e.svc.GetFreeCallToken(ctx, e.tokenRequest(t, v, "", wvBlock))
	require.EqualError(t, err, "you are not Authorized to call this service during curation process")
}

func TestFreeCallPerAddressLimits(t *testing.T) {
	unlimited, five, zero, none := fcNewUser(t), fcNewUser(t), fcNewUser(t), fcNewUser(t)
	e := fcNew(t, nil, func(o *escrow.FreeCallOptions) {
		o.MetadataFreeCalls = 2
		o.PerAddress = map[common.Address]int{
			common.HexToAddress(unlimited.addr): escrow.FreeCallsUnlimited,
			common.HexToAddress(five.addr):      5,
			common.HexToAddress(zero.addr):      0, // falls back to metadata
		}
	})
	ctx := context.Background()
	for _, tt := range []struct {
		u      fcUser
		passes int // -1: no limit seen in 20 calls
	}{{unlimited, -1}, {five, 5}, {zero, 2}, {none, 2}} {
		tok := e.token(t, tt.u, "")
		md := fcCallMD(t, tt.u, "", wvBlock, tok)
		passed := 0
		for range 20 {
			if _, err := e.fc.Pay(ctx, md); err != nil {
				require.Contains(t, status.Convert(err).Message(), "free call limit has been exceeded")
				break
			}
			passed++
		}
		want := tt.passes
		if want < 0 {
			want = 20
		}
		require.Equal(t, want, passed, tt.u.addr)
		require.Equal(t, want, e.made(t, tt.u.addr, ""))
	}
}

func TestFreeCallTrustedSignerCountsPerUserID(t *testing.T) {
	market := fcNewUser(t)
	e := fcNew(t, nil, func(o *escrow.FreeCallOptions) {
		o.TrustedSigners = []common.Address{common.HexToAddress(market.addr)}
		o.MetadataFreeCalls = 2
	})
	e.bal.err = errors.New("a trusted signer's balance is never read")
	ctx := context.Background()
	alice, bob := e.token(t, market, "alice@example.com"), e.token(t, market, "bob@example.com")
	for range 2 {
		_, err := e.fc.Pay(ctx, fcCallMD(t, market, "alice@example.com", wvBlock, alice))
		require.NoError(t, err)
	}
	_, err := e.fc.Pay(ctx, fcCallMD(t, market, "alice@example.com", wvBlock, alice))
	requireStatus(t, err, codes.Internal, "internal error: free call limit has been exceeded, calls made = 2, total free calls eligible = 2")
	r, err := e.fc.Pay(ctx, fcCallMD(t, market, "bob@example.com", wvBlock, bob))
	require.NoError(t, err)
	require.Equal(t, market.addr, r.Payer())
	require.Equal(t, "bob@example.com", r.UserID)
	require.Equal(t, 2, e.made(t, market.addr, "alice@example.com"))
	require.Equal(t, 1, e.made(t, market.addr, "bob@example.com"))
	require.Equal(t, -1, e.made(t, market.addr, ""))
	// alice's token does not serve bob.
	_, err = e.fc.Pay(ctx, fcCallMD(t, market, "bob@example.com", wvBlock, alice))
	requireStatus(t, err, codes.Unauthenticated, "token sign is not valid")
	require.Zero(t, e.bal.calls.Load())
}

// TestFreeCallUpstreamCounter: a counter snet-daemon wrote (spec §13.4,
// 2 calls made) is read, counted on and stays readable by upstream.
func TestFreeCallUpstreamCounter(t *testing.T) {
	e := fcNew(t, nil, func(o *escrow.FreeCallOptions) {
		o.SigningKey = wvKey(t, wvFreeKey)
		o.SignerAddress = common.HexToAddress(wvFreeSigner)
	})
	ctx := context.Background()
	key := e.store.Keys().FreeCallUser(wvClientAddr, "", wvOrg, wvService, wvGroupB64)
	res, err := e.store.Swap(ctx, key, 0, wvHex(t, wvGobFreeCall), nil)
	require.NoError(t, err)
	require.True(t, res.Swapped)

	r, err := e.fc.Pay(ctx, wvFreeCallMD(t))
	require.NoError(t, err)
	require.Equal(t, 3, r.Made)
	v, err := e.store.Get(ctx, key)
	require.NoError(t, err)
	got, err := escrow.DecodeFreeCallUserData(v.Raw)
	require.NoError(t, err)
	require.Equal(t, &escrow.FreeCallUserData{Address: wvClientAddr, FreeCallsMade: 3,
		OrganizationId: wvOrg, ServiceId: wvService, GroupID: wvGroupB64}, got)

	_, err = e.fc.Pay(ctx, wvFreeCallMD(t))
	requireStatus(t, err, codes.Internal, "internal error: free call limit has been exceeded, calls made = 3, total free calls eligible = 3")
}

func TestFreeCallRollback(t *testing.T) {
	e := fcNew(t, nil, nil)
	ctx := context.Background()
	u := fcNewUser(t)
	md := fcCallMD(t, u, "", wvBlock, e.token(t, u, ""))
	first, err := e.fc.Pay(ctx, md)
	require.NoError(t, err)
	second, err := e.fc.Pay(ctx, md)
	require.NoError(t, err)
	require.Equal(t, 2, e.made(t, u.addr, ""))

	// Counts commute: the first call can be taken back after the second.
	cctx, cancel := context.WithCancel(ctx)
	cancel() // the client is gone; the refund still happens
	ok, err := first.Rollback(cctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, e.made(t, u.addr, ""))
	ok, err = first.Rollback(ctx)
	require.NoError(t, err)
	require.False(t, ok, "a receipt rolls back once")
	require.Equal(t, 1, e.made(t, u.addr, ""))

	// An operator reset the counter: there is nothing to take back.
	key := e.store.Keys().FreeCallUser(u.addr, "", wvOrg, wvService, wvGroupB64)
	_, err = etcdClient().Put(ctx, key, string(fcGob(t, &escrow.FreeCallUserData{Address: u.addr, OrganizationId: wvOrg, ServiceId: wvService, GroupID: wvGroupB64})))
	require.NoError(t, err)
	ok, err = second.Rollback(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, 0, e.made(t, u.addr, ""))
}

func fcGob(t testing.TB, v any) []byte {
	t.Helper()
	b, err := escrow.EncodeGob(v)
	require.NoError(t, err)
	return b
}

func TestFreeCallAmbiguousWrites(t *testing.T) {
	kv := etcdfault.New(etcdClient())
	e := fcNew(t, kv, nil)
	ctx := context.Background()
	u := fcNewUser(t)
	md := fcCallMD(t, u, "", wvBlock, e.token(t, u, ""))

	// The write did not land: the old revision is fenced and the call is
	// counted once.
	kv.OnNextWrites(etcdfault.Lost)
	_, err := e.fc.Pay(ctx, md)
	require.NoError(t, err)
	require.Equal(t, 1, e.made(t, u.addr, ""))

	// The write landed but the reply was lost: the call is served and may be
	// counted twice, never zero times.
	kv.OnNextWrites(etcdfault.Landed)
	r, err := e.fc.Pay(ctx, md)
	require.NoError(t, err)
	require.Equal(t, 3, e.made(t, u.addr, ""))

	// A rollback whose reply is lost is not repeated: the user keeps at
	// most what he had, the provider never gives a call away.
	kv.OnNextWrites(etcdfault.Landed)
	ok, err := r.Rollback(ctx)
	require.ErrorIs(t, err, escrow.ErrStorage)
	require.False(t, ok)
	require.Equal(t, 2, e.made(t, u.addr, ""))
}

func TestFreeCallFailsClosed(t *testing.T) {
	kv := etcdfault.New(etcdClient())
	e := fcNew(t, kv, nil)
	ctx := context.Background()
	u := fcNewUser(t)
	md := fcCallMD(t, u, "", wvBlock, e.token(t, u, ""))
	r, err := e.fc.Pay(ctx, md)
	require.NoError(t, err)

	kv.Down(etcdfault.ErrInjected)
	_, err = e.fc.Pay(ctx, md)
	require.Equal(t, codes.Internal, status.Code(err))
	require.True(t, strings.HasPrefix(status.Convert(err).Message(), "payment freeCallUserData error: "), err)
	ok, err := r.Rollback(ctx)
	require.ErrorIs(t, err, escrow.ErrStorage)
	require.False(t, ok)
	kv.Down(nil)
	require.Equal(t, 1, e.made(t, u.addr, ""))
	ok, err = r.Rollback(ctx) // nothing was written: it can be tried again
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 0, e.made(t, u.addr, ""))

	e.head.err = errors.New("node down")
	_, err = e.fc.Pay(ctx, md)
	requireStatus(t, err, codes.Internal, "cannot determine current block")
	require.Equal(t, 0, e.made(t, u.addr, ""))
}

func TestNewFreeCallsChecksOptions(t *testing.T) {
	store := escrow.NewStore(etcdClient(), escrow.NewKeys("fc-opts", wvOrg, wvGroupB64, testMPE), 0)
	ok := escrow.FreeCallOptions{OrgID: wvOrg, ServiceID: wvService, GroupIDBase64: wvGroupB64, Head: &fcHead{}, Store: store}
	for name, edit := range map[string]func(*escrow.FreeCallOptions){
		"no store":           func(o *escrow.FreeCallOptions) { o.Store = nil },
		"no head":            func(o *escrow.FreeCallOptions) { o.Head = nil },
		"no group":           func(o *escrow.FreeCallOptions) { o.GroupIDBase64 = "" },
		"negative balance":   func(o *escrow.FreeCallOptions) { o.MinBalance = big.NewInt(-1) },
		"balance, no reader": func(o *escrow.FreeCallOptions) { o.MinBalance = big.NewInt(1) },
		"no org":             func(o *escrow.FreeCallOptions) { o.OrgID = "" },
		"no service":         func(o *escrow.FreeCallOptions) { o.ServiceID = "" },
	} {
		o := ok
		edit(&o)
		_, err := escrow.NewFreeCalls(o)
		require.ErrorIs(t, err, escrow.ErrFreeCallOptions, name)
	}
	_, err := escrow.NewFreeCalls(ok)
	require.NoError(t, err)
}

// FuzzFreeCallPay: random free-call headers and state requests never make
// the validation panic, and are never counted unless fully valid.
func FuzzFreeCallPay(f *testing.F) {
	e := fcNew(f, nil, func(o *escrow.FreeCallOptions) {
		o.SigningKey = wvKey(f, wvFreeKey)
		o.SignerAddress = common.HexToAddress(wvFreeSigner)
		o.MetadataFreeCalls = 0 // a valid call reaches the limit check, nothing is written
	})
	sig, tok := wvHex(f, fcSig9), wvHex(f, wvToken)
	f.Add(wvClientAddr, "", "7000000", tok, sig, uint8(0))
	f.Add(wvClientAddr, "user", "0x6acfc0", tok, sig, uint8(1))
	f.Add("not an address", "\x00", "-1", []byte("_"), []byte{}, uint8(0xff))
	f.Add("", "", "99999999999999999999999999", append(sig, '_', '1'), tok, uint8(2))
	f.Fuzz(func(t *testing.T, addr, userID, block string, token, sig []byte, mask uint8) {
		md := metadata.MD{escrow.HeaderPaymentType: {escrow.PaymentTypeFreeCall}}
		set := func(bit uint8, k, v string) {
			if mask&bit == 0 {
				md[k] = []string{v}
			}
		}
		set(1, escrow.HeaderFreeCallUserAddress, addr)
		set(2, escrow.HeaderFreeCallUserID, userID)
		set(4, escrow.HeaderCurrentBlockNumber, block)
		set(8, escrow.HeaderFreeCallAuthToken, string(token))
		set(16, escrow.HeaderChannelSignature, string(sig))
		if mask&32 != 0 {
			md[escrow.HeaderFreeCallUserAddress] = append(md[escrow.HeaderFreeCallUserAddress], addr)
		}
		ctx := context.Background()
		if _, err := e.fc.Pay(ctx, md); err == nil {
			t.Fatalf("accepted with no free calls: %v", md)
		} else if _, ok := status.FromError(err); !ok {
			t.Fatalf("not a status: %v", err)
		}
		var b uint64
		fmt.Sscan(block, &b)
		_, _ = e.svc.GetFreeCallsAvailable(ctx, &escrowpb.FreeCallStateRequest{
			Address: addr, UserId: &userID, FreeCallToken: token, Signature: sig, CurrentBlock: b,
		})
		_, _ = e.svc.GetFreeCallToken(ctx, &escrowpb.GetFreeCallTokenRequest{
			Address: addr, UserId: &userID, Signature: sig, CurrentBlock: b,
		})
	})
}
