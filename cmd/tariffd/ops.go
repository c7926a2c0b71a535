package main

// Operator commands (upstream's "snetd list", "freecall", "generate-key",
// "version"): read or repair the payment state of a running daemon's group.
// They connect to the storage the daemon uses (the embedded etcd it serves,
// or the external cluster); the logic lives in escrow.

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/host/config"
)

// Exit codes: 1 the command failed, 2 it was called wrongly.
const (
	exitFailed = 1
	exitUsage  = 2
)

// errUsage marks a command line that cannot be run; the flag package has
// already said why.
var errUsage = errors.New("usage")

// opsCommand is what every operator command shares: its flags, its output.
type opsCommand struct {
	name   string
	fs     *flag.FlagSet
	files  multiFlag
	json   bool
	stdout io.Writer
	stderr io.Writer
}

func newOpsCommand(name string, stdout, stderr io.Writer, withConfig bool) *opsCommand {
	c := &opsCommand{name: name, fs: flag.NewFlagSet(name, flag.ContinueOnError), stdout: stdout, stderr: stderr}
	c.fs.SetOutput(stderr)
	if withConfig {
		c.fs.Var(&c.files, "config", "configuration file (repeatable; default snetd.config.json)")
		c.fs.Var(&c.files, "c", "shorthand for --config")
	}
	c.fs.BoolVar(&c.json, "json", false, "print one JSON document instead of a table")
	return c
}

// parse parses the flags; positional arguments are not taken.
func (c *opsCommand) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		return errUsage
	}
	if c.fs.NArg() > 0 {
		fmt.Fprintf(c.stderr, "tariffd %s: unexpected argument %q\n", c.name, c.fs.Arg(0))
		c.fs.Usage()
		return errUsage
	}
	if len(c.files) == 0 {
		c.files = multiFlag{"snetd.config.json"}
	}
	return nil
}

// exit reports err and gives the exit code.
func (c *opsCommand) exit(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return exitUsage
	}
	fmt.Fprintf(c.stderr, "tariffd %s: %v\n", c.name, err)
	return exitFailed
}

// storage is the payment storage of the configured group, open.
type storage struct {
	cfg   config.Config
	env   *host.PaymentEnv
	store *escrow.Store
}

// open loads the configuration and connects to the group's storage; the
// caller closes it.
func (c *opsCommand) open(ctx context.Context) (*storage, error) {
	cfg, _, err := config.Load(c.files, os.LookupEnv)
	if err != nil {
		// Warnings are the serve command's to report; errors stop us here.
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	if !cfg.Blockchain.Enabled {
		return nil, errors.New("blockchain_enabled is false in the configuration: tariffd keeps no payment state without it")
	}
	if cfg.Storage.Type == config.StorageMemory {
		return nil, errors.New(`payment_channel_storage_type is "memory": the payment state lives inside the running daemon and cannot be read from outside`)
	}
	// The commands print results on stdout; only warnings and errors go to stderr.
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	env, err := host.OpenPayments(ctx, cfg, log, false)
	if err != nil {
		// OpenPayments does not mark storage failures with a sentinel yet;
		// its etcd errors name etcd.
		if e := cfg.Storage.Embedded; e != nil && (errors.Is(err, escrow.ErrStorage) || strings.Contains(err.Error(), "etcd")) {
			err = fmt.Errorf("%w\n(the embedded etcd at %s:%d is served by the running tariffd: is it running?)", err, e.Host, e.ClientPort)
		}
		return nil, err
	}
	return &storage{cfg: cfg, env: env, store: env.Store}, nil
}

func (s *storage) close() { _ = s.env.Close() }

// groupIDBase64 is the group id as the free-call keys spell it.
func (s *storage) groupIDBase64() string { return s.env.OrgGroup.IDBase64() }

// withStore opens the payment storage for f and closes it after.
func (c *opsCommand) withStore(f func(ctx context.Context, st *storage) error) error {
	ctx, stop := opsContext()
	defer stop()
	st, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.close()
	return f(ctx, st)
}

func opsContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func (c *opsCommand) writeJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns; rows are tab-separated cells.
func (c *opsCommand) table(header string, rows []string) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	return tw.Flush()
}

// undecodable lists values that could not be decoded, after the table.
func (c *opsCommand) undecodable(list []undecodableJSON) {
	if len(list) == 0 {
		return
	}
	fmt.Fprintf(c.stdout, "\n%d stored value(s) could not be decoded:\n", len(list))
	for _, u := range list {
		fmt.Fprintf(c.stdout, "  %s: %s\n", u.Key, u.Error)
	}
}

type undecodableJSON struct {
	Key   string `json:"key"`
	Error string `json:"error"`
}

