package escrow_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/etcdfault"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
)

// Helpers of the control-service tests are prefixed ctl.

func ctlList(t testing.TB, mpe common.Address, key *ecdsa.PrivateKey, message func(common.Address, uint64) []byte, block uint64) *escrowpb.GetPaymentsListRequest {
	t.Helper()
	sig, err := escrow.Sign(message(mpe, block), key)
	require.NoError(t, err)
	return &escrowpb.GetPaymentsListRequest{MpeAddress: mpe.Hex(), CurrentBlock: block, Signature: sig}
}

func ctlStart(t testing.TB, mpe common.Address, key *ecdsa.PrivateKey, id, nonce *big.Int) *escrowpb.StartClaimRequest {
	t.Helper()
	msg, err := escrow.StartClaimMessage(mpe, id, nonce)
	require.NoError(t, err)
	sig, err := escrow.Sign(msg, key)
	require.NoError(t, err)
	return &escrowpb.StartClaimRequest{MpeAddress: mpe.Hex(), ChannelId: id.Bytes(), Signature: sig}
}

func ctlMulti(t testing.TB, mpe common.Address, key *ecdsa.PrivateKey, ids []uint64, block uint64) *escrowpb.StartMultipleClaimRequest {
	t.Helper()
	sig, err := escrow.Sign(escrow.StartMultipleClaimMessage(mpe, ids, block), key)
	require.NoError(t, err)
	return &escrowpb.StartMultipleClaimRequest{MpeAddress: mpe.Hex(), ChannelIds: ids, CurrentBlock: block, Signature: sig}
}

func ctlStateRequest(t testing.TB, mpe common.Address, key *ecdsa.PrivateKey, id *big.Int, block uint64) *escrowpb.ChannelStateRequest {
	t.Helper()
	msg, err := escrow.ChannelStateMessage(mpe, id, block)
	require.NoError(t, err)
	sig, err := escrow.Sign(msg, key)
	require.NoError(t, err)
	return &escrowpb.ChannelStateRequest{ChannelId: id.Bytes(), Signature: sig, CurrentBlock: block}
}

func ctlU256(n int64) []byte { return escrow.U256Bytes(big.NewInt(n)) }

// ctlEtcd is every key under the test's root with its revision: a refusal
// must leave it exactly as it was.
func ctlEtcd(t testing.TB, kv clientv3.KV, network string) map[string]string {
	t.Helper()
	resp, err := kv.Get(context.Background(), network+"/", clientv3.WithPrefix())
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range resp.Kvs {
		out[string(e.Key)] = fmt.Sprintf("%d:%x", e.ModRevision, e.Value)
	}
	return out
}

func ctlNetwork(t testing.TB) string { return strings.ReplaceAll(t.Name(), "/", "_") }

// ctlFixture is newFixture on an empty key root, so that -count=N runs
// start from scratch (the root is named after the test).
func ctlFixture(t *testing.T, kv clientv3.KV) *fixture {
	t.Helper()
	ctlClean(t)
	return newFixture(t, kv)
}

func ctlClean(t *testing.T) {
	t.Helper()
	_, err := etcdClient().Delete(context.Background(), ctlNetwork(t)+"/", clientv3.WithPrefix())
	require.NoError(t, err)
}

func ctlRecord(t testing.TB, store *escrow.Store, id, nonce int64) *escrow.PaymentRecord {
	t.Helper()
	v, err := store.Get(context.Background(), store.Keys().Payment(big.NewInt(id), big.NewInt(nonce)))
	require.NoError(t, err)
	if v.Rev == 0 {
		return nil
	}
	rec, err := escrow.DecodePaymentRecord(v.Raw)
	require.NoError(t, err)
	return rec
}

func ctlPay(t testing.TB, ch *escrow.Channels, id, nonce, amount int64) {
	t.Helper()
	_, err := ch.Pay(context.Background(), payment(t, clientKey, id, nonce, amount), price)
	require.NoError(t, err)
}

