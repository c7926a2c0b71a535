package chaintest

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
)

// SimChainID is the chain id of go-ethereum's simulated backend.
const SimChainID = 1337

// Fixed keys, so test vectors and the demo's configuration are stable: the
// client and provider keys of the wire specification's test vectors.
const (
	ClientKeyHex   = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	ProviderKeyHex = "8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f"
)

var (
	// InitialEther is every account's genesis balance (for gas).
	InitialEther = new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18))
	// InitialTokens is minted to Sender and Other at start: 1,000,000 AGIX in
	// cogs (8 decimals).
	InitialTokens = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(1e8))
)

// Account is a funded key on the simulated chain.
type Account struct {
	Key     *ecdsa.PrivateKey
	Address common.Address
}

// Opts returns fresh transact options signing with the account's key.
func (a Account) Opts() *bind.TransactOpts {
	return bind.NewKeyedTransactor(a.Key, big.NewInt(SimChainID))
}

func mustAccount(keyHex string) Account {
	key, err := crypto.HexToECDSA(keyHex)
	if err != nil {
		panic(fmt.Sprintf("chaintest: bad fixed key: %v", err))
	}
	return Account{Key: key, Address: crypto.PubkeyToAddress(key.PublicKey)}
}

// seededAccount derives a deterministic key from a label.
func seededAccount(label string) Account {
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte("tariff/chaintest/" + label)))
	if err != nil {
		panic(fmt.Sprintf("chaintest: derive key %q: %v", label, err))
	}
	return Account{Key: key, Address: crypto.PubkeyToAddress(key.PublicKey)}
}

// Sim is go-ethereum's in-process simulated chain with the real contracts
// deployed.
//
// Blocks advance only when Commit is called: every transaction helper of
// Contracts commits a block for its transaction (CommitWaiter), and
// AdvanceBlocks commits empty blocks. A separate process talking to the chain
// over HTTP (WithHTTP) sees its transactions mined only when a block is
// committed, so such setups want WithAutoCommit as well.
type Sim struct {
	Contracts *Contracts

	Deployer Account // deployed the contracts, token minter
	Sender   Account // the client: channel sender and signer (ClientKeyHex)
	Provider Account // channel recipient (ProviderKeyHex)
	Other    Account // a second client

	backend  *simulated.Backend
	httpURL  string
	commitMu sync.Mutex
	stopAuto chan struct{}
	autoDone chan struct{}
	closeMu  sync.Once
	closeErr error
}

type simConfig struct {
	httpAddr   string
	autoCommit time.Duration
}

// SimOption configures NewSim.
type SimOption func(*simConfig)

// WithHTTP also serves the chain over HTTP JSON-RPC (eth, net, web3) on addr,
// e.g. "127.0.0.1:8545"; port 0 picks a free port (see HTTPURL). Keep it on
// loopback: the accounts' keys are public.
func WithHTTP(addr string) SimOption {
	return func(c *simConfig) { c.httpAddr = addr }
}

// WithAutoCommit seals a block every interval, like a real chain, so that
// transactions sent by other processes get mined and the head moves.
func WithAutoCommit(interval time.Duration) SimOption {
	return func(c *simConfig) { c.autoCommit = interval }
}

