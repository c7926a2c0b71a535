package config

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// builder turns the merged user configuration into a Config, applying
// defaults and collecting every validation error: snet-daemon's startup
// checks, and more.
type builder struct {
	u        *userConfig
	errs     Errors
	warnings []Warning
}

// build validates u and returns the runtime Config.
func build(u *userConfig) (Config, []Warning, Errors) {
	b := &builder{u: u}
	var c Config
	c.OrganizationID = b.identity("organization_id", u.OrganizationID, defaultOrganizationID)
	c.ServiceID = b.identity("service_id", u.ServiceID, defaultServiceID)
	c.Group = or(u.Group, defaultGroup)
	if c.Group == "" {
		b.invalid("group", "must not be empty")
	}
	c.Listen = or(u.Listen, defaultListen)
	b.hostPort("listen", c.Listen)
	c.DaemonType = or(u.DaemonType, defaultDaemonType)
	switch c.DaemonType {
	case "grpc":
	case "http":
		b.warn("daemon_type", "daemon type http is a legacy plain HTTP proxy without payments; not for production")
	default:
		b.invalid("daemon_type", "unknown daemon type %q (want grpc or http)", c.DaemonType)
	}
	mb := or(u.MaxMessageSizeMB, defaultMaxMessageMB)
	if mb < 1 || mb > maxMessageMB {
		b.invalid("max_message_size_mb", "%d MiB is out of range: must be 1 to %d (2 GiB)", mb, maxMessageMB)
		mb = defaultMaxMessageMB
	}
	c.MaxMessageSize = mb << 20
	c.DynamicPricing = or(u.DynamicPricing, false)

	c.Blockchain = b.blockchain()
	c.Backend = b.backend(c.Listen)
	c.Metadata = b.metadata()
	c.Storage = b.storage()
	c.TLS = b.tls()
	c.FreeCalls = b.freeCalls()
	c.Tokens = b.tokens(c.Blockchain.Enabled)
	c.RateLimit = b.rateLimit()
	c.Access = b.access(c.Blockchain.Network)
	c.Metering = b.metering()
	c.Alerts = b.alerts()
	c.Heartbeat = b.heartbeat()
	c.Training = b.training()
	c.Log = b.log()
	c.Experimental = b.experimental()
	c.Plugins = b.plugins()
	return c, b.warnings, b.errs
}

// origin returns where path was set, or names the key in both formats when
// it was not set (a default, or a required value that is missing).
//
// A value that was not set inside a block that was (a default port inside
// payment_channel_storage_server) points at the block.
func (b *builder) origin(path string) Origin {
	if o, ok := b.u.origins[path]; ok {
		return o
	}
	jsonName, hasJSON := jsonNames()[path]
	for anc := path; ; {
		i := strings.LastIndexByte(anc, '.')
		if i < 0 {
			break
		}
		anc = anc[:i]
		o, ok := b.u.origins[anc]
		if !ok {
			continue
		}
		switch {
		case o.Key == anc: // HCL: paths are keys
			o.Key = path
			return o
		case hasJSON && strings.HasPrefix(jsonName, o.Key+"."):
			o.Key = jsonName
			return o
		}
		break
	}
	key := path
	if hasJSON {
		key += " (" + jsonName + ")"
	}
	return Origin{Key: key}
}

func (b *builder) invalid(path, format string, args ...any) {
	b.errs = append(b.errs, &Error{Origin: b.origin(path), Err: fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))})
}

func (b *builder) warn(path, format string, args ...any) {
	b.warnings = append(b.warnings, Warning{Origin: b.origin(path), Message: fmt.Sprintf(format, args...)})
}

// jsonNames maps HCL paths to snetd JSON keys, for messages about keys that
// were not set.
var jsonNames = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	var walk func(table map[string]jsonKey, prefix string)
	walk = func(table map[string]jsonKey, prefix string) {
		for k, v := range table {
			full := joinKey(prefix, k)
			if v.path != "" {
				if prev, ok := out[v.path]; !ok || len(full) < len(prev) {
					out[v.path] = full
				}
			}
			walk(v.sub, full)
		}
	}
	walk(snetdKeys, "")
	walk(logKeys, "log")
	return out
})

