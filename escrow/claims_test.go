package escrow_test

import (
	"context"
	"encoding/base64"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/chaintest"
	"github.com/tariffd/tariff/escrow/etcdfault"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
)

// Helpers of the claim tests are prefixed claims.

// claimsTreasury is a daemon's payment side on the simulated chain with the
// real MultiPartyEscrow: the client is sim.Sender, the provider sim.Provider.
type claimsTreasury struct {
	sim    *chaintest.Sim
	chain  *escrow.Chain
	ch     *escrow.Channels
	ctl    *escrow.ControlService
	state  *escrow.StateService
	store  *escrow.Store
	price  *big.Int
	mpeBal func() *big.Int
}

func newClaimsTreasury(t *testing.T) *claimsTreasury {
	t.Helper()
	sim := testSim(t)
	group := escrow.Group{
		MPE:                 sim.Contracts.MPE,
		ID:                  chaintest.Bytes32("default_group"),
		PaymentAddress:      sim.Provider.Address,
		ExpirationThreshold: 10,
	}
	// The poller is not run: the test moves the cached head itself (sync),
	// so every read is at a known block.
	chain := escrow.NewChain(sim.Client(), sim.Contracts.MPE, escrow.ChainOptions{PollInterval: time.Hour})
	keys := escrow.NewKeys(chainTestUniqueID(ctlNetwork(t)), "snet", base64.StdEncoding.EncodeToString(group.ID[:]), group.MPE)
	store := escrow.NewStore(etcdClient(), keys, 0)
	ch := escrow.NewChannels(store, chain, group, nil)
	tr := &claimsTreasury{sim: sim, chain: chain, ch: ch, store: store, price: big.NewInt(10),
		ctl: escrow.NewControlService(ch), state: escrow.NewStateService(ch)}
	tr.mpeBal = func() *big.Int {
		b, err := sim.Contracts.MPEBalance(t.Context(), sim.Provider.Address)
		require.NoError(t, err)
		return b
	}
	return tr
}

// sync moves the daemon's cached head to the chain's and returns it.
func (tr *claimsTreasury) sync(t *testing.T) uint64 {
	t.Helper()
	head, err := tr.chain.RefreshHead(t.Context())
	require.NoError(t, err)
	return head
}

// pay makes one paid call of tr.price: the client signs amount cumulative in nonce.
func (tr *claimsTreasury) pay(t *testing.T, id *big.Int, nonce, amount int64) {
	t.Helper()
	p := &escrow.EscrowPayment{ChannelID: id, Nonce: big.NewInt(nonce), Amount: big.NewInt(amount)}
	msg, err := escrow.ClaimMessage(tr.sim.Contracts.MPE, p.ChannelID, p.Nonce, p.Amount)
	require.NoError(t, err)
	p.Signature, err = escrow.Sign(msg, tr.sim.Sender.Key)
	require.NoError(t, err)
	_, err = tr.ch.Pay(t.Context(), p, tr.price)
	require.NoError(t, err)
}

func (tr *claimsTreasury) unclaimed(t *testing.T) []*escrowpb.PaymentReply {
	t.Helper()
	r, err := tr.ctl.GetListUnclaimed(t.Context(), ctlList(t, tr.sim.Contracts.MPE, tr.sim.Provider.Key, escrow.ListUnclaimedMessage, tr.sync(t)))
	require.NoError(t, err)
	return r.Payments
}

func (tr *claimsTreasury) inProgress(t *testing.T) []*escrowpb.PaymentReply {
	t.Helper()
	r, err := tr.ctl.GetListInProgress(t.Context(), ctlList(t, tr.sim.Contracts.MPE, tr.sim.Provider.Key, escrow.ListInProgressMessage, tr.sync(t)))
	require.NoError(t, err)
	return r.Payments
}

func (tr *claimsTreasury) channelState(t *testing.T, id *big.Int) *escrowpb.ChannelStateReply {
	t.Helper()
	r, err := tr.state.GetChannelState(t.Context(), ctlStateRequest(t, tr.sim.Contracts.MPE, tr.sim.Sender.Key, id, tr.sync(t)))
	require.NoError(t, err)
	return r
}

// claimOnChain submits a claim as the treasurer does: actual = planned =
// the signed amount, nothing sent back.
func (tr *claimsTreasury) claimOnChain(t *testing.T, p *escrowpb.PaymentReply) {
	t.Helper()
	amount := new(big.Int).SetBytes(p.SignedAmount)
	require.NoError(t, tr.sim.Contracts.ChannelClaim(t.Context(), tr.sim.Provider.Opts(),
		new(big.Int).SetBytes(p.ChannelId), amount, amount, p.Signature, false))
}

