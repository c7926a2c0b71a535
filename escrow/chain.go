package escrow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"golang.org/x/sync/singleflight"
)

// The ABI fragments the daemon uses, embedded so that it never needs the npm
// artifacts at run time. Tests check them against the real contracts' ABIs.
const (
	// MPEABI: channels(uint256) (selector 0xe5949b5d), nextChannelId() (0xf4606f00) and
	// the events that open a channel or change it.
	MPEABI = `[
{"type":"function","name":"nextChannelId","stateMutability":"view",
 "inputs":[],"outputs":[{"name":"","type":"uint256"}]},
{"type":"event","name":"ChannelOpen","anonymous":false,"inputs":[
  {"indexed":false,"name":"channelId","type":"uint256"},{"indexed":false,"name":"nonce","type":"uint256"},
  {"indexed":true,"name":"sender","type":"address"},{"indexed":false,"name":"signer","type":"address"},
  {"indexed":true,"name":"recipient","type":"address"},{"indexed":true,"name":"groupId","type":"bytes32"},
  {"indexed":false,"name":"amount","type":"uint256"},{"indexed":false,"name":"expiration","type":"uint256"}]},
{"type":"function","name":"channels","stateMutability":"view",
 "inputs":[{"name":"","type":"uint256"}],
 "outputs":[{"name":"nonce","type":"uint256"},{"name":"sender","type":"address"},{"name":"signer","type":"address"},
  {"name":"recipient","type":"address"},{"name":"groupId","type":"bytes32"},{"name":"value","type":"uint256"},
  {"name":"expiration","type":"uint256"}]},
{"type":"event","name":"ChannelClaim","anonymous":false,"inputs":[
  {"indexed":true,"name":"channelId","type":"uint256"},{"indexed":false,"name":"nonce","type":"uint256"},
  {"indexed":true,"name":"recipient","type":"address"},{"indexed":false,"name":"claimAmount","type":"uint256"},
  {"indexed":false,"name":"plannedAmount","type":"uint256"},{"indexed":false,"name":"sendBackAmount","type":"uint256"},
  {"indexed":false,"name":"keepAmount","type":"uint256"}]},
{"type":"event","name":"ChannelExtend","anonymous":false,"inputs":[
  {"indexed":true,"name":"channelId","type":"uint256"},{"indexed":false,"name":"newExpiration","type":"uint256"}]},
{"type":"event","name":"ChannelAddFunds","anonymous":false,"inputs":[
  {"indexed":true,"name":"channelId","type":"uint256"},{"indexed":false,"name":"additionalFunds","type":"uint256"}]},
{"type":"event","name":"ChannelSenderClaim","anonymous":false,"inputs":[
  {"indexed":true,"name":"channelId","type":"uint256"},{"indexed":false,"name":"nonce","type":"uint256"},
  {"indexed":false,"name":"claimAmount","type":"uint256"}]}
]`

	// RegistryABI: getOrganizationById(bytes32) (0x9a017e0a) and
	// getServiceRegistrationById(bytes32,bytes32) (0x8895303f).
	RegistryABI = `[
{"type":"function","name":"getOrganizationById","stateMutability":"view",
 "inputs":[{"name":"orgId","type":"bytes32"}],
 "outputs":[{"name":"found","type":"bool"},{"name":"id","type":"bytes32"},{"name":"orgMetadataURI","type":"bytes"},
  {"name":"owner","type":"address"},{"name":"members","type":"address[]"},{"name":"serviceIds","type":"bytes32[]"}]},
{"type":"function","name":"getServiceRegistrationById","stateMutability":"view",
 "inputs":[{"name":"orgId","type":"bytes32"},{"name":"serviceId","type":"bytes32"}],
 "outputs":[{"name":"found","type":"bool"},{"name":"id","type":"bytes32"},{"name":"metadataURI","type":"bytes"}]}
]`

	// TokenABI: ERC-20 balanceOf(address) (0x70a08231).
	TokenABI = `[
{"type":"function","name":"balanceOf","stateMutability":"view",
 "inputs":[{"name":"account","type":"address"}],"outputs":[{"name":"","type":"uint256"}]}
]`
)

