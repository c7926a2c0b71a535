// Package localnet starts a complete SingularityNET network on this machine:
// a chain with the real Token, MultiPartyEscrow and Registry contracts, an
// IPFS metadata endpoint, a registered organisation and service, the example
// Calculator service, and tariffd in front of it on the embedded etcd,
// configured by an unchanged snet-daemon JSON file.
package localnet

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tariffd/tariff/escrow/chaintest"
	"github.com/tariffd/tariff/escrow/etcdserver"
	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/host/config"
)

// Identities of the example deployment.
const (
	OrgID     = "example-org"
	ServiceID = "example-service"
	GroupName = "default_group"
)

// Prices of the Calculator's methods in cogs (service metadata,
// fixed_price_per_method).
var Prices = map[string]int64{
	"add": 10, "sub": 10, "mul": 20, "div": 20,
	"sum_stream": 30, "count": 30, "echo_stream": 30,
}

// FreeCalls is the number of free calls each user gets (service metadata).
const FreeCalls = 3

// freeCallKey signs free-call tokens (the daemon's private_key_for_free_calls).
var freeCallKey, _ = crypto.ToECDSA(crypto.Keccak256([]byte("tariff example free-call signer")))

// Options place the network's listeners. Zero ports pick free ones.
type Options struct {
	Dir         string // working directory: snetd.config.json, etcd data
	ChainPort   int    // JSON-RPC, e.g. 8545
	IPFSPort    int    // Kubo-compatible API, e.g. 5002
	ServicePort int    // the Calculator, e.g. 7003
	DaemonPort  int    // tariffd, e.g. 7000
	EtcdPorts   [2]int // client, peer; e.g. 2379, 2380
	BlockTime   time.Duration
	// ServiceType is how the Calculator is served and published
	// (service_type): "grpc" (the default), "http" or "jsonrpc".
	ServiceType string
	// TLSCertFile and TLSKeyFile, when set, make tariffd serve TLS
	// (ssl_cert, ssl_key).
	TLSCertFile, TLSKeyFile string
	// MeteringEndpoint, when set, turns metering on (metering_enabled)
	// with MeteringKey as private_key_for_metering.
	MeteringEndpoint string
	MeteringKey      *ecdsa.PrivateKey
	// ExtraConfigs are configuration files loaded after the generated
	// snetd.config.json, e.g. an HCL file of plugin blocks.
	ExtraConfigs []string
	Log          *slog.Logger
	DaemonLogger *slog.Logger
}

// Network is a running local network.
type Network struct {
	Sim        *chaintest.Sim
	GroupID    [32]byte
	ConfigPath string // the snetd.config.json tariffd runs on
	DaemonAddr string
	Daemon     *host.Daemon
	IPFSURL    string
	// EtcdEndpoint is the embedded etcd's client URL: replicas of the
	// payment group share state through it.
	EtcdEndpoint string

	stop func()
	wg   sync.WaitGroup
	errs chan error

	// what the service metadata is made of
	ipfs        *contentStore
	apiURI      string
	daemonPort  int
	serviceType string
	encoding    string
}

// serviceDoc is the Calculator's service metadata with prices (cogs by
// method name).
func (n *Network) serviceDoc(prices map[string]int64) []byte {
	methods := make([]any, 0, len(prices))
	for m, p := range prices {
		methods = append(methods, map[string]any{"method_name": m, "price_in_cogs": p})
	}
	return mustJSON(map[string]any{
		"version": 1, "display_name": "Example Calculator", "encoding": n.encoding, "service_type": n.serviceType,
		"mpe_address": n.Sim.Contracts.MPE.Hex(), "service_api_source": n.apiURI,
		"groups": []any{map[string]any{
			"group_name": GroupName, "group_id": n.groupB64(),
			"endpoints":                []string{"http://" + loopback(n.daemonPort)},
			"free_calls":               FreeCalls,
			"free_call_signer_address": crypto.PubkeyToAddress(freeCallKey.PublicKey).Hex(),
			"pricing": []any{map[string]any{
				"price_model": "fixed_price_per_method", "package_name": "example_service", "default": true,
				"details": []any{map[string]any{"service_name": "Calculator", "method_pricing": methods}},
			}},
		}},
	})
}

// PublishPrices publishes service metadata with new prices and points the
// Registry at it, as a provider does with snet-cli; tariffd charges them
// from its next reload.
func (n *Network) PublishPrices(ctx context.Context, prices map[string]int64) error {
	uri := n.ipfs.add(n.serviceDoc(prices))
	return n.Sim.Contracts.UpdateServiceRegistration(ctx, n.Sim.Provider.Opts(), OrgID, ServiceID, []byte(uri))
}

