package escrow_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/chaintest"
	"github.com/tariffd/tariff/escrow/etcdfault"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	prepaidTestSecret = "test-secret-key-at-least-32-bytes-long"
	// prepaidTestJWT is the §13.3 token: channel 42, the client, exp 1767225600.
	prepaidTestJWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3NjcyMjU2MDAsImdyb3VwSWQiOiJFb0ZtTjNudmFYcGY2ZXc4akpiSVBWZ2hFNU5YZll1cEZGN1BrUm1WeUdRPSIsIm9yZ0lkIjoic25ldCIsInBheWxvYWQiOiI0MiIsInVzZXJBZGRyZXNzIjoiMHgyYzc1MzZFMzYwNUQ5QzE2YTdhM0Q3YjE4OThlNTI5Mzk2YTY1YzIzIn0.pjJkf02i0ZzQscekm4XOCJtXNvdW9KGKrUuPQ04OM94"
	// §13.2 vectors 1 (claim: channel 42, nonce 3, 12345) and 10 (GetToken at block 7000000), client key.
	prepaidTestSig1  = "a33e0f3582b0b8d67d4ddd0deae6397dbab38ab256a115c5c2d0f4482c01640953b7c6e852a02c9880575932c34bf4af5359433ec2bc63d3b2f3639c790e648301"
	prepaidTestSig10 = "5fbc6b887c70af5ba942824ec4f8534180e29eeccdbfc6ae9937ff3e1f4eba582d842774cb7a9dc915a8502ad564dffaf6868d5d2f0eb3e4d1cb0dd13fd4e10c00"
)

// prepaidTestNow mints tokens expiring at the §13.3 vector's exp.
var prepaidTestNow = time.Unix(1767225600, 0).Add(-escrow.DefaultTokenExpiry)

type prepaidTestEnv struct {
	*fixture
	p   *escrow.Prepaid
	svc *escrow.TokenService
}

// prepaidTestRuns makes key roots unique per run too, so -count=N starts
// from empty state on the shared etcd.
var prepaidTestRuns atomic.Int64

func prepaidTestNetwork(t *testing.T) string {
	return fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano(), prepaidTestRuns.Add(1))
}

// prepaidTestSetup is newFixture (channel 42: client to provider, value
// 100000, expiring at 7100000, head 7000000) under a key root of its own.
func prepaidTestSetup(t *testing.T, kv clientv3.KV) *prepaidTestEnv {
	t.Helper()
	f := newFixture(t, kv)
	f.store = escrow.NewStore(f.kv, escrow.NewKeys(prepaidTestNetwork(t), "snet", testGroupB64, testMPE), 0)
	f.ch = newChannels(f.store, f.chain)
	return &prepaidTestEnv{fixture: f, p: prepaidTestNew(t, f.store, f.ch, prepaidTestNow)}
}