var (
	mpeABI      = mustABI(MPEABI)
	registryABI = mustABI(RegistryABI)
	tokenABI    = mustABI(TokenABI)

	// channelOpenEvent moves nextChannelId; its channelId is the first word
	// of the data (not indexed).
	channelOpenEvent = mpeABI.Events["ChannelOpen"].ID
	// channelEvents are the topic0 values the log scan asks for: ChannelOpen,
	// and the events after which a cached channel must be read again (in all
	// of those channelId is topic 1). Every state change of the contract's
	// channels emits one of them.
	channelEvents = []common.Hash{
		channelOpenEvent,
		mpeABI.Events["ChannelClaim"].ID,
		mpeABI.Events["ChannelExtend"].ID,
		mpeABI.Events["ChannelAddFunds"].ID,
		mpeABI.Events["ChannelSenderClaim"].ID,
	}
)

func mustABI(s string) abi.ABI {
	a, err := abi.JSON(strings.NewReader(s))
	if err != nil {
		panic(fmt.Sprintf("escrow: embedded ABI: %v", err))
	}
	return a
}

var (
	// ErrChannelNotFound means the MPE contract has no such channel (zero
	// sender), or the id cannot be a channel id at all.
	ErrChannelNotFound = errors.New("payment channel not found")
	// ErrNotRegistered means the Registry has no such organisation or service.
	ErrNotRegistered = errors.New("not found in the Registry")
	// ErrNoContract means a contract call returned nothing: no contract at the
	// configured address (wrong network or address).
	ErrNoContract = errors.New("no contract at address")
	// ErrChainUnavailable wraps every failure to read from the Ethereum node.
	// Callers refuse the call: chain data is never guessed.
	ErrChainUnavailable = errors.New("ethereum node unavailable")
)

// ChainClient is what the daemon needs from an Ethereum node;
// *ethclient.Client and the simulated backend's client satisfy it.
type ChainClient interface {
	ethereum.ContractCaller
	ethereum.LogFilterer
	BlockNumber(ctx context.Context) (uint64, error)
}

// ChainOptions tune a Chain. Zero values take the defaults.
type ChainOptions struct {
	// PollInterval is how often Run reads the head (default 2s). It is also
	// the age after which Refresh reads the head itself.
	PollInterval time.Duration
	// MaxHeadAge is how old the cached head may get before Head reads the
	// node itself (default 10 × PollInterval). It only matters when polling
	// fails: then calls re-read the head and fail closed instead of checking
	// expirations against an ever older block.
	MaxHeadAge time.Duration
	// RPCTimeout bounds one read shared by concurrent callers (default 10s).
	// A shared read does not use the first caller's cancellation, so one
	// impatient caller cannot fail the others.
	RPCTimeout time.Duration
	// MaxLogRange is the widest block range fetched with eth_getLogs (default
	// 1000, below common provider limits). After a longer gap the whole
	// channel cache is dropped instead.
	MaxLogRange uint64
	Logger      *slog.Logger
}

// ChainStats counts the RPCs a Chain issued.
type ChainStats struct {
	BlockNumberCalls uint64 // eth_blockNumber
	ChannelCalls     uint64 // eth_call channels(id)
	NextIDCalls      uint64 // eth_call nextChannelId()
	LogCalls         uint64 // eth_getLogs
	RegistryCalls    uint64 // eth_call to the Registry
	TokenCalls       uint64 // eth_call balanceOf
}

// Total is the number of RPCs of all kinds.
func (s ChainStats) Total() uint64 {
	return s.BlockNumberCalls + s.ChannelCalls + s.NextIDCalls + s.LogCalls + s.RegistryCalls + s.TokenCalls
}

