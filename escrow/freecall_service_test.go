package escrow_test

import (
	"context"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fcSig7 is spec §13.2 vector 7: the client's GetFreeCallToken request at
// block 7000000.
const fcSig7 = "81a029a77912a40c116c9c5ce160adaae63443b5623f63f3a655e4565a2a433d743153038f3f570be81b70aeecb672cb75170ca2e403db682db1ea42c17158f300"

// TestFreeCallTokenVectors: request vector 7 gets exactly token vector 8.
func TestFreeCallTokenVectors(t *testing.T) {
	e := fcNew(t, nil, func(o *escrow.FreeCallOptions) {
		o.SigningKey = wvKey(t, wvFreeKey)
		o.SignerAddress = common.HexToAddress(wvFreeSigner)
	})
	tok, err := e.svc.GetFreeCallToken(context.Background(), &escrowpb.GetFreeCallTokenRequest{
		Address: wvClientAddr, Signature: wvHex(t, fcSig7), CurrentBlock: wvBlock,
	})
	require.NoError(t, err)
	require.Equal(t, wvToken, hex.EncodeToString(tok.GetToken()))
	require.Equal(t, wvToken, tok.GetTokenHex())
	require.Equal(t, uint64(7172800), tok.GetTokenExpirationBlock())
	require.Equal(t, int32(1), e.bal.calls.Load(), "an untrusted caller's balance is checked")
}

func TestGetFreeCallToken(t *testing.T) {
	u := fcNewUser(t)
	lifetime := func(n uint64) *uint64 { return &n }
	tests := []struct {
		name     string
		edit     func(e *fcEnv, req *escrowpb.GetFreeCallTokenRequest)
		opts     func(o *escrow.FreeCallOptions)
		expiry   uint64
		code     codes.Code // Unknown: a plain error
		msg      string
		balCalls int32
	}{
		{name: "default lifetime", expiry: wvBlock + 172800, balCalls: 1},
		{name: "shorter lifetime", edit: func(_ *fcEnv, r *escrowpb.GetFreeCallTokenRequest) { r.TokenLifetimeInBlocks = lifetime(100) },
			expiry: wvBlock + 100, balCalls: 1},
		{name: "zero lifetime", edit: func(_ *fcEnv, r *escrowpb.GetFreeCallTokenRequest) { r.TokenLifetimeInBlocks = lifetime(0) },
			expiry: wvBlock, balCalls: 1},
		{name: "longest lifetime", edit: func(_ *fcEnv, r *escrowpb.GetFreeCallTokenRequest) { r.TokenLifetimeInBlocks = lifetime(172800) },
			expiry: wvBlock + 172800, balCalls: 1},
		{name: "too long a lifetime is ignored", edit: func(_ *fcEnv, r *escrowpb.GetFreeCallTokenRequest) { r.TokenLifetimeInBlocks = lifetime(172801) },
			expiry: wvBlock + 172800, balCalls: 1},
		{name: "block 5 behind", edit: func(e *fcEnv, _ *escrowpb.GetFreeCallTokenRequest) { e.head.head = wvBlock + 5 },
			expiry: wvBlock + 5 + 172800, balCalls: 1},
		{name: "block 6 behind", edit: func(e *fcEnv, _ *escrowpb.GetFreeCallTokenRequest) { e.head.head = wvBlock + 6 },
			code: codes.Unknown, msg: "authentication failed as the signature passed has expired"},
		{name: "block 6 ahead", edit: func(e *fcEnv, _ *escrowpb.GetFreeCallTokenRequest) { e.head.head = wvBlock - 6 },
			code: codes.Unknown, msg: "authentication failed as the signature passed has expired"},
		{name: "head unknown", edit: func(e *fcEnv, _ *escrowpb.GetFreeCallTokenRequest) { e.head.err = errors.New("node down") },
			code: codes.Unknown, msg: "cannot determine current block: node down"},
		{name: "untrusted signer with user id",
			edit: func(e *fcEnv, r *escrowpb.GetFreeCallTokenRequest) { *r = *e.tokenRequest(t, u, "alice", wvBlock) },
			code: codes.Unknown, msg: "your address is not trusted by this service provider, the use of user_id is not allowed"},
		{name: "low balance", edit: func(e *fcEnv, _ *escrowpb.GetFreeCallTokenRequest) { e.bal.poor[common.HexToAddress(u.addr)] = true },
			code: codes.PermissionDenied, msg: "you must have at least 10 FET (ASI) in your balance to use free calls", balCalls: 1},
		{name: "fractional minimum", opts: func(o *escrow.FreeCallOptions) { o.MinBalance = new(big.Int).Div(fcTokens(21), big.NewInt(2)) },
			edit: func(e *fcEnv, _ *escrowpb.GetFreeCallTokenRequest) { e.bal.poor[common.HexToAddress(u.addr)] = true },
			code: codes.PermissionDenied, msg: "you must have at least 10.5 FET (ASI) in your balance to use free calls", balCalls: 1},
		{name: "small minimum", opts: func(o *escrow.FreeCallOptions) { o.MinBalance = big.NewInt(15) },
			edit: func(e *fcEnv, _ *escrowpb.GetFreeCallTokenRequest) { e.bal.err = errors.New("rpc down") },
			code: codes.Unavailable, msg: "cannot read the FET (ASI) balance", balCalls: 1},
		{name: "balance unreadable", edit: func(e *fcEnv, _ *escrowpb.GetFreeCallTokenRequest) { e.bal.err = errors.New("rpc down") },
			code: codes.Unavailable, msg: "cannot read the FET (ASI) balance of " + u.addr + ", try again later", balCalls: 1},
		{name: "no minimum balance", opts: func(o *escrow.FreeCallOptions) { o.MinBalance = nil },
			edit:   func(e *fcEnv, _ *escrowpb.GetFreeCallTokenRequest) { e.bal.poor[common.HexToAddress(u.addr)] = true },
			expiry: wvBlock + 172800},
		{name: "trusted signer with user id",
			opts:   func(o *escrow.FreeCallOptions) { o.TrustedSigners = []common.Address{common.HexToAddress(u.addr)} },
			edit:   func(e *fcEnv, r *escrowpb.GetFreeCallTokenRequest) { *r = *e.tokenRequest(t, u, "alice", wvBlock) },
			expiry: wvBlock + 172800},
		{name: "signed by someone else",
			edit: func(e *fcEnv, r *escrowpb.GetFreeCallTokenRequest) {
				v := fcNewUser(t)
				r.Signature = e.tokenRequest(t, v, "", wvBlock).GetSignature()
			},
			code: codes.Unknown, msg: "invalid signer, " + u.addr + " (from request) is not equal to"},
		{name: "bad signature", edit: func(_ *fcEnv, r *escrowpb.GetFreeCallTokenRequest) { r.Signature = r.Signature[:64] },
			code: codes.Unknown, msg: "incorrect signature length: got 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fcNew(t, nil, tt.opts)
			req := e.tokenRequest(t, u, "", wvBlock)
			if tt.edit != nil {
				tt.edit(e, req)
			}
			tok, err := e.svc.GetFreeCallToken(context.Background(), req)
			require.Equal(t, tt.balCalls, e.bal.calls.Load())
			if tt.msg != "" {
				require.Error(t, err)
				st := status.Convert(err)
				require.Equal(t, tt.code, st.Code(), st.Message())
				require.True(t, strings.HasPrefix(st.Message(), tt.msg), st.Message())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.expiry, tok.GetTokenExpirationBlock())
			require.Equal(t, hex.EncodeToString(tok.GetToken()), tok.GetTokenHex())
			// The token is the signer's signature of the body, then "_<expiry>".
			sig, expiry, err := escrow.ParseFreeCallToken(tok.GetToken())
			require.NoError(t, err)
			require.Equal(t, tt.expiry, expiry)
			got, err := escrow.RecoverSigner(escrow.FreeCallTokenBody(wvOrg, wvGroupName, common.HexToAddress(u.addr), req.GetUserId(), expiry), sig)
			require.NoError(t, err)
			require.Equal(t, crypto.PubkeyToAddress(e.signer.PublicKey), got)
			require.Less(t, sig[64], byte(2), "the daemon's own signatures have v in {0,1}")
		})
	}
}

