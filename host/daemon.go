package host

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/etcdserver"
	"github.com/tariffd/tariff/host/config"
	"github.com/tariffd/tariff/host/metadata"
	"github.com/tariffd/tariff/host/metering"
	"github.com/tariffd/tariff/plugins"
	"github.com/tariffd/tariff/pricing"
	configpb "github.com/tariffd/tariff/proto/configuration_service"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"golang.org/x/crypto/acme/autocert"
	"google.golang.org/grpc"
)

// Daemon is a configured tariffd: storage open, chain connected, metadata
// loaded and the port bound. Serve runs it.
type Daemon struct {
	cfg     config.Config
	log     *slog.Logger
	lis     net.Listener       // daemon_endpoint, or the gRPC port of experimental.traffic_split
	httpLis net.Listener       // the HTTP port of experimental.traffic_split; nil: one port
	acme    *autocert.Manager  // auto_ssl_domain: answers http-01 challenges while serving
	meter   *metering.Reporter // metering_enabled: posts reports while serving
	// policyOpts are given to every policy built, reloads included
	// (enable_dynamic_pricing's estimator).
	policyOpts []pricing.PolicyOption
	server     *Server
	version    string
	metrics    *metrics
	// reload
	files     []string
	lookupEnv func(string) (string, bool)
	reloadMu  sync.Mutex

	plugins  *plugins.Runtime
	env      *PaymentEnv
	prices   *metadata.ServiceGroup // the group whose prices apply, as last read
	chain    *escrow.Chain
	channels *escrow.Channels
	closers  []func() error
}

// Options are the parts of a daemon that do not come from its configuration.
type Options struct {
	Log     *slog.Logger
	Version string // reported by /heartbeat
	// ConfigFiles are the files cfg was loaded from, in order, and Env the
	// environment lookup it used: Reload reads them again, and Serve
	// watches the files (and SIGHUP). None: no reload.
	ConfigFiles []string
	Env         func(string) (string, bool)
}