// Chain is the daemon's cached view of the chain: the head and the MPE
// channels. In steady state a paid call costs no RPC: Run polls the head
// (one eth_blockNumber per interval, plus one eth_getLogs when it moved) and
// drops the cached channels that MPE events touched. Reads are bounded: a
// channel is read at most once per head block through Refresh, and
// concurrent misses share one read. Unknown ids are cheap: the contract
// numbers channels 0, 1, 2, … and never deletes one, so an id well above
// nextChannelId (read once, then followed through ChannelOpen events) has no
// channel and costs no RPC; ids just above it (openWindow) may belong to
// channels opened after the cached head and are read, and one that reads as
// empty is remembered until the next head. Every node error is returned
// (wrapped in ErrChainUnavailable), never a zero value.
//
// Invariant: when the cache reports head H, the events of all blocks up to H
// have been applied to the channel cache. (A reorg that replaces blocks
// without shortening the chain is not noticed; the affected channels are
// corrected by their next event or Refresh.)
type Chain struct {
	client ChainClient
	mpe    common.Address
	opts   ChainOptions
	log    *slog.Logger

	flights   singleflight.Group
	advanceMu sync.Mutex // one head read + log scan at a time

	mu       sync.Mutex
	haveHead bool
	head     uint64
	headAt   time.Time // when head was last read from the node
	logged   uint64    // events applied up to this block
	gen      uint64    // bumped whenever events change the cache
	channels map[channelKey]*cachedChannel
	missing  map[channelKey]uint64 // ids without a channel -> head they were read at
	next     *big.Int              // nextChannelId; nil until read (again, after dropAll)

	blockNumberCalls, channelCalls, nextIDCalls, logCalls, registryCalls, tokenCalls atomic.Uint64
}

type channelKey [32]byte

// openWindow is how many ids at and above the cached nextChannelId are still
// read from the chain: a client typically opens a channel and calls at once,
// before the poller has seen the block. Ids beyond it are refused without an
// RPC, so a flood of made-up ids costs at most openWindow reads per block.
const openWindow = 16

type cachedChannel struct {
	ch     ChainChannel
	readAt uint64 // the cached head when the read started
}