// cogs formats an amount; amounts are decimal strings in JSON too, because
// they can exceed what a JSON number holds exactly.
func cogs(n *big.Int) string {
	if n == nil {
		return "0"
	}
	return n.String()
}

func hexBytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return "0x" + hex.EncodeToString(b)
}

// ---- channels

type channelJSON struct {
	ChannelID    string `json:"channel_id"`
	Nonce        string `json:"nonce"`
	SignedAmount string `json:"signed_amount"` // signed in this nonce, not claimed yet
	FullAmount   string `json:"full_amount"`
	Expiration   string `json:"expiration"`
	Sender       string `json:"sender"`
	Signer       string `json:"signer"`
	Recipient    string `json:"recipient"`
	GroupID      string `json:"group_id"`
	Signature    string `json:"signature"`
}

type channelsJSON struct {
	Channels []channelJSON `json:"channels"`
	// TotalUnclaimed is the sum of the signed amounts: what the provider
	// can claim now, besides claims already in progress.
	TotalUnclaimed string            `json:"total_unclaimed"`
	Undecodable    []undecodableJSON `json:"undecodable"`
}

func channelsCmd(args []string, stdout, stderr io.Writer) int {
	c := newOpsCommand("channels", stdout, stderr, true)
	return c.exit(c.channels(args))
}

func (c *opsCommand) channels(args []string) error {
	if err := c.parse(args); err != nil {
		return err
	}
	return c.withStore(c.listChannels)
}

func (c *opsCommand) listChannels(ctx context.Context, st *storage) error {
	entries, err := st.store.InspectChannels(ctx)
	if err != nil {
		return err
	}
	doc := channelsJSON{Channels: []channelJSON{}, Undecodable: []undecodableJSON{}}
	total := new(big.Int)
	for _, e := range entries {
		if e.Err != nil {
			doc.Undecodable = append(doc.Undecodable, undecodableJSON{e.Key, e.Err.Error()})
			continue
		}
		d := e.Data
		id := d.ChannelID
		if id == nil {
			id = e.ID
		}
		if d.AuthorizedAmount != nil {
			total.Add(total, d.AuthorizedAmount)
		}
		doc.Channels = append(doc.Channels, channelJSON{
			ChannelID: cogs(id), Nonce: cogs(d.Nonce), SignedAmount: cogs(d.AuthorizedAmount),
			FullAmount: cogs(d.FullAmount), Expiration: cogs(d.Expiration),
			Sender: d.Sender.Hex(), Signer: d.Signer.Hex(), Recipient: d.Recipient.Hex(),
			GroupID: hexBytes(d.GroupID[:]), Signature: hexBytes(d.Signature),
		})
	}
	doc.TotalUnclaimed = total.String()
	if c.json {
		return c.writeJSON(doc)
	}
	rows := make([]string, 0, len(doc.Channels))
	for _, ch := range doc.Channels {
		rows = append(rows, strings.Join([]string{ch.ChannelID, ch.Nonce, ch.SignedAmount, ch.FullAmount,
			ch.Expiration, ch.Sender, ch.Signer, ch.Recipient}, "\t"))
	}
	if err := c.table("CHANNEL\tNONCE\tSIGNED (cogs)\tVALUE (cogs)\tEXPIRATION\tSENDER\tSIGNER\tRECIPIENT", rows); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%d channel(s), %s cogs signed and not claimed yet (claims in progress: tariffd claims)\n",
		len(doc.Channels), doc.TotalUnclaimed)
	c.undecodable(doc.Undecodable)
	return nil
}

// ---- claims

type claimJSON struct {
	ChannelID string `json:"channel_id"`
	Nonce     string `json:"nonce"`
	Amount    string `json:"amount"`
	Signature string `json:"signature"`
}

type claimsJSON struct {
	Claims      []claimJSON       `json:"claims"`
	Undecodable []undecodableJSON `json:"undecodable"`
}

func claimsCmd(args []string, stdout, stderr io.Writer) int {
	c := newOpsCommand("claims", stdout, stderr, true)
	return c.exit(c.claims(args))
}

func (c *opsCommand) claims(args []string) error {
	if err := c.parse(args); err != nil {
		return err
	}
	return c.withStore(c.listClaims)
}