// The whole life of a claim against the fake chain: list, start, in flight
// (GetChannelState shows the old nonce), mined, collected, paying on.
func TestControlClaimLifecycle(t *testing.T) {
	f := ctlFixture(t, nil)
	ctx := t.Context()
	svc := escrow.NewControlService(f.ch)
	states := escrow.NewStateService(f.ch)
	head := f.chain.head
	for i := int64(1); i <= 3; i++ {
		ctlPay(t, f.ch, 42, 0, i*10)
	}

	un, err := svc.GetListUnclaimed(ctx, ctlList(t, testMPE, providerKey, escrow.ListUnclaimedMessage, head))
	require.NoError(t, err)
	require.Len(t, un.Payments, 1)
	require.Equal(t, &escrowpb.PaymentReply{ChannelId: ctlU256(42), ChannelNonce: ctlU256(0), SignedAmount: ctlU256(30),
		ChannelExpiry: ctlU256(7100000)}, un.Payments[0], "no signature in the unclaimed list")

	rep, err := svc.StartClaim(ctx, ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(0)))
	require.NoError(t, err)
	sig30 := payment(t, clientKey, 42, 0, 30).Signature
	require.Equal(t, &escrowpb.PaymentReply{ChannelId: ctlU256(42), ChannelNonce: ctlU256(0), SignedAmount: ctlU256(30),
		Signature: sig30}, rep)

	// One transaction moved the channel on and saved the payment.
	got := f.stored(t, 42)
	require.Equal(t, int64(1), got.Nonce.Int64())
	require.Equal(t, int64(99970), got.FullAmount.Int64())
	require.Zero(t, got.AuthorizedAmount.Sign())
	require.Nil(t, got.Signature)
	require.Equal(t, &escrow.PaymentRecord{MpeContractAddress: testMPE, ChannelID: big.NewInt(42), ChannelNonce: big.NewInt(0),
		Amount: big.NewInt(30), Signature: sig30}, ctlRecord(t, f.store, 42, 0))

	// In flight: the client learns what it signed in the old nonce.
	st, err := states.GetChannelState(ctx, ctlStateRequest(t, testMPE, clientKey, big.NewInt(42), head))
	require.NoError(t, err)
	require.Equal(t, ctlU256(1), st.CurrentNonce)
	require.Equal(t, ctlU256(0), st.CurrentSignedAmount)
	require.Equal(t, ctlU256(30), st.OldNonceSignedAmount)
	require.Equal(t, sig30, st.OldNonceSignature)

	un, err = svc.GetListUnclaimed(ctx, ctlList(t, testMPE, providerKey, escrow.ListUnclaimedMessage, head))
	require.NoError(t, err)
	require.Empty(t, un.Payments)
	inProgress, err := svc.GetListInProgress(ctx, ctlList(t, testMPE, providerKey, escrow.ListInProgressMessage, head))
	require.NoError(t, err)
	require.Equal(t, []*escrowpb.PaymentReply{{ChannelId: ctlU256(42), ChannelNonce: ctlU256(0), SignedAmount: ctlU256(30),
		Signature: sig30, ChannelExpiry: ctlU256(7100000)}}, inProgress.Payments)

	// The client pays on in the new nonce from 0; the old nonce is closed.
	ctlPay(t, f.ch, 42, 1, 10)
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 40), price)
	requireStatus(t, err, escrow.CodeIncorrectNonce, "incorrect payment channel nonce, latest: 1, sent: 0")

	// Mined: the chain's nonce passes the record, which is collected.
	f.chain.set(42, openChannel(1, 99970, 7100000))
	inProgress, err = svc.GetListInProgress(ctx, ctlList(t, testMPE, providerKey, escrow.ListInProgressMessage, head))
	require.NoError(t, err)
	require.Empty(t, inProgress.Payments)
	require.Nil(t, ctlRecord(t, f.store, 42, 0))

	st, err = states.GetChannelState(ctx, ctlStateRequest(t, testMPE, clientKey, big.NewInt(42), head))
	require.NoError(t, err)
	require.Equal(t, ctlU256(1), st.CurrentNonce)
	require.Equal(t, ctlU256(10), st.CurrentSignedAmount)
	require.Empty(t, st.OldNonceSignedAmount)

	un, err = svc.GetListUnclaimed(ctx, ctlList(t, testMPE, providerKey, escrow.ListUnclaimedMessage, head))
	require.NoError(t, err)
	require.Equal(t, []*escrowpb.PaymentReply{{ChannelId: ctlU256(42), ChannelNonce: ctlU256(1), SignedAmount: ctlU256(10),
		ChannelExpiry: ctlU256(7100000)}}, un.Payments)
}