func or[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func val[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func (b *builder) identity(path string, p *string, placeholder string) string {
	v := or(p, placeholder)
	switch {
	case v == "":
		b.invalid(path, "must not be empty")
	case v == placeholder:
		b.warn(path, "not set; using the placeholder %q", placeholder)
	}
	return v
}

// duration reads "30s" as a duration and a bare number as seconds (snetd's
// ipfs_timeout is a number of seconds; viper would read a bare number
// elsewhere as nanoseconds, which no one means).
func (b *builder) duration(path string, p *string, def time.Duration) time.Duration {
	if p == nil {
		return def
	}
	d, err := parseDuration(*p)
	if err != nil {
		b.invalid(path, "%v", err)
		return def
	}
	return d
}

func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		if !(f >= 0 && f <= float64(1<<62)/float64(time.Second)) { // also NaN
			return 0, fmt.Errorf("%s seconds is out of range", t)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as \"30s\" or \"1m30s\"", s)
	}
	return d, nil
}

func (b *builder) positive(path string, d time.Duration) {
	if d <= 0 {
		b.invalid(path, "must be greater than zero")
	}
}

func (b *builder) address(path, s string) common.Address {
	if !common.IsHexAddress(s) {
		b.invalid(path, "%q is not a hex address", s)
		return common.Address{}
	}
	return common.HexToAddress(s)
}

func (b *builder) addresses(path string, list []string) []common.Address {
	if list == nil {
		return nil
	}
	out := make([]common.Address, 0, len(list))
	for _, s := range list {
		out = append(out, b.address(path, s))
	}
	return out
}

// url checks an absolute URL with one of the schemes.
func (b *builder) url(path, s string, schemes ...string) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || !slices.Contains(schemes, strings.ToLower(u.Scheme)) {
		b.invalid(path, "%q is not a URL (want %s://host[:port]...)", s, strings.Join(schemes, "|"))
	}
}

func (b *builder) hostPort(path, s string) {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		b.invalid(path, "%q is not host:port", s)
		return
	}
	b.port(path, port)
}

func (b *builder) port(path, port string) {
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		b.invalid(path, "port %q is not a number from 0 to 65535", port)
	}
}

func (b *builder) privateKey(path, key string) {
	if _, err := crypto.HexToECDSA(strings.TrimPrefix(key, "0x")); err != nil {
		b.invalid(path, "not a secp256k1 private key in hex: %v", err)
	}
}