// NewChain returns a Chain reading channels of the MPE contract at mpe. Call
// Run to keep it fresh.
func NewChain(client ChainClient, mpe common.Address, opts ChainOptions) *Chain {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.MaxHeadAge <= 0 {
		opts.MaxHeadAge = 10 * opts.PollInterval
	}
	if opts.RPCTimeout <= 0 {
		opts.RPCTimeout = 10 * time.Second
	}
	if opts.MaxLogRange == 0 {
		opts.MaxLogRange = 1000
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Chain{
		client:   client,
		mpe:      mpe,
		opts:     opts,
		log:      log.With("component", "chain"),
		channels: map[channelKey]*cachedChannel{},
		missing:  map[channelKey]uint64{},
	}
}

// MPE is the escrow contract's address.
func (c *Chain) MPE() common.Address { return c.mpe }

// Stats returns the RPC counters.
func (c *Chain) Stats() ChainStats {
	return ChainStats{
		BlockNumberCalls: c.blockNumberCalls.Load(),
		ChannelCalls:     c.channelCalls.Load(),
		NextIDCalls:      c.nextIDCalls.Load(),
		LogCalls:         c.logCalls.Load(),
		RegistryCalls:    c.registryCalls.Load(),
		TokenCalls:       c.tokenCalls.Load(),
	}
}

// Run polls the head every PollInterval until ctx is done, then returns nil.
// Errors are logged and retried at the next tick; meanwhile the cached head
// ages, and Refresh reads the node itself (and fails closed).
func (c *Chain) Run(ctx context.Context) error {
	t := time.NewTicker(c.opts.PollInterval)
	defer t.Stop()
	for {
		if _, err := c.RefreshHead(ctx); err != nil && ctx.Err() == nil {
			c.log.WarnContext(ctx, "chain head poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Head returns the cached head block, reading it from the node only if
// there is none yet or it is older than MaxHeadAge.
func (c *Chain) Head(ctx context.Context) (uint64, error) {
	c.mu.Lock()
	head, ok := c.head, c.haveHead && time.Since(c.headAt) <= c.opts.MaxHeadAge
	c.mu.Unlock()
	if ok {
		return head, nil
	}
	return c.RefreshHead(ctx)
}

// HeadAtLeast returns the head, reading it again when the cached one is
// below block and older than a tenth of the poll interval: a client that
// signed a block the cache has not seen yet is not refused for it, and a
// flood of far-future block numbers costs at most ten head reads per
// interval.
func (c *Chain) HeadAtLeast(ctx context.Context, block uint64) (uint64, error) {
	head, err := c.Head(ctx)
	if err != nil || head >= block {
		return head, err
	}
	c.mu.Lock()
	fresh := time.Since(c.headAt) < c.opts.PollInterval/10
	c.mu.Unlock()
	if fresh {
		return head, nil
	}
	return c.RefreshHead(ctx)
}

// RefreshHead reads the head from the node and, when it moved, applies the
// MPE events of the new blocks to the cache before publishing it.
// Concurrent callers share one read.
func (c *Chain) RefreshHead(ctx context.Context) (uint64, error) {
	v, err := c.shared(ctx, "head", c.advance)
	if err != nil {
		return 0, err
	}
	return v.(uint64), nil
}

func (c *Chain) advance(ctx context.Context) (any, error) {
	c.advanceMu.Lock()
	defer c.advanceMu.Unlock()

	c.blockNumberCalls.Add(1)
	n, err := c.client.BlockNumber(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: eth_blockNumber: %w", ErrChainUnavailable, err)
	}

	c.mu.Lock()
	have, logged := c.haveHead, c.logged
	c.mu.Unlock()

	switch {
	case !have || n == logged:
		// First head: nothing is cached, so there is no history to replay.
		c.publish(n, nil, nil, false)
	case n < logged:
		// The chain got shorter (reorg, or another node behind a load
		// balancer): cached data may come from blocks that no longer exist.
		c.log.InfoContext(ctx, "chain head went back, dropping channel cache", "from", logged, "to", n)
		c.publish(n, nil, nil, true)
	case n-logged > c.opts.MaxLogRange:
		c.log.InfoContext(ctx, "chain head jumped, dropping channel cache", "from", logged, "to", n)
		c.publish(n, nil, nil, true)
	default:
		ids, opened, err := c.scanEvents(ctx, logged+1, n)
		if err != nil {
			// Keep the old head: publishing n without its events would break
			// the invariant. The head ages and the next poll retries.
			return nil, err
		}
		c.publish(n, ids, opened, false)
	}
	return n, nil
}

// scanEvents returns the channels that MPE events in [from, to] changed and
// the highest channel id opened there (nil if none).
func (c *Chain) scanEvents(ctx context.Context, from, to uint64) ([]channelKey, *big.Int, error) {
	c.logCalls.Add(1)
	logs, err := c.client.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(from),
		ToBlock:   new(big.Int).SetUint64(to),
		Addresses: []common.Address{c.mpe},
		Topics:    [][]common.Hash{channelEvents},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: eth_getLogs [%d, %d]: %w", ErrChainUnavailable, from, to, err)
	}
	var (
		ids    = make([]channelKey, 0, len(logs))
		opened *big.Int
	)
	for _, l := range logs {
		switch {
		case len(l.Topics) == 0:
		case l.Topics[0] == channelOpenEvent:
			if len(l.Data) >= 32 {
				id := new(big.Int).SetBytes(l.Data[:32])
				if opened == nil || id.Cmp(opened) > 0 {
					opened = id
				}
			}
		case len(l.Topics) >= 2:
			ids = append(ids, channelKey(l.Topics[1]))
		}
	}
	return ids, opened, nil
}

// publish makes n the head after applying its events: touched channels are
// dropped, nextChannelId moves past the highest opened one. gen moves with
// every change, so reads racing with it are returned but not cached.
func (c *Chain) publish(n uint64, touched []channelKey, opened *big.Int, dropAll bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.haveHead || n != c.head {
		// Unknown ids are remembered for one head only.
		clear(c.missing)
	}
	c.haveHead, c.head, c.headAt, c.logged = true, n, time.Now(), n
	if dropAll {
		clear(c.channels)
		c.next = nil
		c.gen++
		return
	}
	for _, k := range touched {
		delete(c.channels, k)
	}
	if opened != nil && c.next != nil && opened.Cmp(c.next) >= 0 {
		c.next = new(big.Int).Add(opened, big.NewInt(1))
	}
	if len(touched) > 0 || opened != nil {
		c.gen++
		c.log.Debug("channels changed on chain", "head", n, "events", len(touched), "opened", opened)
	}
}

// Channel returns the channel from the cache, reading the chain on a miss.
// A channel the contract does not have is ErrChannelNotFound.
func (c *Chain) Channel(ctx context.Context, id *big.Int) (*ChainChannel, error) {
	key, err := channelKeyOf(id)
	if err != nil {
		return nil, err
	}
	head, err := c.Head(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if e, ok := c.channels[key]; ok {
		ch := cloneChainChannel(&e.ch)
		c.mu.Unlock()
		return ch, nil
	}
	if at, ok := c.missing[key]; ok && at == head {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrChannelNotFound, id)
	}
	c.mu.Unlock()
	return c.read(ctx, key, id)
}

// Refresh re-reads one channel because the cached data would reject a call
// (the client may just have added funds or extended it). It reads at most
// once per channel per head block: when the channel was already read at the
// current head it returns that without an RPC. A head older than the poll
// interval is read first, so a stalled poller cannot pin the bound.
func (c *Chain) Refresh(ctx context.Context, id *big.Int) (*ChainChannel, error) {
	key, err := channelKeyOf(id)
	if err != nil {
		return nil, err
	}
	// The client may have changed the channel in a block the cache has not
	// seen (a top-up right before paying): read the head first, unless it
	// was read a moment ago, so that a new block allows a new channel read.
	// A flood of refusals costs at most ten head reads per poll interval
	// and one channel read per channel per block.
	c.mu.Lock()
	stale := !c.haveHead || time.Since(c.headAt) > c.opts.PollInterval/10
	c.mu.Unlock()
	if stale {
		if _, err := c.RefreshHead(ctx); err != nil {
			return nil, err
		}
	}
	return c.read(ctx, key, id)
}

// read reads channels(id) unless it was read at the current head already or
// the id is beyond nextChannelId's window. Concurrent reads of one channel
// share one RPC.
func (c *Chain) read(ctx context.Context, key channelKey, id *big.Int) (*ChainChannel, error) {
	c.mu.Lock()
	unopened := c.next != nil && beyondWindow(id, c.next)
	c.mu.Unlock()
	if unopened {
		return nil, fmt.Errorf("%w: %s", ErrChannelNotFound, id)
	}
	v, err := c.shared(ctx, string(key[:]), func(ctx context.Context) (any, error) {
		c.mu.Lock()
		head, gen := c.head, c.gen
		if e, ok := c.channels[key]; ok && e.readAt == head {
			c.mu.Unlock()
			return &e.ch, nil
		}
		if at, ok := c.missing[key]; ok && at == head {
			c.mu.Unlock()
			return nil, fmt.Errorf("%w: %s", ErrChannelNotFound, id)
		}
		next := c.next
		c.mu.Unlock()

		if next == nil {
			var err error
			if next, err = c.nextChannelID(ctx); err != nil {
				return nil, err
			}
		}
		if beyondWindow(id, next) {
			return nil, fmt.Errorf("%w: %s", ErrChannelNotFound, id)
		}
		ch, err := c.readChannel(ctx, id)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if ch != nil && c.next != nil && id.Cmp(c.next) >= 0 {
			// The channel exists, so nextChannelId is past it; its
			// ChannelOpen event will say the same at the next head.
			c.next = new(big.Int).Add(id, big.NewInt(1))
		}
		// If events dropped cached channels while we read, our result may
		// predate one of them: return it, but do not cache it.
		if c.gen == gen {
			if ch == nil {
				c.missing[key] = head
			} else {
				c.channels[key] = &cachedChannel{ch: *ch, readAt: head}
			}
		}
		c.mu.Unlock()
		if ch == nil {
			return nil, fmt.Errorf("%w: %s", ErrChannelNotFound, id)
		}
		return ch, nil
	})
	if err != nil {
		return nil, err
	}
	// The shared value is read-only; every caller gets its own copy.
	return cloneChainChannel(v.(*ChainChannel)), nil
}

func beyondWindow(id, next *big.Int) bool {
	return new(big.Int).Sub(id, next).Cmp(big.NewInt(openWindow)) >= 0
}

// nextChannelID reads nextChannelId once for all concurrent callers and
// caches it; ChannelOpen events keep it current from then on.
func (c *Chain) nextChannelID(ctx context.Context) (*big.Int, error) {
	v, err := c.shared(ctx, "next", func(ctx context.Context) (any, error) {
		c.mu.Lock()
		next, gen := c.next, c.gen
		c.mu.Unlock()
		if next != nil {
			return next, nil
		}
		c.nextIDCalls.Add(1)
		vals, err := chainCall(ctx, c.client, c.mpe, mpeABI, "nextChannelId")
		if err != nil {
			return nil, fmt.Errorf("MultiPartyEscrow %s: %w", c.mpe, err)
		}
		if err := decodeABIValues(vals, &next); err != nil {
			return nil, fmt.Errorf("MultiPartyEscrow %s: decode nextChannelId: %w", c.mpe, err)
		}
		c.mu.Lock()
		// If events were applied meanwhile (gen moved), a ChannelOpen may be
		// newer than this read: keeping it could hide that channel for good.
		if c.gen == gen && (c.next == nil || next.Cmp(c.next) > 0) {
			c.next = next
		}
		c.mu.Unlock()
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*big.Int), nil
}

// readChannel calls channels(id); nil means no such channel.
func (c *Chain) readChannel(ctx context.Context, id *big.Int) (*ChainChannel, error) {
	data, err := mpeABI.Pack("channels", id)
	if err != nil {
		return nil, fmt.Errorf("pack channels(%s): %w", id, err)
	}
	c.channelCalls.Add(1)
	out, err := c.client.CallContract(ctx, ethereum.CallMsg{To: &c.mpe, Data: data}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: channels(%s): %w", ErrChainUnavailable, id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: MultiPartyEscrow %s", ErrNoContract, c.mpe)
	}
	vals, err := mpeABI.Unpack("channels", out)
	if err != nil {
		return nil, fmt.Errorf("decode channels(%s): %w", id, err)
	}
	var ch ChainChannel
	if err := decodeABIValues(vals, &ch.Nonce, &ch.Sender, &ch.Signer, &ch.Recipient, &ch.GroupID, &ch.Value, &ch.Expiration); err != nil {
		return nil, fmt.Errorf("decode channels(%s): %w", id, err)
	}
	if ch.Sender == (common.Address{}) {
		return nil, nil
	}
	return &ch, nil
}

// shared runs fn once for all concurrent callers with the same key. fn gets
// a context without the first caller's cancellation but with RPCTimeout;
// each caller still stops waiting when its own ctx is done.
func (c *Chain) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	res := c.flights.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.RPCTimeout)
		defer cancel()
		return fn(fctx)
	})
	select {
	case r := <-res:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrChainUnavailable, ctx.Err())
	}
}

