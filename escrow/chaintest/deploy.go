package chaintest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Token parameters the deployment uses (the token has 8 decimals).
const (
	TokenName     = "SingularityNET Token"
	TokenSymbol   = "AGIX"
	TokenDecimals = 8
)

var (
	// ErrTxFailed means a transaction was mined but reverted (receipt status 0).
	ErrTxFailed = errors.New("transaction reverted")
	// ErrBadSignature means a signature is not 65 bytes r‖s‖v.
	ErrBadSignature = errors.New("signature must be 65 bytes r||s||v")
)

// Waiter blocks until a sent transaction is mined and returns its receipt. It
// is the one difference between the simulated chain, where somebody has to
// seal a block (CommitWaiter), and a real chain, which mines on its own
// (ReceiptWaiter).
type Waiter interface {
	WaitMined(ctx context.Context, tx *types.Transaction) (*types.Receipt, error)
}

// WaiterFunc adapts a function to Waiter.
type WaiterFunc func(ctx context.Context, tx *types.Transaction) (*types.Receipt, error)

// WaitMined calls f.
func (f WaiterFunc) WaitMined(ctx context.Context, tx *types.Transaction) (*types.Receipt, error) {
	return f(ctx, tx)
}

// ReceiptWaiter waits for the receipt on a chain that mines by itself (a dev
// node, ganache, anvil, a testnet). It polls once a second (bind.WaitMined).
func ReceiptWaiter(b bind.DeployBackend) Waiter {
	return WaiterFunc(func(ctx context.Context, tx *types.Transaction) (*types.Receipt, error) {
		return bind.WaitMined(ctx, b, tx.Hash())
	})
}

// CommitWaiter seals a block with commit (the simulated backend's Commit) and
// then reads the receipt, so every transaction is mined in its own block.
func CommitWaiter(commit func() common.Hash, b bind.DeployBackend) Waiter {
	return WaiterFunc(func(ctx context.Context, tx *types.Transaction) (*types.Receipt, error) {
		commit()
		return bind.WaitMined(ctx, b, tx.Hash())
	})
}

// Addresses are where the three contracts live.
type Addresses struct {
	Token    common.Address
	MPE      common.Address
	Registry common.Address
}

// Contracts drives a deployment of the real contracts through their parsed
// ABIs (no abigen). Transactions are serialised by a mutex so that tests
// sharing one deployment cannot race on an account's nonce.
type Contracts struct {
	Addresses

	backend  bind.ContractBackend
	waiter   Waiter
	arts     *Artifacts
	token    *bind.BoundContract
	mpe      *bind.BoundContract
	registry *bind.BoundContract

	txMu sync.Mutex
}

// Deploy deploys SingularityNetToken(TokenName, TokenSymbol),
// MultiPartyEscrow(token) and Registry() from deployer, who becomes the
// token's minter. The artifacts are located with LoadArtifacts.
func Deploy(ctx context.Context, backend bind.ContractBackend, w Waiter, deployer *bind.TransactOpts) (*Contracts, error) {
	arts, err := LoadArtifacts()
	if err != nil {
		return nil, err
	}
	c := &Contracts{backend: backend, waiter: w, arts: arts}
	if c.Token, err = c.deploy(ctx, deployer, arts.Token, TokenName, TokenSymbol); err != nil {
		return nil, err
	}
	if c.MPE, err = c.deploy(ctx, deployer, arts.MPE, c.Token); err != nil {
		return nil, err
	}
	if c.Registry, err = c.deploy(ctx, deployer, arts.Registry); err != nil {
		return nil, err
	}
	c.bind()
	return c, nil
}

// Bind drives contracts that are already deployed at addrs.
func Bind(backend bind.ContractBackend, w Waiter, addrs Addresses) (*Contracts, error) {
	arts, err := LoadArtifacts()
	if err != nil {
		return nil, err
	}
	c := &Contracts{Addresses: addrs, backend: backend, waiter: w, arts: arts}
	c.bind()
	return c, nil
}