func (b *builder) blockchain() Blockchain {
	bc := val(b.u.Blockchain)
	md := val(b.u.Metadata)
	out := Blockchain{Enabled: or(bc.Enabled, true)}

	var net Network
	switch {
	case bc.Network != nil:
		known, ok := LookupNetwork(*bc.Network)
		switch {
		case ok && bc.ChainID != nil && uint64(*bc.ChainID) != known.ChainID && known.Name != "local":
			b.invalid("blockchain.chain_id", "chain id %d is not network %q's (%d); leave chain_id out or choose another network name",
				*bc.ChainID, known.Name, known.ChainID)
			net = known
		case ok:
			net = known
			if bc.ChainID != nil { // "local" means any local chain
				net.ChainID = uint64(*bc.ChainID)
			}
		case bc.ChainID != nil:
			net = Network{Name: *bc.Network, ChainID: uint64(*bc.ChainID)}
		default:
			b.invalid("blockchain.network", "unknown network %q (known: %s); for another chain set chain_id, rpc_endpoint and registry_address",
				*bc.Network, strings.Join(networkNames(), ", "))
		}
	case bc.ChainID != nil:
		if known, ok := NetworkByChainID(uint64(*bc.ChainID)); ok {
			net = known
		} else {
			net = Network{Name: fmt.Sprintf("chain-%d", *bc.ChainID), ChainID: uint64(*bc.ChainID)}
		}
	default:
		net, _ = LookupNetwork(defaultNetwork)
	}
	if bc.ChainID != nil && *bc.ChainID <= 0 {
		b.invalid("blockchain.chain_id", "must be a positive integer")
	}
	if net.Name == "" && bc.Network != nil {
		net.Name = *bc.Network
	}
	out.Network, out.ChainID, out.TokenAddress = net.Name, net.ChainID, net.Token

	out.RPCEndpoint = or(bc.RPCEndpoint, net.RPCEndpoint)
	out.WSEndpoint = or(bc.WSEndpoint, net.WSEndpoint)
	out.APIKey = Secret(val(bc.APIKey))
	out.RegistryAddress = net.Registry
	if bc.RegistryAddress != nil && *bc.RegistryAddress != "" {
		out.RegistryAddress = b.address("blockchain.registry_address", *bc.RegistryAddress)
	}
	out.PollInterval = b.duration("blockchain.poll_interval", bc.PollInterval, defaultPollInterval)
	b.positive("blockchain.poll_interval", out.PollInterval)

	// The chain is needed for payments, and for metadata unless both
	// documents are local files.
	offline := val(md.OrgFile) != "" && val(md.ServiceFile) != ""
	if out.Enabled || !offline {
		why := "blockchain is enabled"
		if !out.Enabled {
			why = "metadata is read from the Registry (set metadata org_file and service_file to avoid it)"
		}
		if out.RPCEndpoint == "" {
			b.invalid("blockchain.rpc_endpoint", "no JSON-RPC endpoint for network %q and %s; public networks need a provider URL (with your API key)",
				out.Network, why)
		} else {
			b.url("blockchain.rpc_endpoint", out.RPCEndpoint, "http", "https", "ws", "wss")
		}
		if !offline && out.RegistryAddress == (common.Address{}) && (bc.RegistryAddress == nil || *bc.RegistryAddress == "") {
			b.invalid("blockchain.registry_address", "no Registry address for network %q; set it, or give metadata org_file and service_file", out.Network)
		}
	}
	if out.WSEndpoint != "" {
		b.url("blockchain.ws_endpoint", out.WSEndpoint, "ws", "wss")
	}
	return out
}

func (b *builder) backend(listen string) Backend {
	bk := val(b.u.Backend)
	out := Backend{
		Type:           val(bk.Type),
		Endpoint:       or(bk.Endpoint, defaultServiceEndpoint),
		Timeout:        b.duration("backend.timeout", bk.Timeout, defaultServiceTimeout),
		Passthrough:    or(bk.Passthrough, true),
		CommitFirst:    or(bk.CommitFirst, false),
		ExecutablePath: val(bk.ExecutablePath),
	}
	b.positive("backend.timeout", out.Timeout)
	switch out.Type {
	case "", "grpc", "http", "jsonrpc", "process":
	default:
		b.invalid("backend.type", "unknown backend type %q (want grpc, http, jsonrpc or process)", out.Type)
	}
	switch {
	case out.Endpoint != "":
		b.serviceEndpoint(listen, out.Endpoint)
	case out.Passthrough && out.ExecutablePath == "" && out.Type != "process":
		b.invalid("backend.endpoint", "must be set when passthrough is enabled")
	}
	if out.Type == "process" && out.ExecutablePath == "" {
		b.invalid("backend.executable_path", "must be set for backend type process")
	}
	for i, cr := range bk.Credentials {
		c := Credential{Key: val(cr.Key), Location: val(cr.Location)}
		if c.Key == "" {
			b.invalid("backend.credential", "credential %d has no key", i)
		}
		v, err := ctyToAny(cr.Value)
		if err != nil {
			b.invalid("backend.credential", "credential %q value: %v", c.Key, err)
		}
		c.Value = v
		switch c.Location {
		case "query", "header":
			if _, ok := v.(string); !ok {
				b.invalid("backend.credential", "credential %q: a %s value must be a string", c.Key, c.Location)
			}
		case "body":
		default:
			b.invalid("backend.credential", "credential %q: location %q (want query, header or body)", c.Key, c.Location)
		}
		out.Credentials = append(out.Credentials, c)
	}
	return out
}