func prepaidTestNew(t *testing.T, store *escrow.Store, ch *escrow.Channels, now time.Time) *escrow.Prepaid {
	t.Helper()
	p, err := escrow.NewPrepaid(escrow.PrepaidOptions{
		Secret: []byte(prepaidTestSecret), OrgID: "snet", Store: store, Channels: ch,
		Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	return p
}

func (e *prepaidTestEnv) service() *escrow.TokenService {
	if e.svc == nil {
		e.svc = escrow.NewTokenService(e.p)
	}
	return e.svc
}

// prepaidTestRequest is a GetToken request for amount signed in nonce by
// claimer and asked for by asker at block.
func prepaidTestRequest(t testing.TB, asker, claimer *ecdsa.PrivateKey, id, nonce, amount int64, block uint64) *escrowpb.TokenRequest {
	t.Helper()
	claim := payment(t, claimer, id, nonce, amount).Signature
	sig, err := escrow.Sign(escrow.PrepaidTokenMessage(claim, block), asker)
	require.NoError(t, err)
	return &escrowpb.TokenRequest{
		ChannelId: uint64(id), CurrentNonce: uint64(nonce), SignedAmount: uint64(amount),
		Signature: sig, CurrentBlock: block, ClaimSignature: claim,
	}
}

// prepaidTestCounter reads one stored counter as upstream would decode it
// (-1: absent).
func prepaidTestCounter(t *testing.T, store *escrow.Store, id uint64, kind string) int64 {
	t.Helper()
	v, err := store.Get(context.Background(), store.Keys().Prepaid(id, kind))
	require.NoError(t, err)
	if v.Rev == 0 {
		return -1
	}
	d, err := escrow.DecodePrePaidData(v.Raw)
	require.NoError(t, err)
	return d.Amount.Int64()
}

func prepaidTestToken(t *testing.T, e *prepaidTestEnv, amount int64) *escrowpb.TokenReply {
	t.Helper()
	reply, err := e.service().GetToken(context.Background(), prepaidTestRequest(t, clientKey, clientKey, 42, 0, amount, 7000000))
	require.NoError(t, err)
	return reply
}

// prepaidTestRequireWire checks the status a client receives: grpc sends a
// plain error as Unknown with its text.
func prepaidTestRequireWire(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	st := status.Convert(err)
	require.Equal(t, code, st.Code(), st.Message())
	require.Equal(t, msg, st.Message())
}

// The spec's vectors end to end: the client's claim and request signatures
// give the spec's token, and the claim is stored as the channel's payment.
func TestPrepaidGetTokenSpecVectors(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	e.chain.set(42, openChannel(3, 100000, 7100000))
	sig1, err := hex.DecodeString(prepaidTestSig1)
	require.NoError(t, err)
	sig10, err := hex.DecodeString(prepaidTestSig10)
	require.NoError(t, err)
	req := &escrowpb.TokenRequest{ChannelId: 42, CurrentNonce: 3, SignedAmount: 12345,
		Signature: sig10, CurrentBlock: 7000000, ClaimSignature: sig1}

	reply, err := e.service().GetToken(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, &escrowpb.TokenReply{ChannelId: 42, Token: prepaidTestJWT, PlannedAmount: 12345, UsedAmount: 0}, reply)

	stored := e.stored(t, 42)
	require.Equal(t, int64(12345), stored.AuthorizedAmount.Int64())
	require.Equal(t, sig1, stored.Signature)
	require.Equal(t, int64(3), stored.Nonce.Int64())
	require.Equal(t, int64(12345), prepaidTestCounter(t, e.store, 42, escrow.PrepaidPlanned))
	require.Equal(t, int64(-1), prepaidTestCounter(t, e.store, 42, escrow.PrepaidUsed))

	// The same request again adds nothing and gives the same token.
	again, err := e.service().GetToken(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, reply.Token, again.Token)
	require.Equal(t, uint64(12345), again.PlannedAmount)
}

func TestPrepaidGetTokenRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*prepaidTestEnv)
		req   func(t *testing.T) *escrowpb.TokenRequest
		code  codes.Code
		msg   string
	}{
		{name: "unknown channel", req: func(t *testing.T) *escrowpb.TokenRequest {
			return prepaidTestRequest(t, clientKey, clientKey, 99, 0, 200, 7000000)
		}, code: codes.Unknown, msg: "channel is not found, channelId: 99"},
		{name: "below the signed amount", req: func(t *testing.T) *escrowpb.TokenRequest {
			return prepaidTestRequest(t, clientKey, clientKey, 42, 0, 99, 7000000)
		}, code: codes.Unknown, msg: "signed amount for token request needs to be greater than last signed amount"},
		{name: "above the channel value", req: func(t *testing.T) *escrowpb.TokenRequest {
			return prepaidTestRequest(t, clientKey, clientKey, 42, 0, 100001, 7000000)
		}, code: codes.Unknown, msg: "signed amount for token request cannot be greater than full amount in channel"},
		{name: "request signature too short", req: func(t *testing.T) *escrowpb.TokenRequest {
			r := prepaidTestRequest(t, clientKey, clientKey, 42, 0, 200, 7000000)
			r.Signature = r.Signature[:64]
			return r
		}, code: codes.Unknown, msg: "incorrect signature"},
		{name: "asked by a stranger", req: func(t *testing.T) *escrowpb.TokenRequest {
			return prepaidTestRequest(t, strangerKey, clientKey, 42, 0, 200, 7000000)
		}, code: codes.Unknown, msg: "only channel signer/sender/receiver can get a Valid Token"},
		{name: "request signed for another block", req: func(t *testing.T) *escrowpb.TokenRequest {
			r := prepaidTestRequest(t, clientKey, clientKey, 42, 0, 200, 7000000)
			r.CurrentBlock = 7000001
			return r
		}, code: codes.Unknown, msg: "only channel signer/sender/receiver can get a Valid Token"},
		{name: "block too old", req: func(t *testing.T) *escrowpb.TokenRequest {
			return prepaidTestRequest(t, clientKey, clientKey, 42, 0, 200, 6999994)
		}, code: codes.Unknown, msg: "authentication failed as the signature passed has expired"},
		{name: "block ahead", req: func(t *testing.T) *escrowpb.TokenRequest {
			return prepaidTestRequest(t, clientKey, clientKey, 42, 0, 200, 7000006)
		}, code: codes.Unknown, msg: "authentication failed as the signature passed has expired"},
		{name: "wrong nonce", req: func(t *testing.T) *escrowpb.TokenRequest {
			return prepaidTestRequest(t, clientKey, clientKey, 42, 1, 200, 7000000)
		}, code: escrow.CodeIncorrectNonce, msg: "incorrect payment channel nonce, latest: 0, sent: 1"},
		{name: "claim signed by a stranger", req: func(t *testing.T) *escrowpb.TokenRequest {
			return prepaidTestRequest(t, clientKey, strangerKey, 42, 0, 200, 7000000)
		}, code: codes.Unauthenticated, msg: "payment is not signed by channel signer/sender"},
		{name: "claim for another amount", req: func(t *testing.T) *escrowpb.TokenRequest {
			r := prepaidTestRequest(t, clientKey, clientKey, 42, 0, 200, 7000000)
			r.SignedAmount = 300
			return r
		}, code: codes.Unauthenticated, msg: "payment is not signed by channel signer/sender"},
		{name: "claim with a bad recovery id", req: func(t *testing.T) *escrowpb.TokenRequest {
			r := prepaidTestRequest(t, clientKey, clientKey, 42, 0, 200, 7000000)
			r.ClaimSignature[64] = 0x21
			sig, err := escrow.Sign(escrow.PrepaidTokenMessage(r.ClaimSignature, r.CurrentBlock), clientKey)
			require.NoError(t, err)
			r.Signature = sig
			return r
		}, code: codes.Unauthenticated, msg: "payment signature is not valid"},
		{name: "channel near expiry", setup: func(e *prepaidTestEnv) { e.chain.set(42, openChannel(0, 100000, 7000100)) },
			req: func(t *testing.T) *escrowpb.TokenRequest {
				return prepaidTestRequest(t, clientKey, clientKey, 42, 0, 200, 7000000)
			}, code: codes.Unauthenticated, msg: "payment channel is near to be expired, expiration time: 7000100, current block: 7000000, expiration threshold: 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := prepaidTestSetup(t, nil)
			ctx := context.Background()
			prepaidTestToken(t, e, 100)
			if tc.setup != nil {
				tc.setup(e)
			}
			keys := e.store.Keys()
			before, err := e.store.List(ctx, keys.ChannelPrefix())
			require.NoError(t, err)
			planned := prepaidTestCounter(t, e.store, 42, escrow.PrepaidPlanned)

			_, err = e.service().GetToken(ctx, tc.req(t))
			prepaidTestRequireWire(t, err, tc.code, tc.msg)

			after, err := e.store.List(ctx, keys.ChannelPrefix())
			require.NoError(t, err)
			require.Equal(t, before, after, "a refused request must not change the channel")
			require.Equal(t, planned, prepaidTestCounter(t, e.store, 42, escrow.PrepaidPlanned))
		})
	}
}