// Start brings the network up. Stop it with Close (or by cancelling ctx).
func Start(ctx context.Context, o Options) (n *Network, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.BlockTime <= 0 {
		o.BlockTime = time.Second
	}
	if o.ServiceType == "" {
		o.ServiceType = "grpc"
	}
	ports, err := etcdserver.FreePorts(6)
	if err != nil {
		return nil, err
	}
	pick := func(p *int, i int) {
		if *p == 0 {
			*p = ports[i]
		}
	}
	pick(&o.ChainPort, 0)
	pick(&o.IPFSPort, 1)
	pick(&o.ServicePort, 2)
	pick(&o.DaemonPort, 3)
	pick(&o.EtcdPorts[0], 4)
	pick(&o.EtcdPorts[1], 5)

	ctx, cancel := context.WithCancel(ctx)
	n = &Network{stop: cancel, errs: make(chan error, 4), serviceType: o.ServiceType, encoding: "proto"}
	if o.ServiceType == "jsonrpc" {
		n.encoding = "json" // its clients send JSON messages
	}
	started := n // the error returns below set n to nil
	defer func() {
		if err != nil {
			started.Close()
		}
	}()

	// Chain with the real contracts, sealing a block every BlockTime.
	n.Sim, err = chaintest.NewSim(ctx, chaintest.WithHTTP(loopback(o.ChainPort)), chaintest.WithAutoCommit(o.BlockTime))
	if err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	c := n.Sim.Contracts
	o.Log.Info("chain up", "rpc", n.Sim.HTTPURL(), "token", c.Token, "mpe", c.MPE, "registry", c.Registry)

	// Metadata, published on the IPFS endpoint and registered on chain.
	copy(n.GroupID[:], crypto.Keccak256([]byte("tariff example group")))
	groupB64 := base64.StdEncoding.EncodeToString(n.GroupID[:])
	etcdClient := "http://" + loopback(o.EtcdPorts[0])
	n.EtcdEndpoint = etcdClient
	ipfs := newContentStore()
	orgURI := ipfs.add(mustJSON(map[string]any{
		"org_name": "Example Org", "org_id": OrgID,
		"groups": []any{map[string]any{
			"group_name": GroupName, "group_id": groupB64,
			"payment": map[string]any{
				"payment_address":              n.Sim.Provider.Address.Hex(),
				"payment_expiration_threshold": 100,
				"payment_channel_storage_type": "etcd",
				"payment_channel_storage_client": map[string]any{
					"connection_timeout": "5s", "request_timeout": "3s", "endpoints": []string{etcdClient},
				},
			},
		}},
	}))
	n.ipfs, n.apiURI, n.daemonPort = ipfs, ipfs.add(calculator.APIArchive()), o.DaemonPort
	svcURI := ipfs.add(n.serviceDoc(Prices))
	ipfsLis, err := net.Listen("tcp", loopback(o.IPFSPort))
	if err != nil {
		return nil, fmt.Errorf("ipfs endpoint: %w", err)
	}
	n.IPFSURL = "http://" + ipfsLis.Addr().String()
	n.serveHTTP(ctx, ipfsLis, ipfs)

	owner := n.Sim.Provider.Opts()
	if err := c.CreateOrganization(ctx, owner, OrgID, []byte(orgURI), nil); err != nil {
		return nil, fmt.Errorf("register organization: %w", err)
	}
	if err := c.CreateServiceRegistration(ctx, owner, OrgID, ServiceID, []byte(svcURI)); err != nil {
		return nil, fmt.Errorf("register service: %w", err)
	}

	// The AI service.
	svcLis, err := net.Listen("tcp", loopback(o.ServicePort))
	if err != nil {
		return nil, fmt.Errorf("calculator: %w", err)
	}
	switch o.ServiceType {
	case "grpc":
		n.goRun(func() error { return calculator.Serve(ctx, svcLis) })
	case "http", "jsonrpc":
		h := calculator.HTTPHandler()
		if o.ServiceType == "jsonrpc" {
			h = calculator.JSONRPCHandler()
		}
		n.serveHTTP(ctx, svcLis, h)
	default:
		_ = svcLis.Close()
		return nil, fmt.Errorf("service type %q: want grpc, http or jsonrpc", o.ServiceType)
	}

	// tariffd, from an snet-daemon config file as a provider writes it.
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	n.ConfigPath = filepath.Join(o.Dir, "snetd.config.json")
	snetd := map[string]any{
		"blockchain_enabled":              true,
		"blockchain_network_selected":     "local",
		"ethereum_json_rpc_http_endpoint": n.Sim.HTTPURL(),
		"registry_address_key":            c.Registry.Hex(),
		"daemon_endpoint":                 loopback(o.DaemonPort),
		"daemon_group_name":               GroupName,
		"organization_id":                 OrgID,
		"service_id":                      ServiceID,
		"service_endpoint":                "http://" + svcLis.Addr().String(),
		"passthrough_enabled":             true,
		"ipfs_endpoint":                   n.IPFSURL,
		"payment_channel_storage_server": map[string]any{
			"enabled": true, "host": "127.0.0.1",
			"client_port": o.EtcdPorts[0], "peer_port": o.EtcdPorts[1],
			"cluster":  "storage-1=http://" + loopback(o.EtcdPorts[1]),
			"data_dir": filepath.Join(o.Dir, "etcd"), "log_level": "warn",
			"log_outputs": []string{filepath.Join(o.Dir, "etcd-server.log")},
		},
		"private_key_for_free_calls": hex.EncodeToString(crypto.FromECDSA(freeCallKey)),
		"min_balance_for_free_call":  0, // the local token is not the FET/ASI token free calls check
		"log":                        map[string]any{"level": "info"},
	}
	if o.TLSCertFile != "" {
		snetd["ssl_cert"], snetd["ssl_key"] = o.TLSCertFile, o.TLSKeyFile
	}
	if o.MeteringEndpoint != "" {
		snetd["metering_enabled"] = true
		snetd["metering_endpoint"] = o.MeteringEndpoint
		snetd["private_key_for_metering"] = hex.EncodeToString(crypto.FromECDSA(o.MeteringKey))
	}
	if err := os.WriteFile(n.ConfigPath, mustJSON(snetd), 0o644); err != nil {
		return nil, err
	}
	files := append([]string{n.ConfigPath}, o.ExtraConfigs...)
	noEnv := func(string) (string, bool) { return "", false }
	cfg, warnings, err := config.Load(files, noEnv)
	if err != nil {
		return nil, fmt.Errorf("tariffd config: %w", err)
	}
	for _, w := range warnings {
		o.Log.Warn("tariffd config", "warning", w.String())
	}
	dlog := o.DaemonLogger
	if dlog == nil {
		dlog = o.Log.With("component", "tariffd")
	}
	d, err := host.New(ctx, cfg, host.Options{Log: dlog, Version: "devnet", ConfigFiles: files, Env: noEnv})
	if err != nil {
		return nil, fmt.Errorf("tariffd: %w", err)
	}
	n.DaemonAddr = d.Addr().String()
	n.Daemon = d
	n.goRun(func() error { return d.Serve(ctx) })
	return n, nil
}