func TestControlRefusalsChangeNothing(t *testing.T) {
	other := common.HexToAddress("0x0000000000000000000000000000000000000001")
	client := crypto.PubkeyToAddress(clientKey.PublicKey).Hex()
	const head = 7000000
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, svc *escrow.ControlService)
		call  func(t *testing.T, svc *escrow.ControlService) error
		msg   string // exact text; "~" prefix: the text contains the rest
	}{
		{name: "unclaimed/wrong MPE", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.GetListUnclaimed(t.Context(), ctlList(t, other, providerKey, escrow.ListUnclaimedMessage, head))
			return err
		}, msg: "the mpeAddress: 0x0000000000000000000000000000000000000001 passed does not match to what has been registered"},
		{name: "in progress/wrong MPE", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.GetListInProgress(t.Context(), ctlList(t, other, providerKey, escrow.ListInProgressMessage, head))
			return err
		}, msg: "the mpeAddress: 0x0000000000000000000000000000000000000001 passed does not match to what has been registered"},
		{name: "start/wrong MPE", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaim(t.Context(), ctlStart(t, other, providerKey, big.NewInt(42), big.NewInt(0)))
			return err
		}, msg: "the mpeAddress: 0x0000000000000000000000000000000000000001 passed does not match to what has been registered"},
		{name: "multi/wrong MPE", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaimForMultipleChannels(t.Context(), ctlMulti(t, other, providerKey, []uint64{42}, head))
			return err
		}, msg: "the mpeAddress: 0x0000000000000000000000000000000000000001 passed does not match to what has been registered"},
		{name: "unclaimed/wrong signer", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.GetListUnclaimed(t.Context(), ctlList(t, testMPE, clientKey, escrow.ListUnclaimedMessage, head))
			return err
		}, msg: "the address: " + client + " does not match to what has been expected / registered"},
		{name: "in progress/wrong signer", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.GetListInProgress(t.Context(), ctlList(t, testMPE, clientKey, escrow.ListInProgressMessage, head))
			return err
		}, msg: "the address: " + client + " does not match to what has been expected / registered"},
		{name: "unclaimed/signed as in progress", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.GetListUnclaimed(t.Context(), ctlList(t, testMPE, providerKey, escrow.ListInProgressMessage, head))
			return err
		}, msg: "~does not match to what has been expected / registered"},
		{name: "start/wrong signer", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaim(t.Context(), ctlStart(t, testMPE, clientKey, big.NewInt(42), big.NewInt(0)))
			return err
		}, msg: "the address: " + client + " does not match to what has been expected / registered"},
		{name: "start/signed for another nonce", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaim(t.Context(), ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(1)))
			return err
		}, msg: "~does not match to what has been expected / registered"},
		{name: "start/short signature", call: func(t *testing.T, svc *escrow.ControlService) error {
			req := ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(0))
			req.Signature = req.Signature[:64]
			_, err := svc.StartClaim(t.Context(), req)
			return err
		}, msg: "incorrect signature length: got 64 bytes"},
		{name: "multi/wrong signer", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaimForMultipleChannels(t.Context(), ctlMulti(t, testMPE, clientKey, []uint64{42}, head))
			return err
		}, msg: "the address: " + client + " does not match to what has been expected / registered"},
		{name: "multi/ids not as signed", call: func(t *testing.T, svc *escrow.ControlService) error {
			req := ctlMulti(t, testMPE, providerKey, []uint64{42}, head)
			req.ChannelIds = []uint64{42, 43}
			_, err := svc.StartClaimForMultipleChannels(t.Context(), req)
			return err
		}, msg: "~does not match to what has been expected / registered"},
		{name: "unclaimed/stale block", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.GetListUnclaimed(t.Context(), ctlList(t, testMPE, providerKey, escrow.ListUnclaimedMessage, head-6))
			return err
		}, msg: "authentication failed as the signature passed has expired"},
		{name: "in progress/block ahead", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.GetListInProgress(t.Context(), ctlList(t, testMPE, providerKey, escrow.ListInProgressMessage, head+6))
			return err
		}, msg: "authentication failed as the signature passed has expired"},
		{name: "multi/stale block", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaimForMultipleChannels(t.Context(), ctlMulti(t, testMPE, providerKey, []uint64{42}, head-6))
			return err
		}, msg: "authentication failed as the signature passed has expired"},
		{name: "start/unknown channel", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaim(t.Context(), ctlStart(t, testMPE, providerKey, big.NewInt(99), big.NewInt(0)))
			return err
		}, msg: "channel Id 99 was not found on blockchain or storage"},
		{name: "start/nothing to claim", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaim(t.Context(), ctlStart(t, testMPE, providerKey, big.NewInt(43), big.NewInt(0)))
			return err
		}, msg: "authorized amount is zero , hence nothing to claim on the channel Id: 43"},
		{name: "multi/unknown channel", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaimForMultipleChannels(t.Context(), ctlMulti(t, testMPE, providerKey, []uint64{99}, head))
			return err
		}, msg: "channel Id 99 was not found on blockchain or storage"},
		{name: "multi/nothing to claim anywhere", call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaimForMultipleChannels(t.Context(), ctlMulti(t, testMPE, providerKey, []uint64{43, 99}, head))
			return err
		}, msg: "authorized amount is zero , hence nothing to claim on the channel Id: 43"},
		{name: "start/replayed", setup: func(t *testing.T, svc *escrow.ControlService) {
			_, err := svc.StartClaim(t.Context(), ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(0)))
			require.NoError(t, err)
		}, call: func(t *testing.T, svc *escrow.ControlService) error {
			_, err := svc.StartClaim(t.Context(), ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(0)))
			return err
		}, msg: "~does not match to what has been expected / registered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := ctlFixture(t, nil)
			f.chain.set(43, openChannel(0, 5000, 7100000))
			ctlPay(t, f.ch, 42, 0, 10)
			ctlPay(t, f.ch, 42, 0, 20)
			svc := escrow.NewControlService(f.ch)
			if tc.setup != nil {
				tc.setup(t, svc)
			}
			before := ctlEtcd(t, f.kv, ctlNetwork(t))
			err := tc.call(t, svc)
			require.Error(t, err)
			require.Equal(t, codes.Unknown, status.Code(err), "upstream's refusals are plain errors")
			if want, ok := strings.CutPrefix(tc.msg, "~"); ok {
				require.Contains(t, err.Error(), want)
			} else {
				require.Equal(t, tc.msg, err.Error())
			}
			require.Equal(t, before, ctlEtcd(t, f.kv, ctlNetwork(t)), "a refusal must not change etcd")
		})
	}
}