// TestFreeCallStateDisabled: without a usable signing key the service is
// upstream's disabled stub; free calls with valid tokens still work.
func TestFreeCallStateDisabled(t *testing.T) {
	other, err := crypto.GenerateKey()
	require.NoError(t, err)
	ctx := context.Background()
	check := func(t *testing.T, svc *escrow.FreeCallStateService) {
		_, err := svc.GetFreeCallToken(ctx, &escrowpb.GetFreeCallTokenRequest{})
		require.EqualError(t, err, "error in generating token because blockchain is disabled, contact service provider")
		require.Equal(t, codes.Unknown, status.Code(err))
		_, err = svc.GetFreeCallsAvailable(ctx, &escrowpb.FreeCallStateRequest{})
		require.EqualError(t, err, "error in determining free calls because blockchain is disabled, contact service provider")
	}
	t.Run("blockchain disabled", func(t *testing.T) { check(t, escrow.NewFreeCallStateService(nil)) })
	t.Run("no key", func(t *testing.T) {
		e := fcNew(t, nil, nil)
		key := e.signer
		e2 := fcNew(t, nil, func(o *escrow.FreeCallOptions) {
			o.SigningKey, o.SignerAddress = nil, crypto.PubkeyToAddress(key.PublicKey)
		})
		check(t, e2.svc)
		// A token from a replica that has the key is honoured.
		u := fcNewUser(t)
		_, err := e2.fc.Pay(ctx, fcCallMD(t, u, "", wvBlock, e.token(t, u, "")))
		require.NoError(t, err)
	})
	t.Run("key is not the metadata signer", func(t *testing.T) {
		e := fcNew(t, nil, func(o *escrow.FreeCallOptions) { o.SignerAddress = crypto.PubkeyToAddress(other.PublicKey) })
		check(t, e.svc)
	})
}