// New prepares a daemon from a validated configuration. Every failure says
// what to fix; nothing keeps running when New returns an error.
func New(ctx context.Context, cfg config.Config, o Options) (*Daemon, error) {
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	d := &Daemon{cfg: cfg, log: log, version: o.Version, files: o.ConfigFiles, lookupEnv: o.Env, metrics: newMetrics()}
	if d.lookupEnv == nil {
		d.lookupEnv = func(string) (string, bool) { return "", false }
	}
	if err := d.setup(ctx); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func (d *Daemon) setup(ctx context.Context) (err error) {
	cfg, log := d.cfg, d.log
	if cfg.DaemonType == "http" {
		return errLegacyHTTPDaemon
	}
	for _, what := range notActedOn(cfg) {
		log.Warn("setting not supported by tariffd", "setting", what)
	}
	opts := ServerOptions{
		ServiceType:     cfg.Backend.Type,
		ServiceEndpoint: cfg.Backend.Endpoint,
		Credentials:     cfg.Backend.Credentials,
		ExecutablePath:  cfg.Backend.ExecutablePath,
		Echo:            !cfg.Backend.Passthrough,
		CommitFirst:     cfg.Backend.CommitFirst,
		RateLimit:       cfg.RateLimit,
		ServiceTimeout:  cfg.Backend.Timeout,
		MaxMessageBytes: cfg.MaxMessageSize,
		Log:             log,
	}
	if cfg.Blockchain.Enabled {
		if err := d.setupPayments(ctx, &opts); err != nil {
			return err
		}
	} else if users := d.allowedUsers(); users != nil {
		log.Warn("blockchain disabled: calls are forwarded without payment, from the allowed users only", "allowed_users", len(users))
		opts.Payments = map[string]PaymentHandler{escrow.PaymentTypeEscrow: CuratedHandler(users)}
	} else {
		log.Warn("blockchain disabled: calls are forwarded without payment")
	}
	group := ""
	if d.env != nil {
		group = d.env.OrgGroup.IDBase64()
	}
	daemonID := DaemonID(cfg.OrganizationID, cfg.ServiceID, group, cfg.Blockchain.RegistryAddress.Hex())
	if d.meter, err = d.startMetering(ctx, daemonID, group); err != nil {
		return err
	}
	probe := Probe(cfg.Heartbeat.Type, cfg.Heartbeat.Endpoint, cfg.Backend.Endpoint, cfg.ServiceID)
	if opts.ServiceType == "process" && (cfg.Heartbeat.Type == "" || cfg.Heartbeat.Type == "none" || cfg.Heartbeat.Type == "tcp") {
		// A program run per call has no address to dial: it is there.
		probe = func(context.Context) bool { return true }
	}
	if d.meter != nil {
		if cfg.Metering.Enabled && cfg.Blockchain.Enabled {
			opts.Metering = d.meter
		}
		probe = alerting(probe, d.meter)
	}
	opts.Heartbeat = &Heartbeat{
		DaemonID: daemonID, Metrics: d.metrics.handler(),
		ServiceID: cfg.ServiceID, Network: cfg.Blockchain.Network, BlockchainEnabled: cfg.Blockchain.Enabled,
		Version: d.version, Encoding: opts.Encoding, Probe: probe,
	}
	// snet-daemon's operator service and its stop switch, with or
	// without a chain.
	opts.Switch = new(Switch)
	var heads escrow.HeadReader
	if d.chain != nil {
		heads = d.chain
	}
	operator := newConfigService(cfg, heads, opts.Switch)
	register := opts.Register
	opts.Register = func(s *grpc.Server) {
		if register != nil {
			register(s)
		}
		configpb.RegisterConfigurationServiceServer(s, operator)
	}
	if d.server, err = NewServer(opts); err != nil {
		return err
	}
	d.metrics.reg.MustRegister(newPolicyCollector(d.server.pipeline.policies.current))
	tlsCfg, acme, err := listenerTLS(cfg.TLS, log)
	if err != nil {
		return err
	}
	addr := cfg.Listen
	if x := cfg.Experimental; x.TrafficSplitGRPC != 0 || x.TrafficSplitHTTP != 0 {
		// experimental.traffic_split: gRPC and HTTP on ports of their own.
		if x.TrafficSplitGRPC == 0 || x.TrafficSplitHTTP == 0 {
			return errors.New("experimental.traffic_split needs both a grpc and an http port")
		}
		host, _, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return fmt.Errorf("daemon_endpoint %q: %w", cfg.Listen, err)
		}
		addr = net.JoinHostPort(host, strconv.Itoa(x.TrafficSplitGRPC))
		httpAddr := net.JoinHostPort(host, strconv.Itoa(x.TrafficSplitHTTP))
		if d.httpLis, err = net.Listen("tcp", httpAddr); err != nil {
			return fmt.Errorf("listen on experimental.traffic_split.http %q: %w", httpAddr, err)
		}
		if tlsCfg != nil {
			d.httpLis = tls.NewListener(d.httpLis, tlsCfg)
		}
	}
	if d.lis, err = net.Listen("tcp", addr); err != nil {
		return fmt.Errorf("listen on %q: %w", addr, err)
	}
	if tlsCfg != nil {
		d.lis, d.acme = tls.NewListener(d.lis, tlsCfg), acme
	}
	return nil
}

