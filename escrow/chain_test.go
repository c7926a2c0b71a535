package escrow_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/chaintest"
)

// One simulated chain with the real contracts for the whole package: it is
// created on first use and lives until the test binary exits. Tests that
// count RPCs use their own Chain with a long PollInterval, so blocks
// committed by other tests do not disturb the counts.
var (
	chainSimOnce sync.Once
	chainSim     *chaintest.Sim
	chainSimErr  error
)

func testSim(t testing.TB) *chaintest.Sim {
	t.Helper()
	chainSimOnce.Do(func() {
		chainSim, chainSimErr = chaintest.NewSim(context.Background())
	})
	require.NoError(t, chainSimErr)
	return chainSim
}

// chainTestIDs makes Registry ids unique per run: the sim outlives -count=N.
var chainTestIDs atomic.Uint64

func chainTestUniqueID(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e6, chainTestIDs.Add(1))
}

// chainTestOpen opens a channel from the sim's sender to its provider.
func chainTestOpen(t *testing.T, sim *chaintest.Sim, value, blocks int64) (*big.Int, *big.Int) {
	t.Helper()
	ctx := t.Context()
	head, err := sim.Head(ctx)
	require.NoError(t, err)
	exp := new(big.Int).SetUint64(head + uint64(blocks))
	id, err := sim.Contracts.DepositAndOpenChannel(ctx, sim.Sender.Opts(), sim.Sender.Address, sim.Provider.Address,
		chaintest.Bytes32("default_group"), big.NewInt(value), exp)
	require.NoError(t, err)
	return id, exp
}

func chainTestNew(t *testing.T, client escrow.ChainClient, sim *chaintest.Sim, poll time.Duration) *escrow.Chain {
	t.Helper()
	return escrow.NewChain(client, sim.Contracts.MPE, escrow.ChainOptions{PollInterval: poll})
}

func requireBigEq(t *testing.T, want int64, got *big.Int) {
	t.Helper()
	require.NotNil(t, got)
	require.Zero(t, big.NewInt(want).Cmp(got), "want %d, got %s", want, got)
}

func TestChainEmbeddedABIMatchesContracts(t *testing.T) {
	arts, err := chaintest.LoadArtifacts()
	require.NoError(t, err)
	parse := func(s string) abi.ABI {
		a, err := abi.JSON(strings.NewReader(s))
		require.NoError(t, err)
		return a
	}
	mpe, registry, token := parse(escrow.MPEABI), parse(escrow.RegistryABI), parse(escrow.TokenABI)

	methods := []struct {
		embedded abi.ABI
		real     abi.ABI
		name     string
		selector string
	}{
		{mpe, arts.MPE.ABI, "channels", "e5949b5d"},
		{mpe, arts.MPE.ABI, "nextChannelId", "f4606f00"},
		{registry, arts.Registry.ABI, "getOrganizationById", "9a017e0a"},
		{registry, arts.Registry.ABI, "getServiceRegistrationById", "8895303f"},
		{token, arts.Token.ABI, "balanceOf", "70a08231"},
	}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			got, want := m.embedded.Methods[m.name], m.real.Methods[m.name]
			require.Equal(t, m.selector, common.Bytes2Hex(got.ID))
			require.Equal(t, want.ID, got.ID)
			require.Equal(t, want.Sig, got.Sig)
			require.Equal(t, len(want.Outputs), len(got.Outputs))
			for i := range want.Outputs {
				require.Equal(t, want.Outputs[i].Type.String(), got.Outputs[i].Type.String(), "output %d", i)
			}
		})
	}
	for _, name := range []string{"ChannelOpen", "ChannelClaim", "ChannelExtend", "ChannelAddFunds", "ChannelSenderClaim"} {
		t.Run(name, func(t *testing.T) {
			got, want := mpe.Events[name], arts.MPE.ABI.Events[name]
			require.Equal(t, want.ID, got.ID)
			require.Equal(t, want.Sig, got.Sig)
			// The cache takes channelId from topic 1, or from the first data
			// word of ChannelOpen.
			require.Equal(t, "channelId", got.Inputs[0].Name)
			require.Equal(t, name != "ChannelOpen", got.Inputs[0].Indexed)
			require.Len(t, got.Inputs, len(want.Inputs))
			for i := range want.Inputs {
				require.Equal(t, want.Inputs[i].Indexed, got.Inputs[i].Indexed, "input %d", i)
			}
		})
	}
}