func TestControlBlockWindow(t *testing.T) {
	f := ctlFixture(t, nil)
	ctlPay(t, f.ch, 42, 0, 10)
	svc := escrow.NewControlService(f.ch)
	ctx := t.Context()
	for _, block := range []uint64{f.chain.head - 5, f.chain.head + 5} {
		_, err := svc.GetListUnclaimed(ctx, ctlList(t, testMPE, providerKey, escrow.ListUnclaimedMessage, block))
		require.NoError(t, err)
		_, err = svc.GetListInProgress(ctx, ctlList(t, testMPE, providerKey, escrow.ListInProgressMessage, block))
		require.NoError(t, err)
	}
	// StartClaim has no window: its signature covers the nonce instead.
	f.chain.head = 1
	_, err := svc.StartClaim(ctx, ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(0)))
	require.NoError(t, err)
}

// A paid call that commits between the claim's read and its write makes
// the claim's transaction lose; the claim is decided again and takes it.
func TestControlClaimTakesPaymentCommittedMeanwhile(t *testing.T) {
	kv := etcdfault.New(etcdClient())
	f := ctlFixture(t, kv)
	ctx := t.Context()
	replica := newChannels(escrow.NewStore(etcdClient(), f.store.Keys(), 0), f.chain)
	ctlPay(t, f.ch, 42, 0, 10)
	ctlPay(t, replica, 42, 0, 20) // the replica's local copy is now at this revision

	var payErr error
	kv.OnNextWrites(etcdfault.Before(func() {
		_, payErr = replica.Pay(context.Background(), payment(t, clientKey, 42, 0, 30), price)
	}))
	rep, err := escrow.NewControlService(f.ch).StartClaim(ctx, ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(0)))
	require.NoError(t, err)
	require.NoError(t, payErr)
	require.Equal(t, ctlU256(30), rep.SignedAmount)
	require.Equal(t, int64(30), ctlRecord(t, f.store, 42, 0).Amount.Int64())
	got := f.stored(t, 42)
	require.Equal(t, int64(1), got.Nonce.Int64())
	require.Equal(t, int64(100000-30), got.FullAmount.Int64())

	// The other way round: a payment in the old nonce that loses to the
	// claim is refused, not served, and the client signs again.
	_, err = replica.Pay(ctx, payment(t, clientKey, 42, 0, 40), price)
	requireStatus(t, err, escrow.CodeIncorrectNonce, "incorrect payment channel nonce, latest: 1, sent: 0")
	ctlPay(t, replica, 42, 1, 10)
}