// serviceEndpoint applies snetd's checks: the service endpoint is a URL
// (http:// assumed when there is no scheme) and is not the daemon's own
// address. Unlike snetd, localhost and 127.0.0.1 are the same host, and so
// are all wildcard and loopback forms against a wildcard listener.
func (b *builder) serviceEndpoint(listen, endpoint string) {
	s := endpoint
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		b.invalid("backend.endpoint", "%q is not a URL or host:port", endpoint)
		return
	}
	dHost, dPort, err := net.SplitHostPort(listen)
	if err != nil {
		return // reported for listen
	}
	sPort := u.Port()
	if sPort == "" {
		sPort = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	if sPort != dPort {
		return
	}
	if sameHost(dHost, u.Hostname()) {
		b.invalid("backend.endpoint", "%q is the daemon's own address (%s): requests would loop back into the daemon", endpoint, listen)
	}
}

func sameHost(daemon, service string) bool {
	d, s := strings.ToLower(daemon), strings.ToLower(service)
	if d == s {
		return true
	}
	loopback := func(h string) bool {
		if h == "localhost" {
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
	wildcard := func(h string) bool {
		if h == "" {
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsUnspecified()
	}
	return loopback(d) && loopback(s) || wildcard(d) && (loopback(s) || wildcard(s))
}

func ctyToAny(v cty.Value) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsWhollyKnown() {
		return nil, fmt.Errorf("value is not known")
	}
	j, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(j)))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func (b *builder) metadata() Metadata {
	md := val(b.u.Metadata)
	out := Metadata{
		IPFSEndpoint:       or(md.IPFSEndpoint, defaultIPFSEndpoint),
		LighthouseEndpoint: or(md.LighthouseEndpoint, defaultLighthouse),
		IPFSTimeout:        b.duration("metadata.ipfs_timeout", md.IPFSTimeout, defaultIPFSTimeout),
		OrgFile:            val(md.OrgFile),
		ServiceFile:        val(md.ServiceFile),
	}
	b.positive("metadata.ipfs_timeout", out.IPFSTimeout)
	if out.OrgFile == "" || out.ServiceFile == "" {
		b.url("metadata.ipfs_endpoint", out.IPFSEndpoint, "http", "https")
		b.url("metadata.lighthouse_endpoint", out.LighthouseEndpoint, "http", "https")
	}
	return out
}

func (b *builder) storage() Storage {
	st := val(b.u.Storage)
	out := Storage{Type: StorageEtcd}
	switch t := strings.ToLower(or(st.Type, StorageEtcd)); t {
	case StorageEtcd:
	case StorageMemory:
		out.Type = StorageMemory
		b.warn("storage.type", "payment state in memory is lost on restart and not shared between replicas")
	default:
		// snetd uses memory for any other value; say so, since payments
		// kept in memory are lost on restart.
		out.Type = StorageMemory
		b.warn("storage.type", "unknown storage type %q: payment state is kept in memory, as snet-daemon does, "+
			"and lost on restart (use etcd or memory)", t)
	}

	ec := val(st.Etcd)
	out.Client = EtcdClient{
		Endpoints:         val(ec.Endpoints),
		ConnectionTimeout: b.duration("storage.etcd.connection_timeout", ec.ConnectionTimeout, 0),
		RequestTimeout:    b.duration("storage.etcd.request_timeout", ec.RequestTimeout, 0),
		HotReload:         or(ec.HotReload, false),
		CertFile:          val(ec.CertFile),
		KeyFile:           val(ec.KeyFile),
		CAFile:            val(ec.CAFile),
	}
	for _, e := range out.Client.Endpoints {
		b.url("storage.etcd.endpoints", e, "http", "https")
	}
	if (out.Client.CertFile == "") != (out.Client.KeyFile == "") {
		path := "storage.etcd.cert_file"
		if out.Client.KeyFile != "" {
			path = "storage.etcd.key_file"
		}
		b.invalid(path, "etcd client TLS needs both a certificate and a key (payment_channel_cert_path and payment_channel_key_path)")
	}

	if em := st.Embedded; em != nil && or(em.Enabled, true) {
		e := &EmbeddedEtcd{
			ID:             or(em.ID, defaultEmbeddedID),
			Scheme:         or(em.Scheme, defaultEmbeddedScheme),
			Host:           or(em.Host, defaultEmbeddedHost),
			ClientPort:     or(em.ClientPort, defaultClientPort),
			PeerPort:       or(em.PeerPort, defaultPeerPort),
			Token:          or(em.Token, defaultEmbeddedToken),
			StartupTimeout: b.duration("storage.embedded.startup_timeout", em.StartupTimeout, defaultStartupTimeout),
			DataDir:        or(em.DataDir, defaultEmbeddedDataDir),
			LogLevel:       or(em.LogLevel, defaultEmbeddedLogLevel),
			LogOutputs:     or(em.LogOutputs, defaultEmbeddedLogOutputs),
		}
		// snetd's default cluster is "storage-1=http://127.0.0.1:2380"
		// whatever the ports; deriving it gives the same string for the
		// defaults and keeps it right when id, host or peer port change.
		e.Cluster = or(em.Cluster, fmt.Sprintf("%s=%s://%s", e.ID, e.Scheme, net.JoinHostPort(e.Host, strconv.Itoa(e.PeerPort))))
		if e.ID == "" {
			b.invalid("storage.embedded.id", "must not be empty")
		}
		if e.Scheme != "http" && e.Scheme != "https" {
			b.invalid("storage.embedded.scheme", "%q (want http or https)", e.Scheme)
		}
		if e.Host == "" {
			b.invalid("storage.embedded.host", "must not be empty")
		}
		for _, p := range []struct {
			path string
			port int
		}{{"storage.embedded.client_port", e.ClientPort}, {"storage.embedded.peer_port", e.PeerPort}} {
			if p.port < 1 || p.port > 65535 {
				b.invalid(p.path, "%d is not a port (1 to 65535)", p.port)
			}
		}
		if e.ClientPort == e.PeerPort {
			b.invalid("storage.embedded.peer_port", "must differ from client_port (%d)", e.ClientPort)
		}
		if e.Cluster == "" {
			b.invalid("storage.embedded.cluster", "must not be empty")
		}
		b.positive("storage.embedded.startup_timeout", e.StartupTimeout)
		if e.DataDir == "" {
			b.invalid("storage.embedded.data_dir", "must not be empty")
		}
		switch e.LogLevel {
		case "debug", "info", "warn", "error", "panic", "fatal":
		default:
			b.invalid("storage.embedded.log_level", "%q (want debug, info, warn, error, panic or fatal)", e.LogLevel)
		}
		out.Embedded = e
	}
	return out
}

func (b *builder) tls() TLS {
	t := val(b.u.TLS)
	out := TLS{
		CertFile:     val(t.CertFile),
		KeyFile:      val(t.KeyFile),
		AutoDomain:   val(t.AutoDomain),
		AutoCacheDir: or(t.AutoCacheDir, defaultAutoSSLCacheDir),
	}
	if (out.CertFile == "") != (out.KeyFile == "") {
		path := "tls.cert_file" // point at the one that is set
		if out.KeyFile != "" {
			path = "tls.key_file"
		}
		b.invalid(path, "TLS needs both a certificate and a key (ssl_cert and ssl_key), or neither")
	}
	if out.CertFile != "" && out.AutoDomain != "" {
		b.warn("tls.auto_domain", "ignored: a certificate file is set")
	}
	return out
}

func (b *builder) freeCalls() FreeCalls {
	fc := val(b.u.FreeCalls)
	out := FreeCalls{SignerPrivateKey: Secret(val(fc.SignerPrivateKey))}
	if out.SignerPrivateKey != "" {
		b.privateKey("free_calls.signer_private_key", out.SignerPrivateKey.Reveal())
	}
	out.TrustedSigners = b.addresses("free_calls.trusted_signers", or(fc.TrustedSigners, defaultTrustedSigners))

	// Whole tokens with 18 decimals; a fraction is allowed if it is exact.
	minBal := strings.TrimSpace(or(fc.MinBalance, defaultMinBalance))
	r, ok := new(big.Rat).SetString(minBal)
	if ok {
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)))
	}
	switch {
	case !ok || len(minBal) > 100:
		b.invalid("free_calls.min_balance", "%q is not a number of tokens", minBal)
	case r.Sign() < 0:
		b.invalid("free_calls.min_balance", "%q is negative", minBal)
	case !r.IsInt():
		b.invalid("free_calls.min_balance", "%q has more than 18 decimals", minBal)
	default:
		out.MinBalance = new(big.Int).Set(r.Num())
	}

	if pa := fc.PerAddress; pa != nil {
		out.PerAddress = make(map[common.Address]int, len(*pa))
		keys := make([]string, 0, len(*pa))
		for k := range *pa {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := strings.TrimSpace((*pa)[k])
			addr := b.address("free_calls.per_address", k)
			switch strings.ToLower(v) {
			case "unlimited", "infinity":
				out.PerAddress[addr] = UnlimitedFreeCalls
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				b.invalid("free_calls.per_address", "%s: %q is not a number of calls or \"unlimited\"", k, v)
				continue
			}
			out.PerAddress[addr] = n
		}
	}
	return out
}