func TestChainReadsOpenedChannel(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	id, exp := chainTestOpen(t, sim, 1000, 100)
	chain := chainTestNew(t, sim.Client(), sim, time.Hour)

	ch, err := chain.Channel(ctx, id)
	require.NoError(t, err)
	require.Equal(t, sim.Sender.Address, ch.Sender)
	require.Equal(t, sim.Sender.Address, ch.Signer)
	require.Equal(t, sim.Provider.Address, ch.Recipient)
	require.Equal(t, chaintest.Bytes32("default_group"), ch.GroupID)
	requireBigEq(t, 0, ch.Nonce)
	requireBigEq(t, 1000, ch.Value)
	require.Zero(t, exp.Cmp(ch.Expiration))

	// The caller owns its copy: mutating it leaves the cache intact.
	ch.Value.SetInt64(1)
	for range 100 {
		again, err := chain.Channel(ctx, id)
		require.NoError(t, err)
		requireBigEq(t, 1000, again.Value)
	}
	st := chain.Stats()
	t.Logf("101 Channel calls: %+v", st)
	require.Equal(t, escrow.ChainStats{BlockNumberCalls: 1, ChannelCalls: 1, NextIDCalls: 1}, st)
	require.Equal(t, uint64(3), st.Total())

	head, err := chain.Head(ctx)
	require.NoError(t, err)
	simHead, err := sim.Head(ctx)
	require.NoError(t, err)
	require.LessOrEqual(t, head, simHead)
}

func TestChainUnknownChannelCostsNoReads(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	chain := chainTestNew(t, sim.Client(), sim, time.Hour)

	// Ids that cannot exist cost nothing.
	tooBig := new(big.Int).Lsh(big.NewInt(1), 256)
	for _, id := range []*big.Int{nil, big.NewInt(-1), tooBig} {
		_, err := chain.Channel(ctx, id)
		require.ErrorIs(t, err, escrow.ErrChannelNotFound)
		_, err = chain.Refresh(ctx, id)
		require.ErrorIs(t, err, escrow.ErrChannelNotFound)
	}
	require.Zero(t, chain.Stats().Total())

	// A flood of ids not opened yet: one nextChannelId read in all, however
	// many ids and blocks.
	next, err := sim.Contracts.NextChannelID(ctx)
	require.NoError(t, err)
	const bogus = 50
	for round := range 3 {
		for i := range bogus {
			id := new(big.Int).Add(next, big.NewInt(1_000_000+int64(i)))
			ch, err := chain.Channel(ctx, id)
			require.ErrorIs(t, err, escrow.ErrChannelNotFound)
			require.Nil(t, ch)
			_, err = chain.Refresh(ctx, id)
			require.ErrorIs(t, err, escrow.ErrChannelNotFound)
		}
		if round == 1 {
			sim.Commit()
			_, err := chain.RefreshHead(ctx)
			require.NoError(t, err)
		}
	}
	st := chain.Stats()
	t.Logf("3 rounds x %d unopened ids (Channel+Refresh), one new head: %+v", bogus, st)
	require.Equal(t, uint64(1), st.NextIDCalls)
	require.Zero(t, st.ChannelCalls)

	// A channel opened after nextChannelId was cached is found at once: the
	// ids just above it are still read.
	id, _ := chainTestOpen(t, sim, 1000, 100)
	require.Zero(t, id.Cmp(next))
	ch, err := chain.Channel(ctx, id)
	require.NoError(t, err)
	requireBigEq(t, 1000, ch.Value)
	require.Equal(t, uint64(1), chain.Stats().ChannelCalls)

	// An id asked for before its channel existed stays missing until the
	// next head.
	probe := new(big.Int).Add(id, big.NewInt(1))
	_, err = chain.Channel(ctx, probe)
	require.ErrorIs(t, err, escrow.ErrChannelNotFound)
	id2, _ := chainTestOpen(t, sim, 2000, 100)
	require.Zero(t, id2.Cmp(probe))
	_, err = chain.Refresh(ctx, id2)
	require.ErrorIs(t, err, escrow.ErrChannelNotFound, "read at this head already")
	_, err = chain.RefreshHead(ctx)
	require.NoError(t, err)
	ch, err = chain.Channel(ctx, id2)
	require.NoError(t, err)
	requireBigEq(t, 2000, ch.Value)
	st = chain.Stats()
	require.Equal(t, uint64(1), st.NextIDCalls)
	require.Equal(t, uint64(3), st.ChannelCalls)
}