func claimsBig(b []byte) *big.Int { return new(big.Int).SetBytes(b) }

// The treasurer's flow end to end against the real MultiPartyEscrow.
func TestClaimsTreasurerEndToEnd(t *testing.T) {
	tr := newClaimsTreasury(t)
	ctx := t.Context()
	id, exp := chainTestOpen(t, tr.sim, 1000, 1000)
	tr.sync(t)
	for i := int64(1); i <= 3; i++ {
		tr.pay(t, id, 0, i*10)
	}

	un := tr.unclaimed(t)
	require.Len(t, un, 1)
	require.Equal(t, escrow.U256Bytes(id), un[0].ChannelId)
	require.Equal(t, ctlU256(0), un[0].ChannelNonce)
	require.Equal(t, ctlU256(30), un[0].SignedAmount)
	require.Equal(t, escrow.U256Bytes(exp), un[0].ChannelExpiry)
	require.Empty(t, un[0].Signature)

	claim, err := tr.ctl.StartClaim(ctx, ctlStart(t, tr.sim.Contracts.MPE, tr.sim.Provider.Key, id, claimsBig(un[0].ChannelNonce)))
	require.NoError(t, err)
	require.Equal(t, ctlU256(30), claim.SignedAmount)
	require.Equal(t, ctlU256(0), claim.ChannelNonce)

	// In flight (not mined): the client sees the old nonce's amount and pays on in the new one.
	st := tr.channelState(t, id)
	require.Equal(t, ctlU256(1), st.CurrentNonce)
	require.Equal(t, ctlU256(30), st.OldNonceSignedAmount)
	require.Equal(t, claim.Signature, st.OldNonceSignature)
	require.Equal(t, ctlU256(0), st.CurrentSignedAmount)
	inProgress := tr.inProgress(t)
	require.Len(t, inProgress, 1)
	require.Equal(t, claim.Signature, inProgress[0].Signature)
	require.Equal(t, escrow.U256Bytes(exp), inProgress[0].ChannelExpiry)
	tr.pay(t, id, 1, 10)

	// The treasurer submits it; the contract accepts the client's signature.
	before := tr.mpeBal()
	tr.claimOnChain(t, claim)
	require.Equal(t, new(big.Int).Add(before, big.NewInt(30)), tr.mpeBal())
	onChain, err := tr.sim.Contracts.Channel(ctx, id)
	require.NoError(t, err)
	requireBigEq(t, 1, onChain.Nonce)
	requireBigEq(t, 970, onChain.Value)

	// Mined: the record is collected, the client's new nonce carries on.
	require.Empty(t, tr.inProgress(t))
	v, err := tr.store.Get(ctx, tr.store.Keys().Payment(id, big.NewInt(0)))
	require.NoError(t, err)
	require.Zero(t, v.Rev)
	tr.pay(t, id, 1, 20)
	st = tr.channelState(t, id)
	require.Equal(t, ctlU256(1), st.CurrentNonce)
	require.Equal(t, ctlU256(20), st.CurrentSignedAmount)
	require.Empty(t, st.OldNonceSignedAmount)

	// And the next round claims the new nonce.
	un = tr.unclaimed(t)
	require.Len(t, un, 1)
	require.Equal(t, ctlU256(1), un[0].ChannelNonce)
	require.Equal(t, ctlU256(20), un[0].SignedAmount)
	claim, err = tr.ctl.StartClaim(ctx, ctlStart(t, tr.sim.Contracts.MPE, tr.sim.Provider.Key, id, big.NewInt(1)))
	require.NoError(t, err)
	tr.claimOnChain(t, claim)
	require.Equal(t, new(big.Int).Add(before, big.NewInt(50)), tr.mpeBal())
	require.Empty(t, tr.inProgress(t))
}