func (b *builder) tokens(blockchainEnabled bool) Tokens {
	t := val(b.u.Tokens)
	out := Tokens{
		SecretKey: Secret(or(t.SecretKey, defaultTokenSecret)),
		Expiry:    b.duration("tokens.expiry", t.Expiry, defaultTokenExpiry),
	}
	b.positive("tokens.expiry", out.Expiry)
	if blockchainEnabled {
		switch {
		case len(out.SecretKey) < minTokenSecretLen:
			b.invalid("tokens.secret_key", "must be at least %d bytes long", minTokenSecretLen)
		case out.SecretKey == defaultTokenSecret:
			b.warn("tokens.secret_key", "is the public default: anyone can forge prepaid-call tokens; set your own secret")
		}
	}
	return out
}

// UnlimitedBurst is the token bucket's size when no burst is set, as
// snet-daemon's (2^31-1).
const UnlimitedBurst = 1<<31 - 1

func (b *builder) rateLimit() RateLimit {
	rl := val(b.u.RateLimit)
	out := RateLimit{PerMinute: or(rl.PerMinute, 0), Burst: or(rl.Burst, 0)}
	if !(out.PerMinute >= 0 && out.PerMinute <= 1e12) { // also NaN and Inf
		b.invalid("rate_limit.per_minute", "must be a number of calls from 0 (unlimited) up")
	}
	if out.Burst < 0 {
		b.invalid("rate_limit.burst", "must not be negative")
	}
	if out.PerMinute > 0 && out.Burst == 0 {
		b.warn("rate_limit.per_minute", "has no burst: as with snet-daemon the bucket then holds %d calls, which does not limit in practice; set burst", UnlimitedBurst)
	}
	return out
}