// Artifacts returns the loaded contract artifacts (ABIs and bytecode).
func (c *Contracts) Artifacts() *Artifacts { return c.arts }

func (c *Contracts) bind() {
	c.token = bind.NewBoundContract(c.Token, c.arts.Token.ABI, c.backend, c.backend, c.backend)
	c.mpe = bind.NewBoundContract(c.MPE, c.arts.MPE.ABI, c.backend, c.backend, c.backend)
	c.registry = bind.NewBoundContract(c.Registry, c.arts.Registry.ABI, c.backend, c.backend, c.backend)
}

func (c *Contracts) deploy(ctx context.Context, from *bind.TransactOpts, art Artifact, args ...any) (common.Address, error) {
	input, err := art.ABI.Pack("", args...)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy %s: pack constructor: %w", art.Name, err)
	}
	c.txMu.Lock()
	defer c.txMu.Unlock()
	_, tx, err := bind.DeployContract(withContext(ctx, from), art.Bytecode, c.backend, input)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy %s: %w", art.Name, err)
	}
	rcpt, err := c.wait(ctx, tx, "deploy "+art.Name)
	if err != nil {
		return common.Address{}, err
	}
	return rcpt.ContractAddress, nil
}

// send transacts and waits for a successful receipt.
func (c *Contracts) send(ctx context.Context, from *bind.TransactOpts, bc *bind.BoundContract, method string, args ...any) (*types.Receipt, error) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	tx, err := bc.Transact(withContext(ctx, from), method, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return c.wait(ctx, tx, method)
}

func (c *Contracts) wait(ctx context.Context, tx *types.Transaction, what string) (*types.Receipt, error) {
	rcpt, err := c.waiter.WaitMined(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("%s: wait for %s: %w", what, tx.Hash(), err)
	}
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return rcpt, fmt.Errorf("%s: tx %s: %w", what, tx.Hash(), ErrTxFailed)
	}
	return rcpt, nil
}

// withContext copies opts so that concurrent users of one TransactOpts do not
// share a context.
func withContext(ctx context.Context, opts *bind.TransactOpts) *bind.TransactOpts {
	cp := *opts
	cp.Context = ctx
	return &cp
}

func (c *Contracts) call(ctx context.Context, bc *bind.BoundContract, method string, args ...any) ([]any, error) {
	var out []any
	if err := bc.Call(&bind.CallOpts{Context: ctx}, &out, method, args...); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return out, nil
}

// Bytes32 copies an id string into 32 bytes, right-padded with zeros and
// truncated at 32, as snet-daemon and snet-cli do for org and service ids.
func Bytes32(s string) [32]byte {
	var b [32]byte
	copy(b[:], s)
	return b
}

// Mint mints amount (in cogs, 8 decimals) to to; minter must hold the minter
// role (the deployer does).
func (c *Contracts) Mint(ctx context.Context, minter *bind.TransactOpts, to common.Address, amount *big.Int) error {
	_, err := c.send(ctx, minter, c.token, "mint", to, amount)
	return err
}

// Approve lets the MPE contract pull amount tokens from owner.
func (c *Contracts) Approve(ctx context.Context, owner *bind.TransactOpts, amount *big.Int) error {
	_, err := c.send(ctx, owner, c.token, "approve", c.MPE, amount)
	return err
}

// Deposit approves and deposits amount tokens into from's MPE balance.
func (c *Contracts) Deposit(ctx context.Context, from *bind.TransactOpts, amount *big.Int) error {
	if err := c.Approve(ctx, from, amount); err != nil {
		return err
	}
	_, err := c.send(ctx, from, c.mpe, "deposit", amount)
	return err
}

