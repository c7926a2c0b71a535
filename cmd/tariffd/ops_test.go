package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/etcdserver"
	"github.com/tariffd/tariff/examples/devnet/localnet"
	"github.com/tariffd/tariff/host/config"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// One local network (chain, metadata, Calculator, tariffd on its embedded
// etcd) for the package, started by the first test that needs it.
var (
	opsNetOnce sync.Once
	opsNet     *localnet.Network
	opsNetErr  error
	opsNetDir  string
	opsDemo    *localnet.DemoResult // the paid calls made on it
)

func TestMain(m *testing.M) {
	code := m.Run()
	if opsNet != nil {
		opsNet.Close()
	}
	if opsNetDir != "" {
		_ = os.RemoveAll(opsNetDir)
	}
	os.Exit(code)
}

func opsNetwork(t *testing.T) *localnet.Network {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a local network")
	}
	opsNetOnce.Do(func() {
		if opsNetDir, opsNetErr = os.MkdirTemp("", "tariffd-ops-"); opsNetErr != nil {
			return
		}
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		opsNet, opsNetErr = localnet.Start(context.Background(), localnet.Options{
			Dir: opsNetDir, BlockTime: 200 * time.Millisecond, Log: quiet, DaemonLogger: quiet,
		})
		if opsNetErr != nil {
			return
		}
		// Paid calls right away, once: the daemon's cached head (polled every
		// 5 s) is then close to the chain's, whose blocks come every 200 ms.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		opsDemo, opsNetErr = opsNet.Demo(ctx, io.Discard, 2)
	})
	require.NoError(t, opsNetErr)
	return opsNet
}

// opsRun runs the binary's entry point in process.
func opsRun(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func opsJSON[T any](t *testing.T, args ...string) T {
	t.Helper()
	code, out, errOut := opsRun(args...)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	var v T
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), out)
	require.False(t, dec.More(), "one JSON document")
	return v
}

// opsStorage writes records straight into the running daemon's etcd, under
// the daemon's keys.
func opsStorage(t *testing.T, n *localnet.Network) (clientv3.KV, escrow.Keys, config.Config) {
	t.Helper()
	cfg, _, err := config.Load([]string{n.ConfigPath}, nil)
	require.NoError(t, err)
	e := cfg.Storage.Embedded
	require.NotNil(t, e)
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{fmt.Sprintf("%s://%s:%d", e.Scheme, e.Host, e.ClientPort)},
		DialTimeout: 5 * time.Second,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })
	groupB64 := opsGroupB64(n)
	return cli, escrow.NewKeys(cfg.Blockchain.Network, cfg.OrganizationID, groupB64, n.Sim.Contracts.MPE), cfg
}

func opsGroupB64(n *localnet.Network) string {
	// The localnet's group id, as metadata and keys spell it.
	return base64.StdEncoding.EncodeToString(n.GroupID[:])
}

func TestOpsChannelsAfterPaidCalls(t *testing.T) {
	n := opsNetwork(t)
	res := opsDemo
	require.Equal(t, int64(2*(10+20)), res.Spent.Int64())

	doc := opsJSON[channelsJSON](t, "channels", "--config", n.ConfigPath, "--json")
	var found *channelJSON
	for i, ch := range doc.Channels {
		if ch.ChannelID == res.ChannelID.String() {
			found = &doc.Channels[i]
		}
	}
	require.NotNil(t, found, "channel %s listed: %+v", res.ChannelID, doc)
	require.Equal(t, res.Spent.String(), found.SignedAmount)
	require.Equal(t, "0", found.Nonce)
	require.Equal(t, "1000000", found.FullAmount)
	require.Equal(t, n.Sim.Sender.Address.Hex(), found.Sender)
	require.Equal(t, n.Sim.Sender.Address.Hex(), found.Signer)
	require.Equal(t, n.Sim.Provider.Address.Hex(), found.Recipient)
	require.Equal(t, "0x"+hex.EncodeToString(n.GroupID[:]), found.GroupID)
	require.Len(t, found.Signature, 2+2*65)
	exp, ok := new(big.Int).SetString(found.Expiration, 10)
	require.True(t, ok)
	require.Positive(t, exp.Sign())
	total, ok := new(big.Int).SetString(doc.TotalUnclaimed, 10)
	require.True(t, ok)
	require.GreaterOrEqual(t, total.Cmp(res.Spent), 0)
	require.Empty(t, doc.Undecodable)

	// Upstream's spelling gives the same table.
	for _, args := range [][]string{{"channels"}, {"list", "channels"}} {
		code, out, errOut := opsRun(append(args, "-c", n.ConfigPath)...)
		require.Equal(t, 0, code, errOut)
		require.Contains(t, out, "CHANNEL  NONCE  SIGNED (cogs)  VALUE (cogs)")
		line := opsLine(t, out, res.ChannelID.String()+" ")
		require.Equal(t, []string{res.ChannelID.String(), "0", res.Spent.String(), "1000000"}, strings.Fields(line)[:4])
		require.Contains(t, line, n.Sim.Sender.Address.Hex())
	}
}