func (d *Daemon) setupPayments(ctx context.Context, opts *ServerOptions) error {
	env, err := OpenPayments(ctx, d.cfg, d.log, true)
	if err != nil {
		return err
	}
	d.closers = append(d.closers, env.Close)
	d.env = env
	cfg, svc, og, sg := d.cfg, env.Service, env.OrgGroup, env.ServiceGroup
	opts.Encoding = svc.Encoding
	if opts.ServiceType == "" {
		opts.ServiceType = svc.ServiceType
	}
	if opts.ServiceType == "http" && opts.Encoding != "json" && !opts.Echo {
		if opts.API, err = env.CompileAPI(ctx); err != nil {
			return fmt.Errorf("backend type http converts the service's messages to JSON with its API: %w", err)
		}
	}
	d.chain = escrow.NewChain(env.Client, svc.MPEAddress, escrow.ChainOptions{PollInterval: cfg.Blockchain.PollInterval, Logger: d.log})
	d.channels = escrow.NewChannels(env.Store, d.chain, escrow.Group{
		MPE: svc.MPEAddress, ID: og.ID, PaymentAddress: og.PaymentAddress, ExpirationThreshold: og.ExpirationThreshold,
		AllowedUsers: d.allowedUsers(),
	}, d.log)
	opts.Channels, opts.Table = d.channels, sg.Pricing
	d.prices = sg
	if d.plugins, err = plugins.NewRuntime(ctx, plugins.RuntimeOptions{CacheDir: pluginCacheDir(), Logger: d.log}); err != nil {
		return fmt.Errorf("plugin runtime: %w", err)
	}
	d.closers = append(d.closers, func() error { return d.plugins.Close(context.Background()) })
	if cfg.DynamicPricing {
		if err := d.dynamicPricing(ctx, opts); err != nil {
			return err
		}
	}
	if opts.Policy, err = buildPolicy(ctx, d.plugins, cfg.Plugins, sg.Pricing, env.Methods, d.log, d.policyOpts...); err != nil {
		return err
	}
	opts.OrgID, opts.ServiceID, opts.GroupID = cfg.OrganizationID, cfg.ServiceID, og.IDBase64()

	freeCalls, err := d.freeCalls()
	if err != nil {
		return err
	}
	prepaid, err := escrow.NewPrepaid(escrow.PrepaidOptions{
		Secret: []byte(cfg.Tokens.SecretKey.Reveal()), TokenExpiry: cfg.Tokens.Expiry,
		OrgID: cfg.OrganizationID, GroupID: og.IDBase64(), Store: env.Store, Channels: d.channels, Log: d.log,
	})
	if err != nil {
		return fmt.Errorf("token_secret_key: %w", err)
	}
	opts.Payments = map[string]PaymentHandler{
		escrow.PaymentTypeFreeCall: FreeCallHandler(freeCalls),
		escrow.PaymentTypePrepaid:  PrepaidHandler(prepaid),
	}
	control := escrow.NewControlService(d.channels)
	freeCallState := escrow.NewFreeCallStateService(freeCalls)
	tokens := escrow.NewTokenService(prepaid)
	opts.Register = func(s *grpc.Server) {
		escrowpb.RegisterProviderControlServiceServer(s, control)
		escrowpb.RegisterFreeCallStateServiceServer(s, freeCallState)
		escrowpb.RegisterTokenServiceServer(s, tokens)
	}
	d.log.Info("payments enabled", "org", cfg.OrganizationID, "service", cfg.ServiceID, "group", cfg.Group,
		"mpe", svc.MPEAddress.Hex(), "payment_address", og.PaymentAddress.Hex(), "pricing", sg.Pricing.Model())
	return nil
}

// startMetering makes the reporter of metering and alerts, nil when
// neither is configured. With metering on it first checks the key with
// the metering service, as snet-daemon does before it serves: a key the
// service does not know would make every report fail.
func (d *Daemon) startMetering(ctx context.Context, daemonID, groupB64 string) (*metering.Reporter, error) {
	cfg := d.cfg
	meteringOn := cfg.Metering.Enabled && cfg.Blockchain.Enabled
	alertsOn := cfg.Alerts.Email != "" && cfg.Alerts.NotificationEndpoint != ""
	if !meteringOn && !alertsOn {
		return nil, nil
	}
	o := metering.Options{
		Endpoint: cfg.Metering.Endpoint, Log: d.log,
		NotificationEndpoint: cfg.Alerts.NotificationEndpoint, AlertsEmail: cfg.Alerts.Email,
		OrgID: cfg.OrganizationID, ServiceID: cfg.ServiceID, GroupID: groupB64, DaemonID: daemonID,
		RegistryAddress: cfg.Blockchain.RegistryAddress.Hex(), RPCEndpoint: cfg.Blockchain.RPCEndpoint, Version: d.version,
	}
	// Requests are signed with the metering key and the current block.
	if hexKey := strings.TrimPrefix(cfg.Metering.PrivateKey.Reveal(), "0x"); hexKey != "" && d.chain != nil {
		key, err := crypto.HexToECDSA(hexKey)
		if err != nil {
			return nil, fmt.Errorf("private_key_for_metering: %w", err)
		}
		o.Key, o.Head = key, d.chain.Head
	}
	r := metering.New(o)
	if meteringOn {
		vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := r.Verify(vctx); err != nil {
			return nil, err
		}
		d.log.Info("metering verified", "endpoint", cfg.Metering.Endpoint)
	}
	return r, nil
}

