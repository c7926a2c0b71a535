package chaintest

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/stretchr/testify/require"
)

// signClaim builds the MPE claim message exactly as the contract checks it:
// keccak256("\x19Ethereum Signed Message:\n32" ‖ keccak256("__MPE_claim_message"
// ‖ mpe ‖ U256(channel) ‖ U256(nonce) ‖ U256(amount))), signed with v 0/1.
func signClaim(t *testing.T, acct Account, mpe common.Address, channelID, nonce, amount *big.Int) []byte {
	t.Helper()
	msg := []byte("__MPE_claim_message")
	msg = append(msg, mpe.Bytes()...)
	msg = append(msg, math.U256Bytes(new(big.Int).Set(channelID))...)
	msg = append(msg, math.U256Bytes(new(big.Int).Set(nonce))...)
	msg = append(msg, math.U256Bytes(new(big.Int).Set(amount))...)
	hash := crypto.Keccak256(msg)
	prefixed := crypto.Keccak256(append([]byte("\x19Ethereum Signed Message:\n32"), hash...))
	sig, err := crypto.Sign(prefixed, acct.Key)
	require.NoError(t, err)
	return sig
}

// requireBig compares by value: ABI decoding yields a non-nil empty mantissa
// for zero, which require.Equal tells apart from big.NewInt(0).
func requireBig(t *testing.T, want int64, got *big.Int) {
	t.Helper()
	require.NotNil(t, got)
	require.Zero(t, big.NewInt(want).Cmp(got), "want %d, got %s", want, got)
}

func TestChannelClaimMovesFundsAndBumpsNonce(t *testing.T) {
	ctx := t.Context()
	sim, err := NewSim(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	c := sim.Contracts

	head, err := sim.Head(ctx)
	require.NoError(t, err)
	group := Bytes32("default_group")
	value := big.NewInt(1000)
	expiration := new(big.Int).SetUint64(head + 100)
	id, err := c.DepositAndOpenChannel(ctx, sim.Sender.Opts(), sim.Sender.Address, sim.Provider.Address, group, value, expiration)
	require.NoError(t, err)

	ch, err := c.Channel(ctx, id)
	require.NoError(t, err)
	requireBig(t, 0, ch.Nonce)
	require.Equal(t, sim.Sender.Address, ch.Sender)
	require.Equal(t, sim.Sender.Address, ch.Signer)
	require.Equal(t, sim.Provider.Address, ch.Recipient)
	require.Equal(t, group, ch.GroupID)
	require.Equal(t, value, ch.Value)
	require.Equal(t, expiration, ch.Expiration)
	next, err := c.NextChannelID(ctx)
	require.NoError(t, err)
	require.Equal(t, new(big.Int).Add(id, big.NewInt(1)), next)

	before, err := c.MPEBalance(ctx, sim.Provider.Address)
	require.NoError(t, err)

	// The client signed 300; the provider claims all of it without sendback.
	planned := big.NewInt(300)
	sig := signClaim(t, sim.Sender, c.MPE, id, big.NewInt(0), planned)
	require.Less(t, sig[64], byte(2), "crypto.Sign gives v 0/1; ChannelClaim must convert")
	require.NoError(t, c.ChannelClaim(ctx, sim.Provider.Opts(), id, planned, planned, sig, false))

	after, err := c.MPEBalance(ctx, sim.Provider.Address)
	require.NoError(t, err)
	require.Equal(t, new(big.Int).Add(before, planned), after)
	ch, err = c.Channel(ctx, id)
	require.NoError(t, err)
	requireBig(t, 1, ch.Nonce)
	requireBig(t, 700, ch.Value)

	// The signature was for nonce 0: replaying it must fail.
	require.Error(t, c.ChannelClaim(ctx, sim.Provider.Opts(), id, planned, planned, sig, false))

	// A v of 27/28 is accepted as is.
	sig = signClaim(t, sim.Sender, c.MPE, id, big.NewInt(1), big.NewInt(100))
	sig[64] += 27
	require.NoError(t, c.ChannelClaim(ctx, sim.Provider.Opts(), id, big.NewInt(100), big.NewInt(100), sig, false))
	ch, err = c.Channel(ctx, id)
	require.NoError(t, err)
	requireBig(t, 2, ch.Nonce)
	requireBig(t, 600, ch.Value)

	require.ErrorIs(t, c.ChannelClaim(ctx, sim.Provider.Opts(), id, planned, planned, sig[:64], false), ErrBadSignature)
}

// A second process reaches the chain over HTTP; blocks come from auto-commit
// and transactions are awaited by receipt, as on a real chain.
func TestSimOverHTTP(t *testing.T) {
	ctx := t.Context()
	sim, err := NewSim(ctx, WithHTTP("127.0.0.1:0"), WithAutoCommit(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	require.NotEmpty(t, sim.HTTPURL())

	client, err := ethclient.DialContext(ctx, sim.HTTPURL())
	require.NoError(t, err)
	t.Cleanup(client.Close)
	chainID, err := client.ChainID(ctx)
	require.NoError(t, err)
	require.Equal(t, big.NewInt(SimChainID), chainID)

	remote, err := Bind(client, ReceiptWaiter(client), sim.Contracts.Addresses)
	require.NoError(t, err)
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	amount := big.NewInt(12345)
	require.NoError(t, remote.Mint(waitCtx, sim.Deployer.Opts(), sim.Provider.Address, amount))
	bal, err := sim.Contracts.TokenBalance(ctx, sim.Provider.Address)
	require.NoError(t, err)
	requireBig(t, amount.Int64(), bal)
}

func TestRegistryRoundTrip(t *testing.T) {
	ctx := t.Context()
	sim, err := NewSim(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	c := sim.Contracts
	owner := sim.Provider.Opts()
	require.NoError(t, c.CreateOrganization(ctx, owner, "snet", []byte("ipfs://QmOrg"), nil))
	require.NoError(t, c.CreateServiceRegistration(ctx, owner, "snet", "example-service", []byte("ipfs://QmSvc")))
	// Creating the same organisation twice reverts (at gas estimation).
	require.Error(t, c.CreateOrganization(ctx, owner, "snet", []byte("x"), nil))
}

func TestBytes32(t *testing.T) {
	long := "0123456789abcdef0123456789abcdef-truncated"
	tests := []struct {
		in   string
		want [32]byte
	}{
		{"", [32]byte{}},
		{"snet", [32]byte{'s', 'n', 'e', 't'}},
		{long, [32]byte([]byte(long[:32]))},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Bytes32(tt.in), tt.in)
	}
}

func TestContractsDirEnv(t *testing.T) {
	t.Setenv(EnvContractsDir, t.TempDir())
	_, err := LoadArtifacts()
	require.ErrorIs(t, err, ErrArtifactsNotFound)
}
