package escrow_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/etcdfault"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	testMPE      = common.HexToAddress("0x042d31F61c598eADcAc729B845406514521db520")
	testGroupB64 = "EoFmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ="
	clientKey    = mustKey("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	providerKey  = mustKey("8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f")
	strangerKey  = mustKey("aeaa9fb59c0dd868260af55ea65be077dbcaa063c067dfc0865845a0af5de84c")
	price        = big.NewInt(10)
)

func mustKey(h string) *ecdsa.PrivateKey {
	k, err := crypto.HexToECDSA(h)
	if err != nil {
		panic(err)
	}
	return k
}

func testGroupID() [32]byte {
	var g [32]byte
	b, _ := base64.StdEncoding.DecodeString(testGroupB64)
	copy(g[:], b)
	return g
}

// fakeChain stands in for the chain cache: cached is what the cache holds,
// real what a re-read returns. Validation against the real contracts is
// tested on the simulated chain elsewhere; this isolates the rules.
type fakeChain struct {
	mu        sync.Mutex
	head      uint64
	cached    map[uint64]escrow.ChainChannel
	real      map[uint64]escrow.ChainChannel
	refreshes atomic.Int32
	headErr   error
}

func newFakeChain() *fakeChain {
	return &fakeChain{head: 7000000, cached: map[uint64]escrow.ChainChannel{}, real: map[uint64]escrow.ChainChannel{}}
}

func (f *fakeChain) set(id uint64, ch escrow.ChainChannel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cached[id], f.real[id] = ch, ch
}

func (f *fakeChain) Head(context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.head, f.headErr
}

func (f *fakeChain) Channel(_ context.Context, id *big.Int) (*escrow.ChainChannel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.cached[id.Uint64()]
	if !ok {
		return nil, escrow.ErrChannelNotFound
	}
	return &ch, nil
}

func (f *fakeChain) Refresh(_ context.Context, id *big.Int) (*escrow.ChainChannel, error) {
	f.refreshes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.real[id.Uint64()]
	if !ok {
		delete(f.cached, id.Uint64())
		return nil, escrow.ErrChannelNotFound
	}
	f.cached[id.Uint64()] = ch
	return &ch, nil
}

func openChannel(nonce, value, expiration int64) escrow.ChainChannel {
	client := crypto.PubkeyToAddress(clientKey.PublicKey)
	return escrow.ChainChannel{
		Nonce: big.NewInt(nonce), Sender: client, Signer: client,
		Recipient: crypto.PubkeyToAddress(providerKey.PublicKey), GroupID: testGroupID(),
		Value: big.NewInt(value), Expiration: big.NewInt(expiration),
	}
}

var fixtureRuns atomic.Int64

type fixture struct {
	chain *fakeChain
	store *escrow.Store
	ch    *escrow.Channels
	kv    clientv3.KV
}

func newFixture(t *testing.T, kv clientv3.KV) *fixture {
	t.Helper()
	if kv == nil {
		kv = etcdClient()
	}
	chain := newFakeChain()
	chain.set(42, openChannel(0, 100000, 7100000))
	// A key root per test run keeps tests independent on the shared etcd (also with -count).
	root := fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), fixtureRuns.Add(1))
	store := escrow.NewStore(kv, escrow.NewKeys(root, "snet", testGroupB64, testMPE), 0)
	return &fixture{chain: chain, store: store, kv: kv, ch: newChannels(store, chain)}
}

func newChannels(store *escrow.Store, chain escrow.ChainView) *escrow.Channels {
	return escrow.NewChannels(store, chain, escrow.Group{
		MPE: testMPE, ID: testGroupID(),
		PaymentAddress:      crypto.PubkeyToAddress(providerKey.PublicKey),
		ExpirationThreshold: 100,
	}, nil)
}

func payment(t testing.TB, key *ecdsa.PrivateKey, id, nonce, amount int64) *escrow.EscrowPayment {
	p := &escrow.EscrowPayment{ChannelID: big.NewInt(id), Nonce: big.NewInt(nonce), Amount: big.NewInt(amount)}
	msg, err := escrow.ClaimMessage(testMPE, p.ChannelID, p.Nonce, p.Amount)
	require.NoError(t, err)
	p.Signature, err = escrow.Sign(msg, key)
	require.NoError(t, err)
	return p
}