// alerting sends an alert when the service does not answer the probe.
func alerting(probe func(context.Context) bool, r *metering.Reporter) func(context.Context) bool {
	return func(ctx context.Context) bool {
		ok := probe(ctx)
		if !ok {
			r.ServiceDown("the service did not answer the heartbeat probe")
		}
		return ok
	}
}

// dynamicPricing lets the service price the methods whose API names an
// estimate method (enable_dynamic_pricing), as snet-daemon does.
func (d *Daemon) dynamicPricing(ctx context.Context, opts *ServerOptions) error {
	if t := opts.ServiceType; t != "" && t != "grpc" {
		return fmt.Errorf("enable_dynamic_pricing asks a gRPC service for its prices; the service type is %q", t)
	}
	api, err := d.env.CompileAPI(ctx)
	if err != nil {
		return fmt.Errorf("enable_dynamic_pricing reads the estimate methods from the service API: %w", err)
	}
	methods := api.EstimatePriceMethods()
	if len(methods) == 0 {
		d.log.Warn("enable_dynamic_pricing: no method of the service API declares (pricing.my_method_option).estimatePriceMethod; prices come from the metadata")
		return nil
	}
	est, err := newServiceEstimator(opts.ServiceEndpoint, opts.Encoding, methods, opts.ServiceTimeout, opts.MaxMessageBytes)
	if err != nil {
		return err
	}
	d.closers = append(d.closers, est.Close)
	d.policyOpts = append(d.policyOpts, pricing.WithEstimator(est))
	d.log.Info("dynamic pricing: the service prices its methods", "methods", len(methods))
	return nil
}

// allowedUsers is the curation gate: the only payers of escrow and free
// calls when allowed_user_flag is set, nil (anyone) otherwise.
func (d *Daemon) allowedUsers() []common.Address {
	if d.cfg.Access.AllowedUsersOnly {
		return d.cfg.Access.AllowedUsers
	}
	return nil
}

// freeCalls builds the free-call rules from config and metadata.
func (d *Daemon) freeCalls() (*escrow.FreeCalls, error) {
	cfg, env := d.cfg, d.env
	var key *ecdsa.PrivateKey
	if hexKey := strings.TrimPrefix(cfg.FreeCalls.SignerPrivateKey.Reveal(), "0x"); hexKey != "" {
		var err error
		if key, err = crypto.HexToECDSA(hexKey); err != nil {
			return nil, fmt.Errorf("private_key_for_free_calls: %w", err)
		}
	}
	return escrow.NewFreeCalls(escrow.FreeCallOptions{
		OrgID: cfg.OrganizationID, ServiceID: cfg.ServiceID, GroupName: cfg.Group, GroupIDBase64: env.OrgGroup.IDBase64(),
		SigningKey: key, SignerAddress: env.ServiceGroup.FreeCallSigner, MetadataFreeCalls: env.ServiceGroup.FreeCalls,
		PerAddress: cfg.FreeCalls.PerAddress, TrustedSigners: cfg.FreeCalls.TrustedSigners, AllowedUsers: d.allowedUsers(),
		MinBalance: cfg.FreeCalls.MinBalance, Token: cfg.Blockchain.TokenAddress, Balances: d.chain,
		Head: d.chain, Store: env.Store, Logger: d.log,
	})
}