func (c *opsCommand) listClaims(ctx context.Context, st *storage) error {
	entries, err := st.store.InspectClaims(ctx)
	if err != nil {
		return err
	}
	doc := claimsJSON{Claims: []claimJSON{}, Undecodable: []undecodableJSON{}}
	for _, e := range entries {
		if e.Err != nil {
			doc.Undecodable = append(doc.Undecodable, undecodableJSON{e.Key, e.Err.Error()})
			continue
		}
		id, nonce := e.Data.ChannelID, e.Data.ChannelNonce
		if id == nil {
			id = e.ChannelID
		}
		if nonce == nil {
			nonce = e.Nonce
		}
		doc.Claims = append(doc.Claims, claimJSON{ChannelID: cogs(id), Nonce: cogs(nonce),
			Amount: cogs(e.Data.Amount), Signature: hexBytes(e.Data.Signature)})
	}
	if c.json {
		return c.writeJSON(doc)
	}
	rows := make([]string, 0, len(doc.Claims))
	for _, cl := range doc.Claims {
		sig := "present"
		if cl.Signature == "" {
			sig = "missing"
		}
		rows = append(rows, strings.Join([]string{cl.ChannelID, cl.Nonce, cl.Amount, sig}, "\t"))
	}
	if err := c.table("CHANNEL\tNONCE\tAMOUNT (cogs)\tSIGNATURE", rows); err != nil {
		return err
	}
	// Records are removed when the treasurer next lists claims and the chain
	// nonce has moved past them, so a finished claim can still show here.
	fmt.Fprintf(c.stdout, "%d claim(s) started and not yet seen completed on chain\n", len(doc.Claims))
	c.undecodable(doc.Undecodable)
	return nil
}

// ---- freecalls

type freeCallJSON struct {
	Address        string `json:"address"`
	UserID         string `json:"user_id"`
	FreeCallsMade  int    `json:"free_calls_made"`
	OrganizationID string `json:"organization_id"`
	ServiceID      string `json:"service_id"`
	GroupID        string `json:"group_id"`
}

type freeCallsJSON struct {
	FreeCalls   []freeCallJSON    `json:"free_calls"`
	Undecodable []undecodableJSON `json:"undecodable"`
}

type freeCallResetJSON struct {
	Address string `json:"address"`
	UserID  string `json:"user_id"`
	// PreviousFreeCallsMade is null when the counter could not be decoded.
	PreviousFreeCallsMade *int `json:"previous_free_calls_made"`
	FreeCallsMade         int  `json:"free_calls_made"`
}

func freeCallsCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "tariffd freecalls: missing subcommand: list or reset")
		return exitUsage
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "list":
		c := newOpsCommand("freecalls list", stdout, stderr, true)
		return c.exit(c.freeCallsList(rest))
	case "reset":
		c := newOpsCommand("freecalls reset", stdout, stderr, true)
		return c.exit(c.freeCallsReset(rest))
	case "unlock":
		return unlockCmd(stdout)
	default:
		fmt.Fprintf(stderr, "tariffd freecalls: unknown subcommand %q: list or reset\n", sub)
		return exitUsage
	}
}

func (c *opsCommand) freeCallsList(args []string) error {
	if err := c.parse(args); err != nil {
		return err
	}
	return c.withStore(c.printFreeCalls)
}

func (c *opsCommand) printFreeCalls(ctx context.Context, st *storage) error {
	doc, err := listFreeCalls(ctx, st.store)
	if err != nil {
		return err
	}
	if c.json {
		return c.writeJSON(doc)
	}
	rows := make([]string, 0, len(doc.FreeCalls))
	for _, f := range doc.FreeCalls {
		user := f.UserID
		if user == "" {
			user = "-"
		}
		rows = append(rows, strings.Join([]string{f.Address, user, fmt.Sprint(f.FreeCallsMade),
			f.OrganizationID, f.ServiceID, f.GroupID}, "\t"))
	}
	if err := c.table("ADDRESS\tUSER ID\tCALLS MADE\tORGANIZATION\tSERVICE\tGROUP", rows); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%d free-call counter(s)\n", len(doc.FreeCalls))
	c.undecodable(doc.Undecodable)
	return nil
}

func listFreeCalls(ctx context.Context, store *escrow.Store) (freeCallsJSON, error) {
	entries, err := store.InspectFreeCalls(ctx)
	if err != nil {
		return freeCallsJSON{}, err
	}
	doc := freeCallsJSON{FreeCalls: []freeCallJSON{}, Undecodable: []undecodableJSON{}}
	for _, e := range entries {
		if e.Err != nil {
			doc.Undecodable = append(doc.Undecodable, undecodableJSON{e.Key, e.Err.Error()})
			continue
		}
		d := e.Data
		// The key is what the daemon looks up: show its address and user id.
		address, user := e.Address, e.UserID
		if address == "" {
			address, user = d.Address, d.UserID
		}
		doc.FreeCalls = append(doc.FreeCalls, freeCallJSON{Address: address, UserID: user, FreeCallsMade: d.FreeCallsMade,
			OrganizationID: d.OrganizationId, ServiceID: d.ServiceId, GroupID: d.GroupID})
	}
	return doc, nil
}