func TestGetFreeCallsAvailable(t *testing.T) {
	ctx := context.Background()
	u, unlimited, configured := fcNewUser(t), fcNewUser(t), fcNewUser(t)
	e := fcNew(t, nil, func(o *escrow.FreeCallOptions) {
		o.MetadataFreeCalls = 3
		o.PerAddress = map[common.Address]int{
			common.HexToAddress(unlimited.addr):  escrow.FreeCallsUnlimited,
			common.HexToAddress(configured.addr): 5,
		}
	})
	available := func(u fcUser, userID string, tok []byte, block uint64) (uint64, error) {
		sig, err := escrow.Sign(escrow.FreeCallMessage(u.addr, userID, wvOrg, wvService, wvGroupB64, block, tok), u.key)
		require.NoError(t, err)
		req := &escrowpb.FreeCallStateRequest{Address: u.addr, FreeCallToken: tok, Signature: sig, CurrentBlock: block}
		if userID != "" {
			req.UserId = &userID
		}
		r, err := e.svc.GetFreeCallsAvailable(ctx, req)
		return r.GetFreeCallsAvailable(), err
	}
	for _, tt := range []struct {
		u     fcUser
		calls int
		want  []uint64 // after 0, 1, … calls
	}{
		{u, 4, []uint64{3, 2, 1, 0, 0}},
		{unlimited, 2, []uint64{99999999, 99999999, 99999999}},
		{configured, 2, []uint64{5, 4, 3}},
	} {
		tok := e.token(t, tt.u, "")
		for i := 0; ; i++ {
			n, err := available(tt.u, "", tok, wvBlock)
			require.NoError(t, err)
			require.Equal(t, tt.want[i], n, "%s after %d calls", tt.u.addr, i)
			if i == tt.calls {
				break
			}
			_, _ = e.fc.Pay(ctx, fcCallMD(t, tt.u, "", wvBlock, tok))
		}
	}
	require.Equal(t, 3, e.made(t, u.addr, ""), "GetFreeCallsAvailable counts nothing")

	// Refusals are plain errors (gRPC Unknown) with upstream's texts.
	tok := e.token(t, u, "")
	for name, tc := range map[string]struct {
		run func() (uint64, error)
		msg string
	}{
		"window": {func() (uint64, error) { return available(u, "", tok, wvBlock+6) },
			"authentication failed as the signature passed has expired"},
		"expired": {func() (uint64, error) { return available(u, "", fcMint(t, e.signer, u.addr, "", wvBlock-1), wvBlock) },
			"authentication failed as the Free Call Token passed has expired"},
		"forged": {func() (uint64, error) {
			k, _ := crypto.GenerateKey()
			return available(u, "", fcMint(t, k, u.addr, "", wvBlock+9), wvBlock)
		}, "token sign is not valid"},
		"token format":  {func() (uint64, error) { return available(u, "", []byte("x"), wvBlock) }, "no '_' found"},
		"other user id": {func() (uint64, error) { return available(u, "alice", tok, wvBlock) }, "token sign is not valid"},
	} {
		_, err := tc.run()
		require.Error(t, err, name)
		require.Equal(t, codes.Unknown, status.Code(err), name)
		require.EqualError(t, err, tc.msg, name)
	}

	// A request signed by someone else than address.
	v := fcNewUser(t)
	sig, err := escrow.Sign(escrow.FreeCallMessage(u.addr, "", wvOrg, wvService, wvGroupB64, wvBlock, tok), v.key)
	require.NoError(t, err)
	_, err = e.svc.GetFreeCallsAvailable(ctx, &escrowpb.FreeCallStateRequest{Address: u.addr, FreeCallToken: tok, Signature: sig, CurrentBlock: wvBlock})
	require.ErrorContains(t, err, "sign is not valid: unauthorized signer: "+u.addr+" not equal "+v.addr)
}