// PaymentEnv is what the payment services of one group stand on: the chain
// client, the org and service metadata of the group, and the store.
type PaymentEnv struct {
	Client       *ethclient.Client
	Org          *metadata.Org
	Service      *metadata.Service
	OrgGroup     *metadata.OrgGroup
	ServiceGroup *metadata.ServiceGroup
	Store        *escrow.Store
	// Methods are the service's gRPC methods from its published API
	// (service_api_source); nil when it has none or it cannot be read.
	Methods []string

	loader     *metadata.Loader // reads the metadata again on reload
	apiArchive []byte           // the service_api_source archive, when it was read
	apiErr     error            // why it was not

	closers []func() error
}

// OpenPayments connects to the chain, loads the metadata and opens the
// payment storage. The daemon starts the embedded etcd (startEmbedded);
// operator commands connect to the one the running daemon serves.
func OpenPayments(ctx context.Context, cfg config.Config, log *slog.Logger, startEmbedded bool) (env *PaymentEnv, err error) {
	if log == nil {
		log = slog.Default()
	}
	env = &PaymentEnv{}
	defer func() {
		if err != nil {
			_ = env.Close()
		}
	}()
	client, err := ethclient.DialContext(ctx, cfg.Blockchain.RPCEndpoint)
	if err != nil {
		return env, fmt.Errorf("ethereum endpoint %q: %w", cfg.Blockchain.RPCEndpoint, err)
	}
	env.Client = client
	env.closers = append(env.closers, func() error { client.Close(); return nil })
	id, err := client.ChainID(ctx)
	if err != nil {
		return env, fmt.Errorf("ethereum endpoint %q does not answer: %w", cfg.Blockchain.RPCEndpoint, err)
	}
	log.Info("chain connected", "rpc", cfg.Blockchain.RPCEndpoint, "chain_id", id, "network", cfg.Blockchain.Network)
	// Registry reads need no MPE address; the payment chain view is made
	// once the service metadata names it.
	env.loader = &metadata.Loader{
		OrgID: cfg.OrganizationID, ServiceID: cfg.ServiceID, Group: cfg.Group,
		OrgFile: cfg.Metadata.OrgFile, ServiceFile: cfg.Metadata.ServiceFile,
		Registry:        registry{escrow.NewChain(client, common.Address{}, escrow.ChainOptions{Logger: log}), cfg.Blockchain.RegistryAddress},
		RegistryAddress: cfg.Blockchain.RegistryAddress,
		Fetcher: &metadata.Fetcher{
			IPFSEndpoint: cfg.Metadata.IPFSEndpoint, LighthouseEndpoint: cfg.Metadata.LighthouseEndpoint,
			Timeout: cfg.Metadata.IPFSTimeout,
		},
	}
	if env.Org, env.Service, err = env.loader.Load(ctx); err != nil {
		return env, err
	}
	env.OrgGroup, _ = env.Org.Group(cfg.Group)
	env.ServiceGroup, _ = env.Service.Group(cfg.Group)
	env.readAPI(ctx, log)
	kv, requestTimeout, err := env.openStorage(ctx, cfg, log, startEmbedded)
	if err != nil {
		return env, err
	}
	keys := escrow.NewKeys(cfg.Blockchain.Network, cfg.OrganizationID, env.OrgGroup.IDBase64(), env.Service.MPEAddress)
	env.Store = escrow.NewStore(kv, keys, requestTimeout)
	return env, nil
}