func (f *fixture) stored(t *testing.T, id int64) *escrow.ChannelData {
	t.Helper()
	ch, _, err := f.store.Channel(context.Background(), big.NewInt(id))
	require.NoError(t, err)
	return ch
}

func requireStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	st, ok := status.FromError(err)
	require.True(t, ok, "not a status: %v", err)
	require.Equal(t, code, st.Code(), st.Message())
	require.Equal(t, msg, st.Message())
}

func TestPaySequence(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	for i := int64(1); i <= 3; i++ {
		r, err := f.ch.Pay(ctx, payment(t, clientKey, 42, 0, i*10), price)
		require.NoError(t, err)
		require.Equal(t, crypto.PubkeyToAddress(clientKey.PublicKey), r.Sender)
	}
	got := f.stored(t, 42)
	require.Equal(t, int64(30), got.AuthorizedAmount.Int64())
	require.Equal(t, payment(t, clientKey, 42, 0, 30).Signature, got.Signature)
	require.Equal(t, int64(100000), got.FullAmount.Int64())
	// One read to learn the channel, then one swap per call and nothing else.
	require.Equal(t, escrow.Stats{Swaps: 3, Reads: 1}, f.ch.Stats())
	require.Zero(t, f.chain.refreshes.Load())
}

func TestPayRefusalsLeaveStateUntouched(t *testing.T) {
	client := crypto.PubkeyToAddress(clientKey.PublicKey)
	for _, tc := range []struct {
		name    string
		setup   func(*fixture)
		pay     func(t *testing.T) *escrow.EscrowPayment
		code    codes.Code
		message string
	}{
		{name: "wrong nonce", pay: func(t *testing.T) *escrow.EscrowPayment { return payment(t, clientKey, 42, 1, 20) },
			code: escrow.CodeIncorrectNonce, message: "incorrect payment channel nonce, latest: 0, sent: 1"},
		{name: "bad recovery id", pay: func(t *testing.T) *escrow.EscrowPayment {
			p := payment(t, clientKey, 42, 0, 20)
			p.Signature[64] = 0x21
			return p
		}, code: codes.Unauthenticated, message: "payment signature is not valid"},
		{name: "short signature", pay: func(t *testing.T) *escrow.EscrowPayment {
			p := payment(t, clientKey, 42, 0, 20)
			p.Signature = p.Signature[:64]
			return p
		}, code: codes.Unauthenticated, message: "payment signature is not valid"},
		{name: "wrong signer", pay: func(t *testing.T) *escrow.EscrowPayment { return payment(t, strangerKey, 42, 0, 20) },
			code: codes.Unauthenticated, message: "payment is not signed by channel signer/sender"},
		{name: "replay", pay: func(t *testing.T) *escrow.EscrowPayment { return payment(t, clientKey, 42, 0, 10) },
			code: codes.Unauthenticated, message: "income 0 does not equal to price 10"},
		{name: "underpaid", pay: func(t *testing.T) *escrow.EscrowPayment { return payment(t, clientKey, 42, 0, 15) },
			code: codes.Unauthenticated, message: "income 5 does not equal to price 10"},
		{name: "over channel value", pay: func(t *testing.T) *escrow.EscrowPayment { return payment(t, clientKey, 42, 0, 100001) },
			code: codes.Unauthenticated, message: "not enough tokens on payment channel, channel amount: 100000, payment amount: 100001"},
		{name: "near expiry", setup: func(f *fixture) { f.chain.set(42, openChannel(0, 100000, 7000100)) },
			pay:  func(t *testing.T) *escrow.EscrowPayment { return payment(t, clientKey, 42, 0, 20) },
			code: codes.Unauthenticated, message: "payment channel is near to be expired, expiration time: 7000100, current block: 7000000, expiration threshold: 100"},
		{name: "unknown channel", pay: func(t *testing.T) *escrow.EscrowPayment { return payment(t, clientKey, 99, 0, 10) },
			code: codes.Unauthenticated, message: `payment channel "{ID: 99}" not found`},
		{name: "other group", setup: func(f *fixture) {
			ch := openChannel(0, 100000, 7100000)
			ch.GroupID[0] ^= 1
			f.chain.set(7, ch)
		}, pay: func(t *testing.T) *escrow.EscrowPayment { return payment(t, clientKey, 7, 0, 10) },
			code: codes.Internal, message: "payment channel error: channel received belongs to another group of replicas, current group: EoFmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ=, channel group: E4FmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ="},
		{name: "other recipient", setup: func(f *fixture) {
			ch := openChannel(0, 100000, 7100000)
			ch.Recipient = client
			f.chain.set(8, ch)
		}, pay: func(t *testing.T) *escrow.EscrowPayment { return payment(t, clientKey, 8, 0, 10) },
			code: codes.Internal, message: "payment channel error: recipient Address from org metadata does not Match on what was retrieved from Channel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			ctx := context.Background()
			_, err := f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 10), price)
			require.NoError(t, err)
			if tc.setup != nil {
				tc.setup(f)
			}
			before, _ := f.store.Get(ctx, f.store.Keys().Channel(big.NewInt(42)))
			_, err = f.ch.Pay(ctx, tc.pay(t), price)
			requireStatus(t, err, tc.code, tc.message)
			after, _ := f.store.Get(ctx, f.store.Keys().Channel(big.NewInt(42)))
			require.Equal(t, before, after, "a refused payment must not change the stored state")
			// The same holds for a fresh replica that has no local copy.
			_, err = newChannels(f.store, f.chain).Pay(ctx, tc.pay(t), price)
			requireStatus(t, err, tc.code, tc.message)
		})
	}
}