// opsLine returns the first line of out that starts with prefix.
func opsLine(t *testing.T, out, prefix string) string {
	t.Helper()
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no line starting with %q in:\n%s", prefix, out)
	return ""
}

func TestOpsClaimsAndUndecodable(t *testing.T) {
	n := opsNetwork(t)
	ctx := context.Background()
	kv, keys, _ := opsStorage(t, n)
	// Channel ids far above the chain's, so no other test meets them.
	id, nonce := big.NewInt(900001), big.NewInt(4)
	raw, err := escrow.EncodeGob(&escrow.PaymentRecord{ChannelID: id, ChannelNonce: nonce, Amount: big.NewInt(1234), Signature: []byte{1, 2}})
	require.NoError(t, err)
	_, err = kv.Put(ctx, keys.Payment(id, nonce), string(raw))
	require.NoError(t, err)
	_, err = kv.Put(ctx, keys.Payment(big.NewInt(900002), big.NewInt(0)), "garbage")
	require.NoError(t, err)
	_, err = kv.Put(ctx, keys.Channel(big.NewInt(900003)), "garbage")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = kv.Delete(context.Background(), keys.Payment(id, nonce))
		_, _ = kv.Delete(context.Background(), keys.Payment(big.NewInt(900002), big.NewInt(0)))
		_, _ = kv.Delete(context.Background(), keys.Channel(big.NewInt(900003)))
	})

	claims := opsJSON[claimsJSON](t, "claims", "--config", n.ConfigPath, "--json")
	require.Contains(t, claims.Claims, claimJSON{ChannelID: "900001", Nonce: "4", Amount: "1234", Signature: "0x0102"})
	require.Equal(t, []undecodableJSON{{Key: keys.Payment(big.NewInt(900002), big.NewInt(0)),
		Error: claims.Undecodable[0].Error}}, claims.Undecodable)
	require.Contains(t, claims.Undecodable[0].Error, "cannot decode")

	code, out, errOut := opsRun("list", "claims", "--config", n.ConfigPath)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, []string{"900001", "4", "1234", "present"}, strings.Fields(opsLine(t, out, "900001")))
	require.Contains(t, out, "1 stored value(s) could not be decoded:\n  "+keys.Payment(big.NewInt(900002), big.NewInt(0)))

	// A broken channel record is reported; the others are still listed.
	channels := opsJSON[channelsJSON](t, "channels", "--config", n.ConfigPath, "--json")
	require.Len(t, channels.Undecodable, 1)
	require.Equal(t, keys.Channel(big.NewInt(900003)), channels.Undecodable[0].Key)
}

func TestOpsFreeCalls(t *testing.T) {
	n := opsNetwork(t)
	ctx := context.Background()
	kv, keys, cfg := opsStorage(t, n)
	group := opsGroupB64(n)
	address := "0xAbC0000000000000000000000000000000000001"
	put := func(user string, made int) {
		raw, err := escrow.EncodeGob(&escrow.FreeCallUserData{Address: address, UserID: user, FreeCallsMade: made,
			OrganizationId: cfg.OrganizationID, ServiceId: cfg.ServiceID, GroupID: group})
		require.NoError(t, err)
		_, err = kv.Put(ctx, keys.FreeCallUser(address, user, cfg.OrganizationID, cfg.ServiceID, group), string(raw))
		require.NoError(t, err)
	}
	put("", 5)
	put("alice@example.com", 2)
	t.Cleanup(func() { _, _ = kv.Delete(context.Background(), keys.FreeCallUserPrefix(), clientv3.WithPrefix()) })

	list := opsJSON[freeCallsJSON](t, "freecalls", "list", "--config", n.ConfigPath, "--json")
	require.Contains(t, list.FreeCalls, freeCallJSON{Address: address, UserID: "", FreeCallsMade: 5,
		OrganizationID: cfg.OrganizationID, ServiceID: cfg.ServiceID, GroupID: group})
	require.Contains(t, list.FreeCalls, freeCallJSON{Address: address, UserID: "alice@example.com", FreeCallsMade: 2,
		OrganizationID: cfg.OrganizationID, ServiceID: cfg.ServiceID, GroupID: group})

	code, out, errOut := opsRun("freecall", "list", "-c", n.ConfigPath)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, []string{address, "-", "5", cfg.OrganizationID, cfg.ServiceID, group}, strings.Fields(opsLine(t, out, address+"  ")))

	reset := opsJSON[freeCallResetJSON](t, "freecalls", "reset", "--address", address, "--user-id", "alice@example.com", "--config", n.ConfigPath, "--json")
	require.Equal(t, address, reset.Address)
	require.NotNil(t, reset.PreviousFreeCallsMade)
	require.Equal(t, 2, *reset.PreviousFreeCallsMade)
	require.Zero(t, reset.FreeCallsMade)

	// Upstream's spelling; the other counter of the address is untouched.
	code, out, errOut = opsRun("freecall", "reset", "-a", address, "-c", n.ConfigPath)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "reset from 5 to 0")
	list = opsJSON[freeCallsJSON](t, "freecalls", "list", "--config", n.ConfigPath, "--json")
	for _, f := range list.FreeCalls {
		if f.Address == address {
			require.Zero(t, f.FreeCallsMade, f.UserID)
		}
	}

	// The address is matched as sent: the operator is shown what exists.
	code, _, errOut = opsRun("freecalls", "reset", "--address", strings.ToLower(address), "--config", n.ConfigPath)
	require.Equal(t, exitFailed, code)
	require.Contains(t, errOut, "no free-call counter")
	require.Contains(t, errOut, address+` (user id "alice@example.com"`)
}