// zeroChannelClient answers channels(id) with an empty channel for every id,
// as the contract would for an id it never opened.
type zeroChannelClient struct{ escrow.ChainClient }

func (z zeroChannelClient) CallContract(ctx context.Context, msg ethereum.CallMsg, block *big.Int) ([]byte, error) {
	if len(msg.Data) >= 4 && common.Bytes2Hex(msg.Data[:4]) == "e5949b5d" {
		return make([]byte, 7*32), nil
	}
	return z.ChainClient.CallContract(ctx, msg, block)
}

func TestChainEmptyChannelIsCachedUntilNextHead(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	id, _ := chainTestOpen(t, sim, 1000, 100) // below nextChannelId
	chain := chainTestNew(t, zeroChannelClient{sim.Client()}, sim, time.Hour)

	for range 10 {
		_, err := chain.Channel(ctx, id)
		require.ErrorIs(t, err, escrow.ErrChannelNotFound)
		_, err = chain.Refresh(ctx, id)
		require.ErrorIs(t, err, escrow.ErrChannelNotFound)
	}
	require.Equal(t, uint64(1), chain.Stats().ChannelCalls, "read once at this head")
	sim.Commit()
	_, err := chain.RefreshHead(ctx)
	require.NoError(t, err)
	_, err = chain.Channel(ctx, id)
	require.ErrorIs(t, err, escrow.ErrChannelNotFound)
	require.Equal(t, uint64(2), chain.Stats().ChannelCalls, "read again at the new head")
}

func TestChainRefreshIsBoundedPerBlock(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	id, _ := chainTestOpen(t, sim, 1000, 100)
	chain := chainTestNew(t, sim.Client(), sim, time.Hour)

	_, err := chain.Channel(ctx, id)
	require.NoError(t, err)
	for range 10 {
		_, err := chain.Refresh(ctx, id)
		require.NoError(t, err)
	}
	require.Equal(t, uint64(1), chain.Stats().ChannelCalls, "read at this head already")

	sim.Commit()
	_, err = chain.RefreshHead(ctx)
	require.NoError(t, err)
	for range 10 {
		_, err := chain.Refresh(ctx, id)
		require.NoError(t, err)
	}
	st := chain.Stats()
	t.Logf("Channel + 10 Refresh, new head, 10 Refresh: %+v", st)
	require.Equal(t, uint64(2), st.ChannelCalls, "one read per new head")
	// Channel never re-reads a cached channel, whatever the head.
	_, err = chain.Channel(ctx, id)
	require.NoError(t, err)
	require.Equal(t, uint64(2), chain.Stats().ChannelCalls)
}

// A client that tops up its channel and pays at once, before the poll has
// seen the block, is not refused: Refresh reads the head first (unless it
// is fresh), and the new block allows a new read of the channel.
func TestChainRefreshSeesATopUpBeforeThePoll(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	id, _ := chainTestOpen(t, sim, 1000, 100)
	chain := chainTestNew(t, sim.Client(), sim, 2*time.Second) // the default poll; Run is not started

	ch, err := chain.Channel(ctx, id)
	require.NoError(t, err)
	requireBigEq(t, 1000, ch.Value)
	require.NoError(t, sim.Contracts.Deposit(ctx, sim.Sender.Opts(), big.NewInt(500)))
	require.NoError(t, sim.Contracts.ChannelAddFunds(ctx, sim.Sender.Opts(), id, big.NewInt(500)))
	time.Sleep(250 * time.Millisecond) // the client's own round trip, at least

	ch, err = chain.Refresh(ctx, id)
	require.NoError(t, err)
	requireBigEq(t, 1500, ch.Value)
}

func TestChainRefreshReadsAStaleHead(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	id, _ := chainTestOpen(t, sim, 1000, 100)
	chain := chainTestNew(t, sim.Client(), sim, 20*time.Millisecond) // Run is not started

	_, err := chain.Channel(ctx, id)
	require.NoError(t, err)
	sim.Commit()
	time.Sleep(50 * time.Millisecond)
	before, err := chain.Head(ctx)
	require.NoError(t, err)
	_, err = chain.Refresh(ctx, id)
	require.NoError(t, err)
	after, err := chain.Head(ctx)
	require.NoError(t, err)
	require.Greater(t, after, before)
	st := chain.Stats()
	require.Equal(t, uint64(2), st.BlockNumberCalls)
	require.Equal(t, uint64(2), st.ChannelCalls)
}