// channelKeyOf turns a channel id into its uint256 form; an id outside uint256 has
// no channel, so it costs no RPC.
func channelKeyOf(id *big.Int) (channelKey, error) {
	var k channelKey
	if id == nil || id.Sign() < 0 || id.BitLen() > 256 {
		return k, fmt.Errorf("%w: id %v out of uint256 range", ErrChannelNotFound, id)
	}
	id.FillBytes(k[:])
	return k, nil
}

func cloneChainChannel(ch *ChainChannel) *ChainChannel {
	cp := *ch
	cp.Nonce = new(big.Int).Set(ch.Nonce)
	cp.Value = new(big.Int).Set(ch.Value)
	cp.Expiration = new(big.Int).Set(ch.Expiration)
	return &cp
}

// OrgMetadataURI reads the organisation's metadata URI from the Registry
// (getOrganizationById); the id is copied into bytes32 as upstream does.
func (c *Chain) OrgMetadataURI(ctx context.Context, registry common.Address, orgID string) ([]byte, error) {
	var (
		found bool
		id    [32]byte
		uri   []byte
		owner common.Address
		mem   []common.Address
		svcs  [][32]byte
	)
	err := c.callRegistry(ctx, registry, "getOrganizationById", []any{idBytes32(orgID)},
		&found, &id, &uri, &owner, &mem, &svcs)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("organization %q: %w", orgID, ErrNotRegistered)
	}
	return uri, nil
}