func TestRollback(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	_, err := f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 10), price)
	require.NoError(t, err)
	r, err := f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 20), price)
	require.NoError(t, err)
	rolled, err := r.Rollback(ctx)
	require.NoError(t, err)
	require.True(t, rolled)
	require.Equal(t, int64(10), f.stored(t, 42).AuthorizedAmount.Int64())
	// The client retries with the same signed amount and it is accepted.
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 20), price)
	require.NoError(t, err)
}

func TestRollbackKeepsLaterPayment(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	first, err := f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 10), price)
	require.NoError(t, err)
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 20), price)
	require.NoError(t, err)
	rolled, err := first.Rollback(ctx)
	require.NoError(t, err)
	require.False(t, rolled, "rolling back would drop the later signature")
	require.Equal(t, int64(20), f.stored(t, 42).AuthorizedAmount.Int64())
}

func TestStaleChainDataIsReadAgainOnce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	// The client added funds and extended the channel; the cache has not seen it yet.
	f.chain.real[42] = openChannel(0, 500000, 8000000)
	_, err := f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 200000), big.NewInt(200000))
	require.NoError(t, err)
	require.Equal(t, int32(1), f.chain.refreshes.Load())
	// A refusal that fresher data does not change costs one re-read, not a loop.
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 600000), big.NewInt(400000))
	requireStatus(t, err, codes.Unauthenticated, "not enough tokens on payment channel, channel amount: 500000, payment amount: 600000")
	require.Equal(t, int32(2), f.chain.refreshes.Load())
}

func TestStoredNonceAheadOfChain(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	// As after StartClaim: storage is at nonce 1 while the claim is not mined yet.
	next := &escrow.ChannelData{ChannelID: big.NewInt(42), Nonce: big.NewInt(1), Sender: crypto.PubkeyToAddress(clientKey.PublicKey),
		Signer: crypto.PubkeyToAddress(clientKey.PublicKey), Recipient: crypto.PubkeyToAddress(providerKey.PublicKey), GroupID: testGroupID(),
		FullAmount: big.NewInt(99990), Expiration: big.NewInt(7100000), AuthorizedAmount: new(big.Int)}
	raw, err := escrow.EncodeGob(next)
	require.NoError(t, err)
	_, err = f.kv.Put(ctx, f.store.Keys().Channel(big.NewInt(42)), string(raw))
	require.NoError(t, err)
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 1, 10), price)
	require.NoError(t, err)
	require.Equal(t, int64(99990), f.stored(t, 42).FullAmount.Int64())
	// Once the claim is mined the chain's nonce catches up and its value is used.
	f.chain.set(42, openChannel(1, 99990, 7100000))
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 1, 20), price)
	require.NoError(t, err)
}