// Events drop the cached channel when the head that contains them is read.
func TestChainPicksUpEventsFromLogs(t *testing.T) {
	sim := testSim(t)
	c := sim.Contracts
	tests := []struct {
		name   string
		blocks int64 // channel lifetime
		act    func(t *testing.T, id *big.Int)
		check  func(t *testing.T, ch *escrow.ChainChannel)
	}{
		{
			name: "ChannelAddFunds", blocks: 100,
			act: func(t *testing.T, id *big.Int) {
				require.NoError(t, c.Deposit(t.Context(), sim.Sender.Opts(), big.NewInt(500)))
				require.NoError(t, c.ChannelAddFunds(t.Context(), sim.Sender.Opts(), id, big.NewInt(500)))
			},
			check: func(t *testing.T, ch *escrow.ChainChannel) { requireBigEq(t, 1500, ch.Value) },
		},
		{
			name: "ChannelExtend", blocks: 100,
			act: func(t *testing.T, id *big.Int) {
				require.NoError(t, c.ChannelExtend(t.Context(), sim.Sender.Opts(), id, big.NewInt(1_000_000)))
			},
			check: func(t *testing.T, ch *escrow.ChainChannel) { requireBigEq(t, 1_000_000, ch.Expiration) },
		},
		{
			name: "ChannelClaim", blocks: 100,
			act: func(t *testing.T, id *big.Int) {
				msg, err := escrow.ClaimMessage(c.MPE, id, big.NewInt(0), big.NewInt(300))
				require.NoError(t, err)
				sig, err := escrow.Sign(msg, sim.Sender.Key)
				require.NoError(t, err)
				require.NoError(t, c.ChannelClaim(t.Context(), sim.Provider.Opts(), id, big.NewInt(300), big.NewInt(300), sig, false))
			},
			check: func(t *testing.T, ch *escrow.ChainChannel) {
				requireBigEq(t, 1, ch.Nonce)
				requireBigEq(t, 700, ch.Value)
			},
		},
		{
			name: "ChannelSenderClaim", blocks: 2,
			act: func(t *testing.T, id *big.Int) {
				sim.AdvanceBlocks(2) // the sender may reclaim once the channel expired
				require.NoError(t, c.ChannelClaimTimeout(t.Context(), sim.Sender.Opts(), id))
			},
			check: func(t *testing.T, ch *escrow.ChainChannel) {
				requireBigEq(t, 1, ch.Nonce)
				requireBigEq(t, 0, ch.Value)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			id, _ := chainTestOpen(t, sim, 1000, tt.blocks)
			chain := chainTestNew(t, sim.Client(), sim, time.Hour)
			before, err := chain.Channel(ctx, id)
			require.NoError(t, err)

			tt.act(t, id)
			// Until the head is read, the cache serves the old data for free.
			cached, err := chain.Channel(ctx, id)
			require.NoError(t, err)
			require.Equal(t, before, cached)
			require.Equal(t, uint64(1), chain.Stats().ChannelCalls)

			_, err = chain.RefreshHead(ctx)
			require.NoError(t, err)
			after, err := chain.Channel(ctx, id)
			require.NoError(t, err)
			tt.check(t, after)
			st := chain.Stats()
			require.Equal(t, escrow.ChainStats{BlockNumberCalls: 2, LogCalls: 1, ChannelCalls: 2, NextIDCalls: 1}, st)
		})
	}
}

func TestChainRunPollsHeadAndEvents(t *testing.T) {
	sim := testSim(t)
	ctx, cancel := context.WithCancel(t.Context())
	id, _ := chainTestOpen(t, sim, 1000, 100)
	chain := chainTestNew(t, sim.Client(), sim, 10*time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- chain.Run(ctx) }()

	ch, err := chain.Channel(ctx, id)
	require.NoError(t, err)
	requireBigEq(t, 1000, ch.Value)
	require.NoError(t, sim.Contracts.Deposit(ctx, sim.Sender.Opts(), big.NewInt(1)))
	require.NoError(t, sim.Contracts.ChannelAddFunds(ctx, sim.Sender.Opts(), id, big.NewInt(1)))
	require.Eventually(t, func() bool {
		ch, err := chain.Channel(ctx, id)
		return err == nil && ch.Value.Int64() == 1001
	}, 5*time.Second, 5*time.Millisecond)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	t.Logf("Run at 10ms with one addFunds: %+v", chain.Stats())
}