// The channel's recipient may ask for a token too (upstream allows signer,
// sender and recipient); the token then names the recipient.
func TestPrepaidGetTokenByRecipient(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	reply, err := e.service().GetToken(context.Background(), prepaidTestRequest(t, providerKey, clientKey, 42, 0, 50, 7000003))
	require.NoError(t, err)
	require.Equal(t, uint64(50), reply.PlannedAmount)
	r, err := e.p.Pay(context.Background(), "/svc/M", prepaidTestMD("42", reply.Token), big.NewInt(50))
	require.NoError(t, err)
	require.Equal(t, crypto.PubkeyToAddress(providerKey.PublicKey).Hex(), r.Payer())
}

func TestPrepaidSecondTokenRaisesPlanned(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	ctx := context.Background()
	first := prepaidTestToken(t, e, 100)
	require.Equal(t, uint64(100), first.PlannedAmount)
	_, err := e.p.Pay(ctx, "/svc/M", prepaidTestMD("42", first.Token), big.NewInt(30))
	require.NoError(t, err)

	second := prepaidTestToken(t, e, 250)
	require.Equal(t, uint64(250), second.PlannedAmount, "P grows by the delta only")
	require.Equal(t, uint64(30), second.UsedAmount)
	require.Equal(t, int64(250), e.stored(t, 42).AuthorizedAmount.Int64())

	// A pay-per-call payment on the same channel is not prepaid money.
	_, err = e.ch.Pay(ctx, payment(t, clientKey, 42, 0, 260), price)
	require.NoError(t, err)
	third := prepaidTestToken(t, e, 300)
	require.Equal(t, uint64(290), third.PlannedAmount)
	require.Equal(t, int64(290), prepaidTestCounter(t, e.store, 42, escrow.PrepaidPlanned))
}