// A channel written by snet-daemon (spec gob sample, nonce 3, 12345 signed
// and unclaimed) keeps its payment when tariffd takes over.
func TestUpstreamStoredChannel(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	sample, err := hex.DecodeString(upstreamChannelGob)
	require.NoError(t, err)
	_, err = f.kv.Put(ctx, f.store.Keys().Channel(big.NewInt(42)), string(sample))
	require.NoError(t, err)
	f.chain.set(42, openChannel(3, 100000, 7100000))
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 3, 12345), price)
	requireStatus(t, err, codes.Unauthenticated, "income 0 does not equal to price 10")
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 3, 12355), price)
	require.NoError(t, err)
	require.Equal(t, int64(12355), f.stored(t, 42).AuthorizedAmount.Int64())
}

// Two replicas on one etcd race the same payments: each is accepted once.
func TestReplicasNeverAcceptTwice(t *testing.T) {
	f := newFixture(t, nil)
	replicas := []*escrow.Channels{f.ch, newChannels(f.store, f.chain)}
	ctx := context.Background()
	const calls = 40
	var accepted atomic.Int32
	for i := int64(1); i <= calls; i++ {
		p := payment(t, clientKey, 42, 0, i*10)
		var wg sync.WaitGroup
		for _, r := range replicas {
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := r.Pay(ctx, p, price); err == nil {
						accepted.Add(1)
					}
				}()
			}
		}
		wg.Wait()
	}
	require.Equal(t, int32(calls), accepted.Load())
	require.Equal(t, int64(calls*10), f.stored(t, 42).AuthorizedAmount.Int64())
}

func TestAmbiguousWriteIsResolvedByReading(t *testing.T) {
	kv := etcdfault.New(etcdClient())
	f := newFixture(t, kv)
	ctx := context.Background()
	_, err := f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 10), price)
	require.NoError(t, err)

	kv.OnNextWrites(etcdfault.Landed)
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 20), price)
	require.NoError(t, err, "the write landed: the call is paid")
	require.Equal(t, int64(20), f.stored(t, 42).AuthorizedAmount.Int64())

	kv.OnNextWrites(etcdfault.Lost)
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 30), price)
	// The write did not land: the store fenced the old revision so it never
	// can, and the payment was decided again and committed once.
	require.NoError(t, err)
	require.Equal(t, int64(30), f.stored(t, 42).AuthorizedAmount.Int64())
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 30), price)
	requireStatus(t, err, codes.Unauthenticated, "income 0 does not equal to price 10")
}

func TestFailClosedWhenStorageIsDown(t *testing.T) {
	kv := etcdfault.New(etcdClient())
	f := newFixture(t, kv)
	ctx := context.Background()
	_, err := f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 10), price)
	require.NoError(t, err)
	kv.Down(etcdfault.ErrInjected)
	_, err = f.ch.Pay(ctx, payment(t, clientKey, 42, 0, 20), price)
	requireStatus(t, err, codes.Internal, "unable to store new payment channel state")
	_, err = newChannels(f.store, f.chain).Pay(ctx, payment(t, clientKey, 42, 0, 20), price)
	require.Equal(t, codes.Internal, status.Code(err))
	kv.Down(nil)
	require.Equal(t, int64(10), f.stored(t, 42).AuthorizedAmount.Int64())
}

func TestFailClosedWhenHeadIsUnknown(t *testing.T) {
	f := newFixture(t, nil)
	f.chain.headErr = errors.New("node down")
	_, err := f.ch.Pay(context.Background(), payment(t, clientKey, 42, 0, 10), price)
	requireStatus(t, err, codes.Internal, "cannot determine current block")
}