// slowChainClient delays contract calls so that concurrent misses overlap.
type slowChainClient struct {
	escrow.ChainClient
	delay time.Duration
}

func (s slowChainClient) CallContract(ctx context.Context, msg ethereum.CallMsg, block *big.Int) ([]byte, error) {
	time.Sleep(s.delay)
	return s.ChainClient.CallContract(ctx, msg, block)
}

func TestChainConcurrentMissesShareOneRead(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	id, _ := chainTestOpen(t, sim, 1000, 100)
	chain := chainTestNew(t, slowChainClient{sim.Client(), 50 * time.Millisecond}, sim, time.Hour)
	_, err := chain.Head(ctx)
	require.NoError(t, err)

	const n = 32
	var wg sync.WaitGroup
	results := make([]*escrow.ChainChannel, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			if i%2 == 0 {
				results[i], errs[i] = chain.Channel(ctx, id)
			} else {
				results[i], errs[i] = chain.Refresh(ctx, id)
			}
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		requireBigEq(t, 1000, results[i].Value)
		if i > 0 {
			require.NotSame(t, results[0], results[i], "callers get their own copies")
		}
	}
	st := chain.Stats()
	t.Logf("%d concurrent Channel/Refresh misses: %+v", n, st)
	require.Equal(t, uint64(1), st.ChannelCalls)
}

// A caller giving up does not fail the others sharing its read.
func TestChainSharedReadSurvivesCallerCancel(t *testing.T) {
	sim := testSim(t)
	id, _ := chainTestOpen(t, sim, 1000, 100)
	chain := chainTestNew(t, slowChainClient{sim.Client(), 100 * time.Millisecond}, sim, time.Hour)
	_, err := chain.Head(t.Context())
	require.NoError(t, err)

	impatient, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() { _, err := chain.Channel(impatient, id); errc <- err }()
	time.Sleep(2 * time.Millisecond)
	ch, err := chain.Channel(t.Context(), id)
	require.NoError(t, err)
	requireBigEq(t, 1000, ch.Value)
	require.ErrorIs(t, <-errc, context.DeadlineExceeded)
	require.Equal(t, uint64(1), chain.Stats().ChannelCalls)
}

// faultyChainClient fails the RPCs whose flag is set.
type faultyChainClient struct {
	escrow.ChainClient
	failHead, failCall, failLogs atomic.Bool
}

var errChainTestNode = errors.New("injected node failure")

func (f *faultyChainClient) BlockNumber(ctx context.Context) (uint64, error) {
	if f.failHead.Load() {
		return 0, errChainTestNode
	}
	return f.ChainClient.BlockNumber(ctx)
}

func (f *faultyChainClient) CallContract(ctx context.Context, msg ethereum.CallMsg, block *big.Int) ([]byte, error) {
	if f.failCall.Load() {
		return nil, errChainTestNode
	}
	return f.ChainClient.CallContract(ctx, msg, block)
}

func (f *faultyChainClient) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if f.failLogs.Load() {
		return nil, errChainTestNode
	}
	return f.ChainClient.FilterLogs(ctx, q)
}