// A claim whose transaction has an ambiguous outcome is resolved by
// reading: it is applied exactly once either way.
func TestControlAmbiguousClaimWrite(t *testing.T) {
	kv := etcdfault.New(etcdClient())
	f := ctlFixture(t, kv)
	ctx := t.Context()
	svc := escrow.NewControlService(f.ch)

	ctlPay(t, f.ch, 42, 0, 10)
	kv.OnNextWrites(etcdfault.Landed)
	rep, err := svc.StartClaim(ctx, ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(0)))
	require.NoError(t, err, "the transaction landed: the claim started")
	require.Equal(t, ctlU256(10), rep.SignedAmount)

	ctlPay(t, f.ch, 42, 1, 10)
	kv.OnNextWrites(etcdfault.Lost)
	rep, err = svc.StartClaim(ctx, ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(1)))
	require.NoError(t, err, "the transaction did not land: fenced, then decided again")
	require.Equal(t, ctlU256(1), rep.ChannelNonce)
	require.Equal(t, ctlU256(10), rep.SignedAmount)

	got := f.stored(t, 42)
	require.Equal(t, int64(2), got.Nonce.Int64())
	require.Equal(t, int64(100000-20), got.FullAmount.Int64())
	require.Equal(t, int64(10), ctlRecord(t, f.store, 42, 0).Amount.Int64())
	require.Equal(t, int64(10), ctlRecord(t, f.store, 42, 1).Amount.Int64())
}