// readAPI fetches the service's published API (service_api_source) and
// lists its methods, so that plugin method patterns can be checked against
// them. It is best effort: without it the patterns are only checked for
// syntax; an HTTP backend, which needs it, reports apiErr.
func (e *PaymentEnv) readAPI(ctx context.Context, log *slog.Logger) {
	svc := e.Service
	if svc.APISource == "" {
		e.apiErr = errors.New("the service metadata has no service_api_source")
		return
	}
	uri, err := metadata.ParseURI([]byte(svc.APISource))
	if err == nil {
		var archive []byte
		if archive, err = e.loader.Fetcher.Fetch(ctx, uri); err == nil {
			var methods []string
			if methods, err = metadata.APIMethods(archive); err == nil {
				e.apiArchive, e.Methods = archive, methods
				return
			}
		}
	}
	e.apiErr = fmt.Errorf("service API %s: %w", svc.APISource, err)
	log.Warn("service API not read: plugin method patterns are checked for syntax only", "source", svc.APISource, "err", err)
}

// CompileAPI compiles the service's published API, for an HTTP backend.
func (e *PaymentEnv) CompileAPI(ctx context.Context) (*metadata.API, error) {
	if e.apiArchive == nil {
		return nil, e.apiErr
	}
	return metadata.CompileAPI(ctx, e.apiArchive)
}

// Close releases what OpenPayments opened, the embedded etcd included.
func (e *PaymentEnv) Close() error {
	var errs []error
	for i := len(e.closers) - 1; i >= 0; i-- {
		errs = append(errs, e.closers[i]())
	}
	e.closers = nil
	return errors.Join(errs...)
}

// registry adapts the chain reader to the metadata loader.
type registry struct {
	chain   *escrow.Chain
	address common.Address
}

func (r registry) OrgMetadataURI(ctx context.Context, orgID string) ([]byte, error) {
	uri, err := r.chain.OrgMetadataURI(ctx, r.address, orgID)
	if errors.Is(err, escrow.ErrNotRegistered) {
		err = fmt.Errorf("%w: %w", metadata.ErrNotRegistered, err)
	}
	return uri, err
}

func (r registry) ServiceMetadataURI(ctx context.Context, orgID, serviceID string) ([]byte, error) {
	uri, err := r.chain.ServiceMetadataURI(ctx, r.address, orgID, serviceID)
	if errors.Is(err, escrow.ErrNotRegistered) {
		err = fmt.Errorf("%w: %w", metadata.ErrNotRegistered, err)
	}
	return uri, err
}

// openStorage starts the embedded etcd or connects to the group's cluster.
func (env *PaymentEnv) openStorage(ctx context.Context, cfg config.Config, log *slog.Logger, startEmbedded bool) (clientv3.KV, time.Duration, error) {
	st, og := cfg.Storage, env.OrgGroup
	timeout := firstPositive(st.Client.RequestTimeout, og.Storage.RequestTimeout, escrow.DefaultRequestTimeout)
	endpoints := st.Client.Endpoints
	if e := st.Embedded; e != nil && !startEmbedded {
		// The running daemon serves it; connect like any other client.
		endpoints = []string{e.Scheme + "://" + net.JoinHostPort(e.Host, strconv.Itoa(e.ClientPort))}
	} else if e != nil || st.Type == config.StorageMemory {
		ec := etcdserver.Config{}
		if e != nil {
			ec = etcdserver.Config{
				Name: e.ID, DataDir: e.DataDir,
				ClientURL:      e.Scheme + "://" + net.JoinHostPort(e.Host, strconv.Itoa(e.ClientPort)),
				PeerURL:        e.Scheme + "://" + net.JoinHostPort(e.Host, strconv.Itoa(e.PeerPort)),
				InitialCluster: e.Cluster, ClusterToken: e.Token, StartupTimeout: e.StartupTimeout,
				LogLevel: e.LogLevel, LogOutputs: e.LogOutputs,
			}
		} else {
			// "memory" storage: an etcd that lives as long as the process.
			dir, err := os.MkdirTemp("", "tariff-memory-")
			if err != nil {
				return nil, 0, err
			}
			env.closers = append(env.closers, func() error { return os.RemoveAll(dir) })
			ports, err := etcdserver.FreePorts(2)
			if err != nil {
				return nil, 0, err
			}
			ec = etcdserver.Config{DataDir: dir, NoFsync: true, LogLevel: "error",
				ClientURL: "http://127.0.0.1:" + strconv.Itoa(ports[0]), PeerURL: "http://127.0.0.1:" + strconv.Itoa(ports[1])}
		}
		srv, err := etcdserver.Start(ctx, ec)
		if err != nil {
			return nil, 0, err
		}
		env.closers = append(env.closers, srv.Close)
		log.Info("embedded etcd started", "endpoints", srv.Endpoints(), "data_dir", ec.DataDir)
		return srv.Client(), timeout, nil
	}
	if len(endpoints) == 0 {
		endpoints = og.Storage.Endpoints
	}
	if len(endpoints) == 0 {
		return nil, 0, errors.New("no etcd endpoints: set payment_channel_storage_client.endpoints, the org group's payment_channel_storage_client, or payment_channel_storage_server")
	}
	cc := clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          firstPositive(st.Client.ConnectionTimeout, og.Storage.ConnectionTimeout, 5*time.Second),
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		// Its own zap log would interleave JSON with ours; failures reach us as errors.
		Logger: zap.NewNop(),
	}
	if st.Client.CertFile != "" || st.Client.CAFile != "" {
		tlsInfo := transport.TLSInfo{CertFile: st.Client.CertFile, KeyFile: st.Client.KeyFile, TrustedCAFile: st.Client.CAFile}
		tc, err := tlsInfo.ClientConfig()
		if err != nil {
			return nil, 0, fmt.Errorf("etcd client TLS: %w", err)
		}
		cc.TLS = tc
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, 0, fmt.Errorf("etcd %v: %w", endpoints, err)
	}
	env.closers = append(env.closers, cli.Close)
	sctx, cancel := context.WithTimeout(ctx, cc.DialTimeout)
	defer cancel()
	if _, err := cli.Status(sctx, endpoints[0]); err != nil {
		return nil, 0, fmt.Errorf("etcd %s does not answer: %w", endpoints[0], err)
	}
	return cli, timeout, nil
}