// Several channels in one request, a channel with nothing to claim in the
// middle: the others are claimed and paid out on chain.
func TestClaimsMultipleChannelsEndToEnd(t *testing.T) {
	tr := newClaimsTreasury(t)
	ctx := t.Context()
	a, _ := chainTestOpen(t, tr.sim, 1000, 1000)
	bad, _ := chainTestOpen(t, tr.sim, 1000, 1000)
	c, _ := chainTestOpen(t, tr.sim, 1000, 1000)
	tr.sync(t)
	tr.pay(t, a, 0, 10)
	tr.pay(t, a, 0, 20)
	tr.pay(t, c, 0, 10)

	ids := []uint64{c.Uint64(), bad.Uint64(), a.Uint64()}
	rep, err := tr.ctl.StartClaimForMultipleChannels(ctx, ctlMulti(t, tr.sim.Contracts.MPE, tr.sim.Provider.Key, ids, tr.sync(t)))
	require.NoError(t, err)
	require.Len(t, rep.Payments, 2)
	require.Equal(t, escrow.U256Bytes(c), rep.Payments[0].ChannelId)
	require.Equal(t, escrow.U256Bytes(a), rep.Payments[1].ChannelId)
	require.Len(t, tr.inProgress(t), 2)

	before := tr.mpeBal()
	for _, p := range rep.Payments {
		tr.claimOnChain(t, p)
	}
	require.Equal(t, new(big.Int).Add(before, big.NewInt(30)), tr.mpeBal())
	require.Empty(t, tr.inProgress(t))
	require.Empty(t, tr.unclaimed(t))
	tr.pay(t, bad, 0, 10) // untouched by the failed claim
	tr.pay(t, a, 1, 10)
}

func TestStoreSwapCreate(t *testing.T) {
	ctlClean(t)
	ctx := t.Context()
	kv := etcdClient()
	store := escrow.NewStore(kv, escrow.NewKeys(ctlNetwork(t), "snet", testGroupB64, testMPE), 0)
	key, rec := ctlNetwork(t)+"/channel", ctlNetwork(t)+"/record"
	put, err := kv.Put(ctx, key, "v1")
	require.NoError(t, err)
	rev := put.Header.Revision

	// Lost: key moved on; nothing written.
	res, err := store.SwapCreate(ctx, key, rev-1, []byte("v2"), []byte("v1"), rec, []byte("r"))
	require.NoError(t, err)
	require.False(t, res.Swapped)
	require.Equal(t, rev, res.Rev)
	require.Equal(t, []byte("v1"), res.Current)
	require.NotContains(t, ctlEtcd(t, kv, ctlNetwork(t)), rec)

	// Both written at one revision.
	res, err = store.SwapCreate(ctx, key, rev, []byte("v2"), []byte("v1"), rec, []byte("r"))
	require.NoError(t, err)
	require.True(t, res.Swapped)
	got, err := kv.Get(ctx, ctlNetwork(t)+"/", clientv3.WithPrefix())
	require.NoError(t, err)
	require.Len(t, got.Kvs, 2)
	for _, e := range got.Kvs {
		require.Equal(t, res.Rev, e.ModRevision)
	}

	// The record exists with another value: refused, nothing written.
	before := ctlEtcd(t, kv, ctlNetwork(t))
	_, err = store.SwapCreate(ctx, key, res.Rev, []byte("v3"), []byte("v2"), rec, []byte("other"))
	require.ErrorIs(t, err, escrow.ErrKeyExists)
	// With the same value the change was made already.
	again, err := store.SwapCreate(ctx, key, rev, []byte("v2"), []byte("v1"), rec, []byte("r"))
	require.NoError(t, err)
	require.True(t, again.Swapped)
	require.Equal(t, before, ctlEtcd(t, kv, ctlNetwork(t)))
}

func TestStoreDeleteAt(t *testing.T) {
	ctx := t.Context()
	kv := etcdfault.New(etcdClient())
	store := escrow.NewStore(kv, escrow.NewKeys(ctlNetwork(t), "snet", testGroupB64, testMPE), 0)
	key := ctlNetwork(t) + "/record"
	put := func() int64 {
		r, err := kv.Put(ctx, key, "r")
		require.NoError(t, err)
		return r.Header.Revision
	}
	for _, tc := range []struct {
		name  string
		fault etcdfault.Hook
		stale bool
		gone  bool
	}{
		{name: "at revision", gone: true},
		{name: "rewritten since", stale: true},
		{name: "ambiguous, applied", fault: etcdfault.Landed, gone: true},
		{name: "ambiguous, not applied", fault: etcdfault.Lost, gone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev := put()
			if tc.stale {
				put()
			}
			kv.OnNextWrites(tc.fault)
			gone, err := store.DeleteAt(ctx, key, rev)
			require.NoError(t, err)
			require.Equal(t, tc.gone, gone)
			v, err := store.Get(ctx, key)
			require.NoError(t, err)
			require.Equal(t, tc.gone, v.Rev == 0)
		})
	}
	kv.Down(etcdfault.ErrInjected)
	_, err := store.DeleteAt(context.Background(), key, put())
	require.ErrorIs(t, err, escrow.ErrStorage)
}