// After a claim the channel starts a new nonce at 0: the next token request
// adds its whole amount.
func TestPrepaidPlannedAcrossNonces(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	prepaidTestToken(t, e, 100)
	e.chain.set(42, openChannel(1, 99900, 7100000))
	reply, err := e.service().GetToken(context.Background(), prepaidTestRequest(t, clientKey, clientKey, 42, 1, 40, 7000000))
	require.NoError(t, err)
	require.Equal(t, uint64(140), reply.PlannedAmount)
}

// A channel paid only per call has no planned amount: the SDK matches this
// exact text to sign a new amount instead.
func TestPrepaidGetTokenWithoutPlanned(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	_, err := e.ch.Pay(context.Background(), payment(t, clientKey, 42, 0, 10), price)
	require.NoError(t, err)
	_, err = e.service().GetToken(context.Background(), prepaidTestRequest(t, clientKey, clientKey, 42, 0, 10, 7000000))
	prepaidTestRequireWire(t, err, codes.Unknown, "Unable to retrieve planned Amount ")
}

// Funds just added on chain are seen: the cached value is re-read once.
func TestPrepaidGetTokenRereadsChain(t *testing.T) {
	e := prepaidTestSetup(t, nil)
	e.chain.real[42] = openChannel(0, 500000, 7100000)
	reply := prepaidTestToken(t, e, 400000)
	require.Equal(t, uint64(400000), reply.PlannedAmount)
	require.Equal(t, int32(1), e.chain.refreshes.Load())
}

// The signed amount and P are one transaction: whatever etcd does to the
// commit, the client's money is credited exactly once or not at all (and
// then a retry credits it).
func TestPrepaidGetTokenCommitIsAtomic(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode etcdfault.Hook
	}{
		{"landed but timed out", etcdfault.Landed},
		{"timed out before landing", etcdfault.Lost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv := etcdfault.New(etcdClient())
			e := prepaidTestSetup(t, kv)
			prepaidTestToken(t, e, 100)
			kv.OnNextWrites(tc.mode)
			reply := prepaidTestToken(t, e, 250)
			require.Equal(t, uint64(250), reply.PlannedAmount)
			require.Equal(t, int64(250), e.stored(t, 42).AuthorizedAmount.Int64())
			require.Equal(t, int64(250), prepaidTestCounter(t, e.store, 42, escrow.PrepaidPlanned))
		})
	}

	t.Run("storage down", func(t *testing.T) {
		kv := etcdfault.New(etcdClient())
		e := prepaidTestSetup(t, kv)
		prepaidTestToken(t, e, 100)
		kv.WritesDown(etcdfault.ErrInjected)
		_, err := e.service().GetToken(context.Background(), prepaidTestRequest(t, clientKey, clientKey, 42, 0, 250, 7000000))
		requireStatus(t, err, codes.Internal, "unable to store new payment channel state")
		kv.WritesDown(nil)
		require.Equal(t, int64(100), e.stored(t, 42).AuthorizedAmount.Int64())
		require.Equal(t, int64(100), prepaidTestCounter(t, e.store, 42, escrow.PrepaidPlanned))
		// The client retries the same request and is credited once.
		reply := prepaidTestToken(t, e, 250)
		require.Equal(t, uint64(250), reply.PlannedAmount)
	})
}