func (b *builder) access(network string) Access {
	a := val(b.u.Access)
	out := Access{
		AllowedUsersOnly:        or(a.AllowedUsersOnly, false),
		AllowedUsers:            b.addresses("access.allowed_users", val(a.AllowedUsers)),
		AuthenticationAddresses: b.addresses("access.authentication_addresses", val(a.AuthenticationAddresses)),
	}
	if out.AllowedUsersOnly {
		if network == "main" {
			b.invalid("access.allowed_users_only", "restricting callers is for test networks and not allowed on main")
		}
		if len(out.AllowedUsers) == 0 {
			b.invalid("access.allowed_users", "must list at least one address when allowed users only is set")
		}
	}
	return out
}

func (b *builder) metering() Metering {
	m := val(b.u.Metering)
	out := Metering{
		Enabled:    or(m.Enabled, false),
		Endpoint:   val(m.Endpoint),
		PrivateKey: Secret(val(m.PrivateKey)),
	}
	if out.Enabled {
		b.url("metering.endpoint", out.Endpoint, "http", "https")
		if out.PrivateKey == "" {
			b.invalid("metering.private_key", "must be set when metering is enabled")
		} else {
			b.privateKey("metering.private_key", out.PrivateKey.Reveal())
		}
	}
	return out
}

func (b *builder) alerts() Alerts {
	a := val(b.u.Alerts)
	out := Alerts{Email: val(a.Email), NotificationEndpoint: val(a.NotificationEndpoint)}
	if out.Email != "" {
		if addr, err := mail.ParseAddress(out.Email); err != nil || addr.Address != out.Email {
			b.invalid("alerts.email", "%q is not an email address", out.Email)
		}
	}
	if out.NotificationEndpoint != "" {
		b.url("alerts.notification_endpoint", out.NotificationEndpoint, "http", "https")
	}
	return out
}