func TestControlFailsClosedWhenStorageIsDown(t *testing.T) {
	kv := etcdfault.New(etcdClient())
	f := ctlFixture(t, kv)
	ctx := t.Context()
	svc := escrow.NewControlService(f.ch)
	ctlPay(t, f.ch, 42, 0, 10)
	kv.Down(etcdfault.ErrInjected)
	_, err := svc.GetListUnclaimed(ctx, ctlList(t, testMPE, providerKey, escrow.ListUnclaimedMessage, f.chain.head))
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	_, err = svc.GetListInProgress(ctx, ctlList(t, testMPE, providerKey, escrow.ListInProgressMessage, f.chain.head))
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	_, err = svc.StartClaim(ctx, ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(0)))
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	_, err = svc.StartClaimForMultipleChannels(ctx, ctlMulti(t, testMPE, providerKey, []uint64{42}, f.chain.head))
	require.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	kv.Down(nil)
	require.Equal(t, int64(0), f.stored(t, 42).Nonce.Int64())
	require.Nil(t, ctlRecord(t, f.store, 42, 0))
}

// Upstream's records (zero MPE address) are listed and collected; records
// the chain cannot confirm are kept, undecodable ones are left alone.
func TestControlCollectsOnlyCompletedClaims(t *testing.T) {
	f := ctlFixture(t, nil)
	ctx := t.Context()
	svc := escrow.NewControlService(f.ch)
	f.chain.set(43, openChannel(0, 5000, 7200000))
	put := func(key string, v any) {
		raw, ok := v.([]byte)
		if !ok {
			var err error
			raw, err = escrow.EncodeGob(v)
			require.NoError(t, err)
		}
		_, err := f.kv.Put(ctx, key, string(raw))
		require.NoError(t, err)
	}
	sig := payment(t, clientKey, 43, 0, 70).Signature
	keys := f.store.Keys()
	put(keys.Payment(big.NewInt(43), big.NewInt(0)), &escrow.PaymentRecord{ChannelID: big.NewInt(43), ChannelNonce: big.NewInt(0), Amount: big.NewInt(70), Signature: sig})
	put(keys.Payment(big.NewInt(77), big.NewInt(3)), &escrow.PaymentRecord{ChannelID: big.NewInt(77), ChannelNonce: big.NewInt(3), Amount: big.NewInt(5), Signature: sig})
	put(keys.Payment(big.NewInt(78), big.NewInt(0)), []byte("not gob"))

	list := func() []*escrowpb.PaymentReply {
		r, err := svc.GetListInProgress(ctx, ctlList(t, testMPE, providerKey, escrow.ListInProgressMessage, f.chain.head))
		require.NoError(t, err)
		return r.Payments
	}
	require.Equal(t, []*escrowpb.PaymentReply{
		{ChannelId: ctlU256(43), ChannelNonce: ctlU256(0), SignedAmount: ctlU256(70), Signature: sig, ChannelExpiry: ctlU256(7200000)},
		{ChannelId: ctlU256(77), ChannelNonce: ctlU256(3), SignedAmount: ctlU256(5), Signature: sig}, // not on chain: no expiry
	}, list())

	// Mined: the next StartClaim (of any channel) collects it too.
	f.chain.set(43, openChannel(1, 4930, 7200000))
	ctlPay(t, f.ch, 42, 0, 10)
	_, err := svc.StartClaim(ctx, ctlStart(t, testMPE, providerKey, big.NewInt(42), big.NewInt(0)))
	require.NoError(t, err)
	require.Nil(t, ctlRecord(t, f.store, 43, 0))
	require.NotNil(t, ctlRecord(t, f.store, 77, 3))
	v, err := f.store.Get(ctx, keys.Payment(big.NewInt(78), big.NewInt(0)))
	require.NoError(t, err)
	require.Equal(t, []byte("not gob"), v.Raw)
	require.Len(t, list(), 2) // 42/0 and 77/3
}