// The real contracts: the claim GetToken stored is one the provider can
// claim on chain, and prepaid calls spend exactly what was planned.
func TestPrepaidOnSimulatedChain(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	head, err := sim.Head(ctx)
	require.NoError(t, err)
	group := chaintest.Bytes32("default_group")
	id, err := sim.Contracts.DepositAndOpenChannel(ctx, sim.Sender.Opts(), sim.Sender.Address, sim.Provider.Address,
		group, big.NewInt(1000), new(big.Int).SetUint64(head+1000))
	require.NoError(t, err)

	chain := escrow.NewChain(sim.Client(), sim.Contracts.MPE, escrow.ChainOptions{PollInterval: time.Hour})
	store := escrow.NewStore(etcdClient(), escrow.NewKeys(prepaidTestNetwork(t), "snet", "default", sim.Contracts.MPE), 0)
	channels := escrow.NewChannels(store, chain, escrow.Group{
		MPE: sim.Contracts.MPE, ID: group, PaymentAddress: sim.Provider.Address, ExpirationThreshold: 10,
	}, nil)
	p, err := escrow.NewPrepaid(escrow.PrepaidOptions{Secret: []byte(prepaidTestSecret), OrgID: "snet", Store: store, Channels: channels})
	require.NoError(t, err)

	head, err = chain.Head(ctx)
	require.NoError(t, err)
	msg, err := escrow.ClaimMessage(sim.Contracts.MPE, id, big.NewInt(0), big.NewInt(500))
	require.NoError(t, err)
	claim, err := escrow.Sign(msg, sim.Sender.Key)
	require.NoError(t, err)
	sig, err := escrow.Sign(escrow.PrepaidTokenMessage(claim, head), sim.Sender.Key)
	require.NoError(t, err)
	reply, err := escrow.NewTokenService(p).GetToken(ctx, &escrowpb.TokenRequest{
		ChannelId: id.Uint64(), SignedAmount: 500, Signature: sig, CurrentBlock: head, ClaimSignature: claim})
	require.NoError(t, err)
	require.Equal(t, uint64(500), reply.PlannedAmount)

	for range 5 {
		r, err := p.Pay(ctx, "/svc/M", prepaidTestMD(id.String(), reply.Token), big.NewInt(100))
		require.NoError(t, err)
		require.Equal(t, sim.Sender.Address.Hex(), r.Payer())
	}
	_, err = p.Pay(ctx, "/svc/M", prepaidTestMD(id.String(), reply.Token), big.NewInt(1))
	requireStatus(t, err, codes.Internal, "internal error: Usage Exceeded on channel Id "+id.String())

	stored, _, err := store.Channel(ctx, id)
	require.NoError(t, err)
	before, err := sim.Contracts.MPEBalance(ctx, sim.Provider.Address)
	require.NoError(t, err)
	require.NoError(t, sim.Contracts.ChannelClaim(ctx, sim.Provider.Opts(), id, big.NewInt(500), big.NewInt(500), stored.Signature, false))
	after, err := sim.Contracts.MPEBalance(ctx, sim.Provider.Address)
	require.NoError(t, err)
	require.Equal(t, int64(500), new(big.Int).Sub(after, before).Int64())
}