// ServiceMetadataURI reads a service's metadata URI from the Registry
// (getServiceRegistrationById).
func (c *Chain) ServiceMetadataURI(ctx context.Context, registry common.Address, orgID, serviceID string) ([]byte, error) {
	var (
		found bool
		id    [32]byte
		uri   []byte
	)
	err := c.callRegistry(ctx, registry, "getServiceRegistrationById", []any{idBytes32(orgID), idBytes32(serviceID)},
		&found, &id, &uri)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("service %q of organization %q: %w", serviceID, orgID, ErrNotRegistered)
	}
	return uri, nil
}

func (c *Chain) callRegistry(ctx context.Context, registry common.Address, method string, args []any, dst ...any) error {
	c.registryCalls.Add(1)
	vals, err := chainCall(ctx, c.client, registry, registryABI, method, args...)
	if err != nil {
		return fmt.Errorf("registry %s: %w", registry, err)
	}
	if err := decodeABIValues(vals, dst...); err != nil {
		return fmt.Errorf("registry %s: decode %s: %w", registry, method, err)
	}
	return nil
}

// TokenBalance reads the ERC-20 balanceOf(addr) of token.
func (c *Chain) TokenBalance(ctx context.Context, token, addr common.Address) (*big.Int, error) {
	c.tokenCalls.Add(1)
	vals, err := chainCall(ctx, c.client, token, tokenABI, "balanceOf", addr)
	if err != nil {
		return nil, fmt.Errorf("token %s: %w", token, err)
	}
	var bal *big.Int
	if err := decodeABIValues(vals, &bal); err != nil {
		return nil, fmt.Errorf("token %s: decode balanceOf: %w", token, err)
	}
	return bal, nil
}