// upstreamChannelGob is snet-daemon's gob encoding of channel 42 (nonce 3,
// 12345 authorised, value 100000, expiration 7100000).
const upstreamChannelGob = "ffbb7f030101125061796d656e744368616e6e656c4461746101ff8000010b01094368616e6e656c494401ff820001054e6f6e636501ff820001055374617465010400010653656e64657201ff84000109526563697069656e7401ff8400010747726f7570494401ff8600010a46756c6c416d6f756e7401ff8200010a45787069726174696f6e01ff820001065369676e657201ff84000110417574686f72697a6564416d6f756e7401ff820001095369676e6174757265010a0000000aff81050102ff8800000017ff83010101074164647265737301ff840001060128000019ff85010101095b33325d75696e743801ff8600010601400000fff2ff800102022a0102020302142c7536ffe3605dff9c16ffa7ffa3ffd7ffb1ff89ff8e52ff93ff96ffa65c23011463fffaffc92014ff94fff0ffbd17ffb9ff892bff9fffae4d52fffe3bffd377012012ff81663779ffef697a5fffe9ffec3cff8cff96ffc83d582113ff93577dff8bffa9145effcfff9119ff95ffc8640104020186a00104026c566001142c7536ffe3605dff9c16ffa7ffa3ffd7ffb1ff89ff8e52ff93ff96ffa65c2301030230390141a33e0f3582b0b8d67d4ddd0deae6397dbab38ab256a115c5c2d0f4482c01640953b7c6e852a02c9880575932c34bf4af5359433ec2bc63d3b2f3639c790e64830100"

func fixedPrice(common.Address) (*big.Int, error) { return price, nil }

// A prepared payment is not stored until committed; concurrent payments
// on one channel are not exclusive, and the one that commits second is
// decided again on the first one's value.
func TestPrepareAndCommit(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	a, err := f.ch.Prepare(ctx, payment(t, clientKey, 42, 0, 10), fixedPrice)
	require.NoError(t, err)
	require.True(t, a.Exclusive())
	require.Equal(t, crypto.PubkeyToAddress(clientKey.PublicKey).Hex(), a.Payer())
	require.Nil(t, f.stored(t, 42), "nothing is stored before Commit")

	b, err := f.ch.Prepare(ctx, payment(t, clientKey, 42, 0, 10), fixedPrice)
	require.NoError(t, err, "both are valid against the stored state")
	require.False(t, b.Exclusive(), "a payment on the channel is pending")
	require.NoError(t, a.Commit(ctx))
	require.Equal(t, int64(10), a.Receipt.Channel.AuthorizedAmount.Int64())
	requireStatus(t, b.Commit(ctx), codes.Unauthenticated, "income 0 does not equal to price 10")
	require.Equal(t, int64(10), f.stored(t, 42).AuthorizedAmount.Int64(), "accepted once")
	require.Error(t, a.Commit(ctx), "a payment commits once")

	c, err := f.ch.Prepare(ctx, payment(t, clientKey, 42, 0, 20), fixedPrice)
	require.NoError(t, err)
	require.True(t, c.Exclusive(), "nothing else is pending once both have committed")
	require.NoError(t, c.Commit(ctx))
	rolled, err := c.Rollback(ctx)
	require.NoError(t, err)
	require.True(t, rolled)
	require.Equal(t, int64(10), f.stored(t, 42).AuthorizedAmount.Int64())
}

// With allowed_user_flag (test networks), only the listed users may pay;
// anyone else's signature is "not valid", as snet-daemon says.
func TestCurationGate(t *testing.T) {
	f := newFixture(t, nil)
	client := crypto.PubkeyToAddress(clientKey.PublicKey)
	group := f.ch.Group()
	group.AllowedUsers = []common.Address{crypto.PubkeyToAddress(providerKey.PublicKey)}
	gated := escrow.NewChannels(f.store, f.chain, group, nil)
	_, err := gated.Pay(context.Background(), payment(t, clientKey, 42, 0, 10), price)
	requireStatus(t, err, codes.Unauthenticated, "payment signature is not valid")
	require.Nil(t, f.stored(t, 42), "a refused payment is not stored")

	group.AllowedUsers = append(group.AllowedUsers, client)
	gated = escrow.NewChannels(f.store, f.chain, group, nil)
	_, err = gated.Pay(context.Background(), payment(t, clientKey, 42, 0, 10), price)
	require.NoError(t, err)
}