func (b *builder) heartbeat() Heartbeat {
	h := val(b.u.Heartbeat)
	out := Heartbeat{Type: strings.ToLower(val(h.Type)), Endpoint: val(h.Endpoint)}
	switch out.Type {
	case "", "none", "tcp":
	case "http", "https":
		b.url("heartbeat.endpoint", out.Endpoint, "http", "https")
	case "grpc":
		if out.Endpoint == "" {
			b.invalid("heartbeat.endpoint", "must be set for heartbeat type grpc")
		}
	default:
		b.invalid("heartbeat.type", "unknown heartbeat type %q (want none, tcp, grpc, http or https)", out.Type)
	}
	return out
}

func (b *builder) training() Training {
	t := val(b.u.Training)
	out := Training{Enabled: or(t.Enabled, false), MaintenanceEndpoint: val(t.MaintenanceEndpoint)}
	if out.Enabled && out.MaintenanceEndpoint == "" {
		b.invalid("training.maintenance_endpoint", "must be set when model training is enabled")
	}
	return out
}

func (b *builder) log() Log {
	l := val(b.u.Log)
	f := val(l.File)
	out := Log{
		Level:           strings.ToLower(or(l.Level, defaultLogLevel)),
		Format:          strings.ToLower(or(l.Format, defaultLogFormat)),
		Timezone:        or(l.Timezone, defaultLogTimezone),
		TimestampFormat: or(l.TimestampFormat, defaultTimestampFormat),
		Outputs:         or(l.Outputs, defaultLogOutputs),
		File: LogFile{
			Pattern:       or(f.Pattern, defaultLogFilePattern),
			CurrentLink:   or(f.CurrentLink, defaultLogCurrentLink),
			MaxSizeMB:     or(f.MaxSizeMB, defaultLogMaxSizeMB),
			MaxAgeDays:    or(f.MaxAgeDays, defaultLogMaxAgeDays),
			RotationCount: or(f.RotationCount, 0),
		},
	}
	switch out.Level {
	case "debug", "info", "warn", "error":
	case "warning":
		out.Level = "warn"
	case "fatal", "panic", "dpanic": // snetd's zap levels; slog has none above error
		out.Level = "error"
	default:
		b.invalid("log.level", "unknown level %q (want debug, info, warn or error)", out.Level)
	}
	if out.Format != "text" && out.Format != "json" {
		b.invalid("log.format", "unknown format %q (want text or json)", out.Format)
	}
	if _, err := time.LoadLocation(out.Timezone); err != nil {
		b.invalid("log.timezone", "unknown time zone %q", out.Timezone)
	}
	for _, o := range out.Outputs {
		switch o {
		case "file", "stdout", "stderr":
		default:
			b.invalid("log.outputs", "unknown output %q (want file, stdout or stderr)", o)
		}
	}
	if f := out.File; f.MaxSizeMB < 0 || f.MaxAgeDays < 0 || f.RotationCount < 0 {
		b.invalid("log.file", "sizes, ages and counts must not be negative")
	}
	for _, h := range l.Hooks {
		hook := LogHook{Name: h.Name, Type: val(h.Type), Levels: val(h.Levels), Settings: val(h.Settings)}
		switch hook.Type {
		case "email", "telegram_bot":
		default:
			b.invalid("log.hook", "hook %q: unknown type %q (want email or telegram_bot)", h.Name, hook.Type)
		}
		if len(hook.Levels) == 0 {
			b.invalid("log.hook", "hook %q: levels must list at least one level", h.Name)
		}
		out.Hooks = append(out.Hooks, hook)
	}
	return out
}

func (b *builder) experimental() Experimental {
	e := val(b.u.Experimental)
	ts := val(e.TrafficSplit)
	out := Experimental{
		SplitGRPCWeb:     or(e.SplitGRPCWeb, false),
		UseOriginalCmux:  or(e.UseOriginalCmux, false),
		TrafficSplitGRPC: or(ts.GRPC, 0),
		TrafficSplitHTTP: or(ts.HTTP, 0),
	}
	b.port("experimental.traffic_split.grpc", strconv.Itoa(out.TrafficSplitGRPC))
	b.port("experimental.traffic_split.http", strconv.Itoa(out.TrafficSplitHTTP))
	return out
}