// pluginCacheDir keeps compiled plugins across restarts; "" (no cache)
// when the user has no cache directory.
func pluginCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "tariff", "wazero")
}

func firstPositive(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

// Addr is the bound daemon address.
func (d *Daemon) Addr() net.Addr { return d.lis.Addr() }

// Channels is the payment processor (nil with blockchain disabled).
func (d *Daemon) Channels() *escrow.Channels { return d.channels }

// Chain is the chain view (nil with blockchain disabled).
func (d *Daemon) Chain() *escrow.Chain { return d.chain }

// Serve runs until ctx is done, then drains calls and closes everything.
func (d *Daemon) Serve(ctx context.Context) error {
	defer d.close()
	if d.chain != nil {
		if _, err := d.chain.RefreshHead(ctx); err != nil {
			return fmt.Errorf("read chain head: %w", err)
		}
		go func() { _ = d.chain.Run(ctx) }()
	}
	if len(d.files) > 0 && d.plugins != nil {
		go func() {
			if err := d.watch(ctx); err != nil {
				d.log.Warn("configuration files are not watched; SIGHUP reloads", "err", err)
			}
		}()
	}
	if d.acme != nil {
		go serveACME(ctx, d.acme, d.log)
	}
	if d.meter != nil {
		go d.meter.Run(ctx)
	}
	d.log.Info("tariffd serving", "addr", d.lis.Addr().String(), "tls", d.cfg.TLS.CertFile != "" || d.cfg.TLS.AutoDomain != "",
		"service_endpoint", d.cfg.Backend.Endpoint)
	if d.httpLis != nil {
		return d.server.ServeSplit(ctx, d.lis, d.httpLis)
	}
	return d.server.Serve(ctx, d.lis)
}

func (d *Daemon) close() {
	if d.lis != nil {
		_ = d.lis.Close()
	}
	if d.httpLis != nil {
		_ = d.httpLis.Close()
	}
	for i := len(d.closers) - 1; i >= 0; i-- {
		if err := d.closers[i](); err != nil {
			d.log.Warn("shutdown", "err", err)
		}
	}
	d.closers = nil
}