func TestChainFailsClosed(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	id, _ := chainTestOpen(t, sim, 1000, 100)
	client := &faultyChainClient{ChainClient: sim.Client()}
	chain := chainTestNew(t, client, sim, time.Hour)

	client.failHead.Store(true)
	_, err := chain.Head(ctx)
	require.ErrorIs(t, err, escrow.ErrChainUnavailable)
	require.ErrorIs(t, err, errChainTestNode)
	ch, err := chain.Channel(ctx, id)
	require.ErrorIs(t, err, errChainTestNode)
	require.Nil(t, ch)
	client.failHead.Store(false)

	client.failCall.Store(true)
	ch, err = chain.Channel(ctx, id)
	require.ErrorIs(t, err, escrow.ErrChainUnavailable)
	require.NotErrorIs(t, err, escrow.ErrChannelNotFound)
	require.Nil(t, ch)
	_, err = chain.OrgMetadataURI(ctx, sim.Contracts.Registry, "snet")
	require.ErrorIs(t, err, escrow.ErrChainUnavailable)
	_, err = chain.TokenBalance(ctx, sim.Contracts.Token, sim.Sender.Address)
	require.ErrorIs(t, err, escrow.ErrChainUnavailable)
	client.failCall.Store(false)

	// A failed log scan keeps the old head: publishing the new one without
	// its events could serve stale channel data as current.
	head, err := chain.Head(ctx)
	require.NoError(t, err)
	sim.Commit()
	client.failLogs.Store(true)
	_, err = chain.RefreshHead(ctx)
	require.ErrorIs(t, err, errChainTestNode)
	still, err := chain.Head(ctx)
	require.NoError(t, err)
	require.Equal(t, head, still)
	client.failLogs.Store(false)
	newHead, err := chain.RefreshHead(ctx)
	require.NoError(t, err)
	require.Greater(t, newHead, head)

	// No contract at the MPE address (wrong network or address).
	wrong := escrow.NewChain(sim.Client(), common.HexToAddress("0x00000000000000000000000000000000000000ee"), escrow.ChainOptions{})
	_, err = wrong.Channel(ctx, id)
	require.ErrorIs(t, err, escrow.ErrNoContract)
}

// When polling fails for long, the head is not trusted any more.
func TestChainOldHeadIsNotServed(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	client := &faultyChainClient{ChainClient: sim.Client()}
	chain := escrow.NewChain(client, sim.Contracts.MPE, escrow.ChainOptions{PollInterval: time.Hour, MaxHeadAge: 30 * time.Millisecond})
	_, err := chain.Head(ctx)
	require.NoError(t, err)
	client.failHead.Store(true)
	_, err = chain.Head(ctx)
	require.NoError(t, err, "young enough: served from the cache")
	time.Sleep(50 * time.Millisecond)
	_, err = chain.Head(ctx)
	require.ErrorIs(t, err, escrow.ErrChainUnavailable)
	client.failHead.Store(false)
	_, err = chain.Head(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(3), chain.Stats().BlockNumberCalls)
}

func TestChainRegistryAndToken(t *testing.T) {
	sim := testSim(t)
	ctx := t.Context()
	c := sim.Contracts
	org, svc := chainTestUniqueID("org"), chainTestUniqueID("svc")
	require.NoError(t, c.CreateOrganization(ctx, sim.Provider.Opts(), org, []byte("ipfs://QmOrgMetadata"), []common.Address{sim.Other.Address}))
	require.NoError(t, c.CreateServiceRegistration(ctx, sim.Provider.Opts(), org, svc, []byte("ipfs://QmServiceMetadata")))
	chain := chainTestNew(t, sim.Client(), sim, time.Hour)

	tests := []struct {
		name    string
		read    func() ([]byte, error)
		want    string
		wantErr error
	}{
		{"org", func() ([]byte, error) { return chain.OrgMetadataURI(ctx, c.Registry, org) }, "ipfs://QmOrgMetadata", nil},
		{"service", func() ([]byte, error) { return chain.ServiceMetadataURI(ctx, c.Registry, org, svc) }, "ipfs://QmServiceMetadata", nil},
		{"unknown org", func() ([]byte, error) { return chain.OrgMetadataURI(ctx, c.Registry, "no-such-org") }, "", escrow.ErrNotRegistered},
		{"unknown service", func() ([]byte, error) { return chain.ServiceMetadataURI(ctx, c.Registry, org, "nope") }, "", escrow.ErrNotRegistered},
		{"service of unknown org", func() ([]byte, error) { return chain.ServiceMetadataURI(ctx, c.Registry, "no-such-org", svc) }, "", escrow.ErrNotRegistered},
		{"no registry", func() ([]byte, error) { return chain.OrgMetadataURI(ctx, common.Address{0xee}, org) }, "", escrow.ErrNoContract},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri, err := tt.read()
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, string(uri))
		})
	}

	bal, err := chain.TokenBalance(ctx, c.Token, sim.Sender.Address)
	require.NoError(t, err)
	want, err := c.TokenBalance(ctx, sim.Sender.Address)
	require.NoError(t, err)
	require.Zero(t, want.Cmp(bal))
	require.Positive(t, bal.Sign())
	st := chain.Stats()
	require.Equal(t, uint64(len(tests)), st.RegistryCalls)
	require.Equal(t, uint64(1), st.TokenCalls)
}