func chainCall(ctx context.Context, client ethereum.ContractCaller, to common.Address, a abi.ABI, method string, args ...any) ([]any, error) {
	data, err := a.Pack(method, args...)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", method, err)
	}
	out, err := client.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrChainUnavailable, method, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s returned nothing", ErrNoContract, method)
	}
	vals, err := a.Unpack(method, out)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", method, err)
	}
	return vals, nil
}

// idBytes32 copies an id string into 32 bytes, right-padded with zeros and
// truncated at 32 (upstream's conversion of org and service ids).
func idBytes32(s string) [32]byte {
	var b [32]byte
	copy(b[:], s)
	return b
}

// decodeABIValues copies ABI-decoded values into typed pointers, failing on a
// count or type mismatch instead of panicking.
func decodeABIValues(vals []any, dst ...any) error {
	if len(vals) != len(dst) {
		return fmt.Errorf("%d values, want %d", len(vals), len(dst))
	}
	for i, v := range vals {
		ok := false
		switch d := dst[i].(type) {
		case **big.Int:
			*d, ok = v.(*big.Int)
		case *common.Address:
			*d, ok = v.(common.Address)
		case *[32]byte:
			*d, ok = v.([32]byte)
		case *bool:
			*d, ok = v.(bool)
		case *[]byte:
			*d, ok = v.([]byte)
		case *[]common.Address:
			*d, ok = v.([]common.Address)
		case *[][32]byte:
			*d, ok = v.([][32]byte)
		}
		if !ok {
			return fmt.Errorf("value %d is %T, want %T", i, v, dst[i])
		}
	}
	return nil
}