// serveHTTP serves h on lis until ctx is done.
func (n *Network) serveHTTP(ctx context.Context, lis net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	n.goRun(func() error {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	context.AfterFunc(ctx, func() { _ = srv.Close() })
}

func (n *Network) goRun(f func() error) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := f(); err != nil {
			select {
			case n.errs <- err:
			default:
			}
		}
	}()
}

// Err delivers the first failure of a network component.
func (n *Network) Err() <-chan error { return n.errs }

// Close stops everything the network started and waits for it.
func (n *Network) Close() {
	n.stop()
	n.wg.Wait()
	if n.Sim != nil {
		_ = n.Sim.Close()
	}
}

// OpenChannel funds a channel from the demo client (Sim.Sender) to the
// provider for value cogs, valid for blocks blocks.
func (n *Network) OpenChannel(ctx context.Context, value int64, blocks uint64) (*big.Int, error) {
	head, err := n.Sim.Head(ctx)
	if err != nil {
		return nil, err
	}
	return n.Sim.Contracts.DepositAndOpenChannel(ctx, n.Sim.Sender.Opts(), n.Sim.Sender.Address, n.Sim.Provider.Address,
		n.GroupID, big.NewInt(value), new(big.Int).SetUint64(head+blocks))
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
}

// contentStore serves documents by content hash on the Kubo RPC route the
// daemon reads (POST /api/v0/cat?arg=<id>). It stands in for an IPFS node,
// which is not installable here; ids are sha256 hex, not real CIDs.
type contentStore struct {
	mu   sync.RWMutex
	docs map[string][]byte
}

func newContentStore() *contentStore { return &contentStore{docs: map[string][]byte{}} }

func (s *contentStore) add(doc []byte) string {
	sum := sha256.Sum256(doc)
	id := hex.EncodeToString(sum[:])
	s.mu.Lock()
	s.docs[id] = doc
	s.mu.Unlock()
	return "ipfs://" + id
}

func (s *contentStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Kubo's RPC API takes POST; snet-sdk (JS) reads with GET.
	if r.URL.Path != "/api/v0/cat" || (r.Method != http.MethodPost && r.Method != http.MethodGet) {
		http.NotFound(w, r)
		return
	}
	s.mu.RLock()
	doc, ok := s.docs[r.URL.Query().Get("arg")]
	s.mu.RUnlock()
	if !ok {
		http.Error(w, `{"Message":"not found","Code":0,"Type":"error"}`, http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(doc)
}