func (c *opsCommand) freeCallsReset(args []string) error {
	var address, user string
	c.fs.StringVar(&address, "address", "", "the user's address, exactly as the client sends it (required)")
	c.fs.StringVar(&address, "a", "", "shorthand for --address")
	c.fs.StringVar(&user, "user-id", "", "the user id, for counters of trusted signers")
	c.fs.StringVar(&user, "u", "", "shorthand for --user-id")
	if err := c.parse(args); err != nil {
		return err
	}
	if address == "" {
		fmt.Fprintf(c.stderr, "tariffd %s: --address is required\n", c.name)
		c.fs.Usage()
		return errUsage
	}
	return c.withStore(func(ctx context.Context, st *storage) error {
		return c.resetFreeCalls(ctx, st, address, user)
	})
}

func (c *opsCommand) resetFreeCalls(ctx context.Context, st *storage, address, user string) error {
	prev, err := st.store.ResetFreeCalls(ctx, address, user, st.cfg.OrganizationID, st.cfg.ServiceID, st.groupIDBase64())
	if errors.Is(err, escrow.ErrNoFreeCallCounter) {
		return fmt.Errorf("%w%s", err, similarCounters(ctx, st.store, address, user))
	}
	if err != nil {
		return err
	}
	out := freeCallResetJSON{Address: address, UserID: user}
	if prev != nil {
		out.PreviousFreeCallsMade = &prev.FreeCallsMade
	}
	if c.json {
		return c.writeJSON(out)
	}
	was := "an undecodable value"
	if prev != nil {
		was = fmt.Sprint(prev.FreeCallsMade)
	}
	fmt.Fprintf(c.stdout, "free calls of %s (user id %q) of %s/%s reset from %s to 0\n",
		address, user, st.cfg.OrganizationID, st.cfg.ServiceID, was)
	return nil
}

// similarCounters names the counters the operator may have meant: the
// address is matched as sent, so a different letter case is a different
// counter.
func similarCounters(ctx context.Context, store *escrow.Store, address, user string) string {
	doc, err := listFreeCalls(ctx, store)
	if err != nil {
		return ""
	}
	var near []string
	for _, f := range doc.FreeCalls {
		if strings.EqualFold(f.Address, address) {
			near = append(near, fmt.Sprintf("%s (user id %q, service %s)", f.Address, f.UserID, f.ServiceID))
		}
	}
	if len(near) == 0 {
		return "; see tariffd freecalls list"
	}
	return "; counters for this address (addresses and user ids must match exactly):\n  " + strings.Join(near, "\n  ")
}

// ---- list (upstream's "list channels", "list claims")

func listCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "channels":
			return channelsCmd(args[1:], stdout, stderr)
		case "claims":
			return claimsCmd(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, "tariffd list: channels or claims")
	return exitUsage
}

// ---- unlock (upstream's "channel --unlock", "freecall unlock")

// unlockCmd answers upstream's unlock commands, so operators' scripts keep
// working: tariffd takes no locks, so there is never one to remove.
func unlockCmd(stdout io.Writer) int {
	fmt.Fprintln(stdout, "nothing to unlock: tariffd takes no lock keys (each payment is one compare-and-swap), so no channel or user can stay locked")
	return 0
}

// ---- keygen

type keyJSON struct {
	PrivateKey string `json:"private_key"` // hex, no 0x, as snetd config files take it
	Address    string `json:"address"`     // EIP-55 checksum
}

func keygenCmd(args []string, stdout, stderr io.Writer) int {
	c := newOpsCommand("keygen", stdout, stderr, false)
	return c.exit(c.keygen(args))
}

func (c *opsCommand) keygen(args []string) error {
	if err := c.parse(args); err != nil {
		return err
	}
	key, err := crypto.GenerateKey()
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	out := keyJSON{PrivateKey: hex.EncodeToString(crypto.FromECDSA(key)), Address: crypto.PubkeyToAddress(key.PublicKey).Hex()}
	if c.json {
		return c.writeJSON(out)
	}
	fmt.Fprintf(c.stdout, "private key: %s\naddress:     %s\n", out.PrivateKey, out.Address)
	return nil
}

// ---- version

type versionJSON struct {
	Version    string `json:"version"`
	Revision   string `json:"revision,omitempty"`    // git commit the binary was built from
	CommitTime string `json:"commit_time,omitempty"` // its time, RFC 3339
	Modified   bool   `json:"modified,omitempty"`    // built from a tree with local changes
	Go         string `json:"go,omitempty"`
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	c := newOpsCommand("version", stdout, stderr, false)
	if err := c.parse(args); err != nil {
		return c.exit(err)
	}
	if !c.json {
		fmt.Fprintln(stdout, versionString())
		return 0
	}
	v := versionJSON{Version: version}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v.Go = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.CommitTime = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	return c.exit(c.writeJSON(v))
}