func TestOpsStorageUnreachable(t *testing.T) {
	n := opsNetwork(t)
	raw, err := os.ReadFile(n.ConfigPath)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	ports, err := etcdserver.FreePorts(1)
	require.NoError(t, err)
	doc["payment_channel_storage_server"].(map[string]any)["client_port"] = ports[0]
	doc["payment_channel_storage_client"] = map[string]any{"connection_timeout": "300ms"}
	path := filepath.Join(t.TempDir(), "snetd.config.json")
	raw, err = json.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw, 0o600))

	code, out, errOut := opsRun("channels", "--config", path)
	require.Equal(t, exitFailed, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "is it running?")
	require.Contains(t, errOut, strconv.Itoa(ports[0]))
}

func TestOpsKeygen(t *testing.T) {
	check := func(priv, address string) {
		t.Helper()
		require.Len(t, priv, 64)
		require.False(t, strings.HasPrefix(priv, "0x"))
		key, err := crypto.HexToECDSA(priv)
		require.NoError(t, err)
		require.Equal(t, crypto.PubkeyToAddress(key.PublicKey).Hex(), address, "checksummed address of the key")
	}
	k1 := opsJSON[keyJSON](t, "keygen", "--json")
	check(k1.PrivateKey, k1.Address)
	k2 := opsJSON[keyJSON](t, "generate-key", "--json")
	check(k2.PrivateKey, k2.Address)
	require.NotEqual(t, k1.PrivateKey, k2.PrivateKey)

	code, out, _ := opsRun("keygen")
	require.Equal(t, 0, code)
	var priv, address string
	_, err := fmt.Sscanf(out, "private key: %s\naddress: %s\n", &priv, &address)
	require.NoError(t, err, out)
	check(priv, address)
}

func TestOpsVersion(t *testing.T) {
	v := opsJSON[versionJSON](t, "version", "--json")
	require.Equal(t, version, v.Version)
	code, out, _ := opsRun("version")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "tariffd "+version), out)
}

func TestOpsUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.json")
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"freecalls"}, exitUsage, "missing subcommand"},
		{[]string{"freecalls", "purge"}, exitUsage, `unknown subcommand "purge"`},
		{[]string{"freecalls", "reset", "--config", missing}, exitUsage, "--address is required"},
		{[]string{"channels", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"claims", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"list"}, exitUsage, "channels or claims"},
		{[]string{"keygen", "--config", "x"}, exitUsage, "flag provided but not defined"},
		{[]string{"channels", "--config", missing}, exitFailed, "no such file"},
		{[]string{"freecalls", "list", "--config", missing}, exitFailed, "no such file"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := opsRun(tc.args...)
			require.Equal(t, tc.code, code, errOut)
			require.Empty(t, out)
			require.Contains(t, errOut, tc.err)
		})
	}
}

func TestOpsConfigWithoutPayments(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, config, err string
	}{
		{"blockchain disabled", `{"blockchain_enabled": false, "organization_id": "o", "service_id": "s", "ethereum_json_rpc_http_endpoint": "http://127.0.0.1:1"}`, "keeps no payment state"},
		{"memory storage", `{"blockchain_enabled": true, "organization_id": "o", "service_id": "s",
			"ethereum_json_rpc_http_endpoint": "http://127.0.0.1:1", "payment_channel_storage_type": "memory"}`, "cannot be read from outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			require.NoError(t, os.WriteFile(path, []byte(tc.config), 0o600))
			code, _, errOut := opsRun("channels", "--config", path)
			require.Equal(t, exitFailed, code)
			require.Contains(t, errOut, tc.err)
		})
	}
}

func TestOpsUnlockIsNotNeeded(t *testing.T) {
	for _, args := range [][]string{{"channel", "--unlock", "42"}, {"freecall", "unlock", "-a", "0x1"}} {
		code, out, _ := opsRun(args...)
		require.Equal(t, 0, code)
		require.Contains(t, out, "nothing to unlock")
	}
}