// DepositAndOpenChannel approves value tokens and opens a channel from sender
// funded with them (the contract's depositAndOpenChannel); expiration is a
// block number. It returns the new channel id from the ChannelOpen event.
func (c *Contracts) DepositAndOpenChannel(ctx context.Context, sender *bind.TransactOpts, signer, recipient common.Address, groupID [32]byte, value, expiration *big.Int) (*big.Int, error) {
	if err := c.Approve(ctx, sender, value); err != nil {
		return nil, err
	}
	rcpt, err := c.send(ctx, sender, c.mpe, "depositAndOpenChannel", signer, recipient, groupID, value, expiration)
	if err != nil {
		return nil, err
	}
	return c.openedChannel(rcpt)
}

// OpenChannel opens a channel funded from sender's existing MPE balance.
func (c *Contracts) OpenChannel(ctx context.Context, sender *bind.TransactOpts, signer, recipient common.Address, groupID [32]byte, value, expiration *big.Int) (*big.Int, error) {
	rcpt, err := c.send(ctx, sender, c.mpe, "openChannel", signer, recipient, groupID, value, expiration)
	if err != nil {
		return nil, err
	}
	return c.openedChannel(rcpt)
}

func (c *Contracts) openedChannel(rcpt *types.Receipt) (*big.Int, error) {
	ev := c.arts.MPE.ABI.Events["ChannelOpen"]
	for _, l := range rcpt.Logs {
		if l.Address != c.MPE || len(l.Topics) == 0 || l.Topics[0] != ev.ID {
			continue
		}
		// channelId is the first non-indexed field.
		vals, err := ev.Inputs.NonIndexed().Unpack(l.Data)
		if err != nil {
			return nil, fmt.Errorf("unpack ChannelOpen: %w", err)
		}
		id, ok := vals[0].(*big.Int)
		if !ok {
			return nil, fmt.Errorf("unpack ChannelOpen: channelId is %T", vals[0])
		}
		return id, nil
	}
	return nil, fmt.Errorf("no ChannelOpen event in tx %s", rcpt.TxHash)
}

// ChannelAddFunds moves amount from sender's MPE balance into the channel
// (the contract takes it from the balance, so Deposit first).
func (c *Contracts) ChannelAddFunds(ctx context.Context, sender *bind.TransactOpts, channelID, amount *big.Int) error {
	_, err := c.send(ctx, sender, c.mpe, "channelAddFunds", channelID, amount)
	return err
}

// ChannelExtend sets the channel's expiration block (it may only grow).
func (c *Contracts) ChannelExtend(ctx context.Context, sender *bind.TransactOpts, channelID, newExpiration *big.Int) error {
	_, err := c.send(ctx, sender, c.mpe, "channelExtend", channelID, newExpiration)
	return err
}

// ChannelClaim claims actual of the planned amount the client signed, from
// the recipient's account. sig is 65 bytes r‖s‖v with v 0/1 or 27/28; the
// contract wants 27/28. sendback returns the rest of the channel to the
// sender and closes it.
func (c *Contracts) ChannelClaim(ctx context.Context, recipient *bind.TransactOpts, channelID, actual, planned *big.Int, sig []byte, sendback bool) error {
	if len(sig) != 65 {
		return fmt.Errorf("channelClaim: %w (got %d)", ErrBadSignature, len(sig))
	}
	var r, s [32]byte
	copy(r[:], sig[:32])
	copy(s[:], sig[32:64])
	v := sig[64]
	if v < 27 {
		v += 27
	}
	_, err := c.send(ctx, recipient, c.mpe, "channelClaim", channelID, actual, planned, v, r, s, sendback)
	return err
}

// ChannelClaimTimeout returns an expired channel's funds to its sender
// (emits ChannelSenderClaim).
func (c *Contracts) ChannelClaimTimeout(ctx context.Context, sender *bind.TransactOpts, channelID *big.Int) error {
	_, err := c.send(ctx, sender, c.mpe, "channelClaimTimeout", channelID)
	return err
}