// StartClaimForMultipleChannels keeps the claims that started when another
// channel fails, and names the failure in a trailer (checked over gRPC).
func TestControlMultiClaimKeepsStartedClaims(t *testing.T) {
	f := ctlFixture(t, nil)
	f.chain.set(43, openChannel(0, 5000, 7100000))
	f.chain.set(44, openChannel(0, 5000, 7100000))
	ctlPay(t, f.ch, 42, 0, 10)
	ctlPay(t, f.ch, 44, 0, 10)
	ctlPay(t, f.ch, 44, 0, 20)

	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	escrowpb.RegisterProviderControlServiceServer(srv, escrow.NewControlService(f.ch))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///control", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	client := escrowpb.NewProviderControlServiceClient(conn)
	ctx := t.Context()

	// Request order, not sorted order; the bad channel in the middle; 44 twice.
	var trailer metadata.MD
	rep, err := client.StartClaimForMultipleChannels(ctx, ctlMulti(t, testMPE, providerKey, []uint64{44, 43, 42, 44}, f.chain.head), grpc.Trailer(&trailer))
	require.NoError(t, err)
	require.Len(t, rep.Payments, 2)
	require.Equal(t, ctlU256(44), rep.Payments[0].ChannelId)
	require.Equal(t, ctlU256(20), rep.Payments[0].SignedAmount)
	require.Equal(t, payment(t, clientKey, 44, 0, 20).Signature, rep.Payments[0].Signature)
	require.Equal(t, ctlU256(42), rep.Payments[1].ChannelId)
	require.Equal(t, ctlU256(10), rep.Payments[1].SignedAmount)
	require.Equal(t, []string{"43: authorized amount is zero , hence nothing to claim on the channel Id: 43"},
		trailer.Get(escrow.TrailerClaimFailed))
	require.Equal(t, int64(20), ctlRecord(t, f.store, 44, 0).Amount.Int64())
	require.Equal(t, int64(10), ctlRecord(t, f.store, 42, 0).Amount.Int64())

	// Nothing started: the first failure is the call's error, as upstream.
	before := ctlEtcd(t, f.kv, ctlNetwork(t))
	_, err = client.StartClaimForMultipleChannels(ctx, ctlMulti(t, testMPE, providerKey, []uint64{43, 42}, f.chain.head))
	require.Equal(t, codes.Unknown, status.Code(err))
	require.Equal(t, "authorized amount is zero , hence nothing to claim on the channel Id: 43", status.Convert(err).Message())
	require.Equal(t, before, ctlEtcd(t, f.kv, ctlNetwork(t)))

	_, err = client.StartClaim(ctx, ctlStart(t, testMPE, providerKey, big.NewInt(99), big.NewInt(0)))
	require.Equal(t, codes.Unknown, status.Code(err))
	require.Equal(t, "channel Id 99 was not found on blockchain or storage", status.Convert(err).Message())
}