// NewSim starts a simulated chain with funded Deployer, Sender, Provider and
// Other accounts, deploys the contracts from Deployer and mints InitialTokens
// to Sender and Other. Close it when done.
func NewSim(ctx context.Context, opts ...SimOption) (*Sim, error) {
	var cfg simConfig
	for _, o := range opts {
		o(&cfg)
	}
	s := &Sim{
		Deployer: seededAccount("deployer"),
		Sender:   mustAccount(ClientKeyHex),
		Provider: mustAccount(ProviderKeyHex),
		Other:    seededAccount("other"),
	}
	alloc := types.GenesisAlloc{}
	for _, a := range s.Accounts() {
		alloc[a.Address] = types.Account{Balance: new(big.Int).Set(InitialEther)}
	}

	var nodeOpts []func(*node.Config, *ethconfig.Config)
	if cfg.httpAddr != "" {
		host, port, err := resolveHTTPAddr(cfg.httpAddr)
		if err != nil {
			return nil, err
		}
		s.httpURL = "http://" + net.JoinHostPort(host, strconv.Itoa(port))
		nodeOpts = append(nodeOpts, func(nc *node.Config, _ *ethconfig.Config) {
			nc.HTTPHost = host
			nc.HTTPPort = port
			nc.HTTPModules = []string{"eth", "net", "web3"}
		})
	}
	backend, err := newBackend(alloc, nodeOpts)
	if err != nil {
		return nil, err
	}
	s.backend = backend

	deployer := s.Deployer.Opts()
	s.Contracts, err = Deploy(ctx, backend.Client(), s.Waiter(), deployer)
	if err != nil {
		_ = backend.Close()
		return nil, fmt.Errorf("deploy contracts: %w", err)
	}
	for _, a := range []Account{s.Sender, s.Other} {
		if err := s.Contracts.Mint(ctx, deployer, a.Address, InitialTokens); err != nil {
			_ = backend.Close()
			return nil, fmt.Errorf("mint to %s: %w", a.Address, err)
		}
	}
	if cfg.autoCommit > 0 {
		s.stopAuto = make(chan struct{})
		s.autoDone = make(chan struct{})
		go s.autoCommitLoop(cfg.autoCommit)
	}
	return s, nil
}

// newBackend turns simulated.NewBackend's panics (e.g. the HTTP port is
// taken) into errors.
func newBackend(alloc types.GenesisAlloc, opts []func(*node.Config, *ethconfig.Config)) (b *simulated.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start simulated chain: %v", r)
		}
	}()
	return simulated.NewBackend(alloc, opts...), nil
}

// resolveHTTPAddr splits host:port, choosing a free port for port 0 (the
// backend does not report the port its node bound, so it must be known
// beforehand; another process could take it in between, which only fails
// NewSim).
func resolveHTTPAddr(addr string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("http address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", 0, fmt.Errorf("http address %q: %w", addr, err)
	}
	if port != 0 {
		return host, port, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", 0, fmt.Errorf("pick a free port on %s: %w", host, err)
	}
	port = l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return "", 0, fmt.Errorf("pick a free port on %s: %w", host, err)
	}
	return host, port, nil
}

func (s *Sim) autoCommitLoop(interval time.Duration) {
	defer close(s.autoDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopAuto:
			return
		case <-t.C:
			s.Commit()
		}
	}
}

// Accounts lists the funded accounts.
func (s *Sim) Accounts() []Account {
	return []Account{s.Deployer, s.Sender, s.Provider, s.Other}
}

// Client is an RPC client of the simulated chain (in-process; it satisfies
// bind.ContractBackend and the daemon's escrow.ChainClient).
func (s *Sim) Client() simulated.Client { return s.backend.Client() }

// HTTPURL is the JSON-RPC endpoint ("" without WithHTTP).
func (s *Sim) HTTPURL() string { return s.httpURL }

// Waiter commits a block per transaction; use it with Bind or Deploy on this
// chain.
func (s *Sim) Waiter() Waiter { return CommitWaiter(s.Commit, s.backend.Client()) }

// Commit seals a block with the pending transactions and returns its hash.
// The backend's Commit is not safe for concurrent use; this one is.
func (s *Sim) Commit() common.Hash {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.backend.Commit()
}

// AdvanceBlocks commits n blocks.
func (s *Sim) AdvanceBlocks(n int) {
	for range n {
		s.Commit()
	}
}

// Head returns the current block number.
func (s *Sim) Head(ctx context.Context) (uint64, error) {
	n, err := s.backend.Client().BlockNumber(ctx)
	if err != nil {
		return 0, fmt.Errorf("block number: %w", err)
	}
	return n, nil
}

// Close stops the chain; it cannot be used afterwards.
func (s *Sim) Close() error {
	s.closeMu.Do(func() {
		if s.stopAuto != nil {
			close(s.stopAuto)
			<-s.autoDone
		}
		s.closeErr = s.backend.Close()
	})
	return s.closeErr
}