// Channel is a channel as channels(id) returns it; a zero Sender means no
// such channel. (This package cannot use escrow.ChainChannel: escrow's own
// tests import it.)
type Channel struct {
	Nonce      *big.Int
	Sender     common.Address
	Signer     common.Address
	Recipient  common.Address
	GroupID    [32]byte
	Value      *big.Int
	Expiration *big.Int
}

// Channel reads channels(id).
func (c *Contracts) Channel(ctx context.Context, channelID *big.Int) (*Channel, error) {
	out, err := c.call(ctx, c.mpe, "channels", channelID)
	if err != nil {
		return nil, err
	}
	ch := new(Channel)
	if err := unpackInto(out, &ch.Nonce, &ch.Sender, &ch.Signer, &ch.Recipient, &ch.GroupID, &ch.Value, &ch.Expiration); err != nil {
		return nil, fmt.Errorf("channels: %w", err)
	}
	return ch, nil
}

// NextChannelID reads nextChannelId, the id the next opened channel gets.
func (c *Contracts) NextChannelID(ctx context.Context) (*big.Int, error) {
	return c.callBig(ctx, c.mpe, "nextChannelId")
}

// MPEBalance is addr's balance inside the escrow contract.
func (c *Contracts) MPEBalance(ctx context.Context, addr common.Address) (*big.Int, error) {
	return c.callBig(ctx, c.mpe, "balances", addr)
}

// TokenBalance is addr's token balance.
func (c *Contracts) TokenBalance(ctx context.Context, addr common.Address) (*big.Int, error) {
	return c.callBig(ctx, c.token, "balanceOf", addr)
}

func (c *Contracts) callBig(ctx context.Context, bc *bind.BoundContract, method string, args ...any) (*big.Int, error) {
	out, err := c.call(ctx, bc, method, args...)
	if err != nil {
		return nil, err
	}
	var v *big.Int
	if err := unpackInto(out, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return v, nil
}

// CreateOrganization registers orgID (copied into bytes32) owned by owner.
func (c *Contracts) CreateOrganization(ctx context.Context, owner *bind.TransactOpts, orgID string, metadataURI []byte, members []common.Address) error {
	if members == nil {
		members = []common.Address{}
	}
	_, err := c.send(ctx, owner, c.registry, "createOrganization", Bytes32(orgID), metadataURI, members)
	return err
}

// CreateServiceRegistration registers serviceID under orgID; owner must be the
// organisation's owner or a member.
func (c *Contracts) CreateServiceRegistration(ctx context.Context, owner *bind.TransactOpts, orgID, serviceID string, metadataURI []byte) error {
	_, err := c.send(ctx, owner, c.registry, "createServiceRegistration", Bytes32(orgID), Bytes32(serviceID), metadataURI)
	return err
}

// UpdateServiceRegistration points serviceID at new metadata, as a
// provider does to change prices (snet service update-metadata).
func (c *Contracts) UpdateServiceRegistration(ctx context.Context, owner *bind.TransactOpts, orgID, serviceID string, metadataURI []byte) error {
	_, err := c.send(ctx, owner, c.registry, "updateServiceRegistration", Bytes32(orgID), Bytes32(serviceID), metadataURI)
	return err
}

// unpackInto copies ABI-decoded values into typed pointers, failing on a
// count or type mismatch instead of panicking.
func unpackInto(vals []any, dst ...any) error {
	if len(vals) != len(dst) {
		return fmt.Errorf("got %d values, want %d", len(vals), len(dst))
	}
	for i, v := range vals {
		if err := assign(dst[i], v); err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
	}
	return nil
}

func assign(dst, v any) error {
	ok := false
	switch d := dst.(type) {
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
	default:
		return fmt.Errorf("unsupported destination %T", dst)
	}
	if !ok {
		return fmt.Errorf("%w: cannot assign %T to %T", errBadABIValue, v, dst)
	}
	return nil
}

var errBadABIValue = errors.New("unexpected ABI value type")