// Claims started while a client keeps paying, through two replicas: every
// accepted payment ends up in exactly one place, a claim or the channel.
func TestControlClaimsWhilePaying(t *testing.T) {
	f := ctlFixture(t, nil)
	ctx := t.Context()
	replicas := []*escrow.Channels{f.ch, newChannels(f.store, f.chain)}
	svc := escrow.NewControlService(newChannels(f.store, f.chain))
	const calls = 150
	var (
		accepted int64
		claimed  int64
		stop     atomic.Bool
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			var rep []*escrowpb.PaymentReply
			if i%2 == 0 {
				ch, err := replicas[1].Load(ctx, big.NewInt(42))
				if err != nil {
					t.Error(err)
					return
				}
				r, err := svc.StartClaim(ctx, ctlStart(t, testMPE, providerKey, big.NewInt(42), ch.Nonce))
				if err == nil {
					rep = append(rep, r)
				}
			} else {
				r, err := svc.StartClaimForMultipleChannels(ctx, ctlMulti(t, testMPE, providerKey, []uint64{42}, f.chain.head))
				if err == nil {
					rep = r.Payments
				}
			}
			for _, p := range rep {
				claimed += new(big.Int).SetBytes(p.SignedAmount).Int64()
			}
		}
	}()
	nonce, amount := int64(0), int64(0)
	for i := 0; i < calls; i++ {
		r := replicas[i%2]
		for {
			_, err := r.Pay(ctx, payment(t, clientKey, 42, nonce, amount+10), price)
			if err == nil {
				amount += 10
				accepted += 10
				break
			}
			// As clients do on any refusal: read the state again and re-sign.
			ctlRequireCode(t, err, escrow.CodeIncorrectNonce)
			ch, err := r.Load(ctx, big.NewInt(42))
			require.NoError(t, err)
			nonce, amount = ch.Nonce.Int64(), ch.AuthorizedAmount.Int64()
		}
	}
	stop.Store(true)
	<-done
	final := f.stored(t, 42)
	require.Equal(t, accepted, claimed+final.AuthorizedAmount.Int64(), "every payment claimed or pending, once")
	require.Equal(t, int64(100000)-claimed, final.FullAmount.Int64())
	resp, err := f.kv.Get(ctx, f.store.Keys().PaymentPrefix(), clientv3.WithPrefix())
	require.NoError(t, err)
	var recorded int64
	for _, e := range resp.Kvs {
		rec, err := escrow.DecodePaymentRecord(e.Value)
		require.NoError(t, err)
		recorded += rec.Amount.Int64()
	}
	require.Equal(t, claimed, recorded)
	t.Logf("%d calls, %d claims, %d claimed", calls, len(resp.Kvs), claimed)
}

func ctlRequireCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	require.Equal(t, code, status.Code(err), "%v", err)
}

// Arbitrary requests never start a claim nor change etcd: only the
// provider's key can.
func FuzzControlService(f *testing.F) {
	network := "FuzzControlService"
	kv := etcdClient()
	chain := newFakeChain()
	chain.set(42, openChannel(0, 100000, 7100000))
	store := escrow.NewStore(kv, escrow.NewKeys(network, "snet", testGroupB64, testMPE), 0)
	ch := newChannels(store, chain)
	if _, err := ch.Pay(context.Background(), payment(f, clientKey, 42, 0, 10), price); err != nil {
		// Already paid by an earlier run of the fuzz target over the same etcd.
		f.Logf("seed payment: %v", err)
	}
	svc := escrow.NewControlService(ch)
	valid := ctlStart(f, testMPE, strangerKey, big.NewInt(42), big.NewInt(0))
	f.Add(testMPE.Hex(), []byte{42}, valid.Signature, uint64(7000000), []byte{0, 0, 0, 0, 0, 0, 0, 42})
	f.Add("", []byte{}, []byte{}, uint64(0), []byte{})
	f.Add("0x042d31f61c598eadcac729b845406514521db520", make([]byte, 40), make([]byte, 65), uint64(6999999), make([]byte, 17))
	f.Fuzz(func(t *testing.T, mpe string, id, sig []byte, block uint64, rawIDs []byte) {
		ids := make([]uint64, 0, len(rawIDs)/8)
		for b := rawIDs; len(b) >= 8; b = b[8:] {
			ids = append(ids, binary.BigEndian.Uint64(b))
		}
		ctx := context.Background()
		before := ctlEtcd(t, kv, network)
		list := &escrowpb.GetPaymentsListRequest{MpeAddress: mpe, CurrentBlock: block, Signature: sig}
		_, err := svc.GetListUnclaimed(ctx, list)
		require.Error(t, err)
		_, err = svc.GetListInProgress(ctx, list)
		require.Error(t, err)
		_, err = svc.StartClaim(ctx, &escrowpb.StartClaimRequest{MpeAddress: mpe, ChannelId: id, Signature: sig})
		require.Error(t, err)
		_, err = svc.StartClaimForMultipleChannels(ctx, &escrowpb.StartMultipleClaimRequest{MpeAddress: mpe, ChannelIds: ids, CurrentBlock: block, Signature: sig})
		require.Error(t, err)
		require.Equal(t, before, ctlEtcd(t, kv, network))
	})
}
