package config

import (
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Config is the validated runtime configuration. Build it with Load and pass
// it by value; treat it as read-only (its slices, maps and *big.Int are
// shared between copies). A reload builds a new Config.
//
// Comments name the snet-daemon JSON key and the HCL path of each field.
type Config struct {
	// Files are the configuration files loaded, in order.
	Files []string

	OrganizationID string // organization_id
	ServiceID      string // service_id
	Group          string // daemon_group_name | group

	Listen         string // daemon_endpoint | listen: host:port
	DaemonType     string // daemon_type: "grpc", or "http" (legacy plain HTTP proxy)
	MaxMessageSize int    // max_message_size_in_mb | max_message_size_mb, in bytes
	DynamicPricing bool   // enable_dynamic_pricing | dynamic_pricing

	Backend      Backend
	Blockchain   Blockchain
	Metadata     Metadata
	Storage      Storage
	TLS          TLS
	FreeCalls    FreeCalls
	Tokens       Tokens
	RateLimit    RateLimit
	Access       Access
	Metering     Metering
	Alerts       Alerts
	Heartbeat    Heartbeat
	Training     Training
	Log          Log
	Experimental Experimental

	// Plugins are the plugin "name" {...} blocks (HCL only), in the order
	// written; a block that replaced one of the same name from an earlier
	// file keeps that block's place.
	Plugins []Plugin
}

// Backend is the AI service the daemon forwards to.
type Backend struct {
	// Type overrides the service metadata's service_type when set
	// (backend.type; no JSON key): "grpc", "http", "jsonrpc" or "process".
	Type string
	// Endpoint is service_endpoint | backend.endpoint, as written (a URL,
	// or host:port, which means http://host:port).
	Endpoint string
	// Timeout applies when the client sets no deadline
	// (service_timeout | backend.timeout).
	Timeout time.Duration
	// Passthrough false makes the daemon echo requests instead of
	// forwarding them (passthrough_enabled | backend.passthrough).
	Passthrough bool
	// CommitFirst stores each escrow payment before the call is forwarded,
	// instead of while it is (backend.commit_first; no JSON key). Either
	// way no answer leaves before its payment is durable.
	CommitFirst    bool
	ExecutablePath string       // executable_path | backend.executable_path (process mode)
	Credentials    []Credential // service_credentials | backend.credential blocks (http mode)
}

// Credential is a value injected into HTTP backend requests.
type Credential struct {
	Key string
	// Value is decoded JSON: string, json.Number, bool, nil, []any or
	// map[string]any. Query and header values are strings.
	Value    any
	Location string // "query", "header" or "body"
}

// Blockchain is how the daemon reaches the chain.
type Blockchain struct {
	Enabled bool // blockchain_enabled | blockchain.enabled
	// Network names the network (blockchain_network_selected |
	// blockchain.network); it is also the root of every etcd key. For a
	// chain_id outside the built-in table with no name it is
	// "chain-<id>".
	Network         string
	ChainID         uint64         // chain_id | blockchain.chain_id; from the table for named networks
	RPCEndpoint     string         // ethereum_json_rpc_http_endpoint | blockchain.rpc_endpoint
	WSEndpoint      string         // ethereum_json_rpc_ws_endpoint | blockchain.ws_endpoint
	APIKey          Secret         // blockchain_provider_api_key | blockchain.api_key
	RegistryAddress common.Address // registry_address_key | blockchain.registry_address; table default
	// TokenAddress is the FET/ASI token of the network (free-call balance
	// checks); zero outside the table.
	TokenAddress common.Address
	// PollInterval is how often the chain head is polled
	// (chain.poll_interval | blockchain.poll_interval).
	PollInterval time.Duration
}

// Metadata says where organisation and service metadata come from.
type Metadata struct {
	IPFSEndpoint       string        // ipfs_endpoint | metadata.ipfs_endpoint (Kubo RPC API)
	LighthouseEndpoint string        // lighthouse_endpoint | metadata.lighthouse_endpoint
	IPFSTimeout        time.Duration // ipfs_timeout (seconds) | metadata.ipfs_timeout
	// OrgFile and ServiceFile, when set, replace Registry + IPFS
	// (metadata.org_file, metadata.service_file in both formats). Relative
	// paths are resolved against the directory of the file naming them.
	OrgFile, ServiceFile string
}

// Storage types.
const (
	StorageEtcd   = "etcd"
	StorageMemory = "memory"
)

// Storage is where payment state lives.
type Storage struct {
	// Type is StorageEtcd or StorageMemory (payment_channel_storage_type |
	// storage.type).
	Type   string
	Client EtcdClient
	// Embedded is the etcd server to start in-process, nil when none
	// (payment_channel_storage_server | storage.embedded present and not
	// enabled = false).
	Embedded *EmbeddedEtcd
}

// EtcdClient overrides the org metadata's storage client settings; zero
// values mean "use the metadata's".
type EtcdClient struct {
	Endpoints         []string      // payment_channel_storage_client.endpoints | storage.etcd.endpoints
	ConnectionTimeout time.Duration // .connection_timeout
	RequestTimeout    time.Duration // .request_timeout
	HotReload         bool          // .hot_reload: follow OrganizationModified events
	// Mutual TLS for https endpoints: payment_channel_cert_path,
	// payment_channel_key_path, payment_channel_ca_path |
	// storage.etcd.cert_file, key_file, ca_file.
	CertFile, KeyFile, CAFile string
}

// EmbeddedEtcd is the in-process etcd server
// (payment_channel_storage_server | storage.embedded).
type EmbeddedEtcd struct {
	ID             string
	Scheme         string // "http" or "https"
	Host           string
	ClientPort     int
	PeerPort       int
	Token          string
	Cluster        string // initial cluster, "storage-1=http://127.0.0.1:2380"
	StartupTimeout time.Duration
	DataDir        string
	LogLevel       string
	LogOutputs     []string
}

// TLS is the listener's certificate.
type TLS struct {
	CertFile     string // ssl_cert | tls.cert_file
	KeyFile      string // ssl_key | tls.key_file
	AutoDomain   string // auto_ssl_domain | tls.auto_domain (Let's Encrypt)
	AutoCacheDir string // auto_ssl_cache_dir | tls.auto_cache_dir
}

// UnlimitedFreeCalls is the FreeCalls.PerAddress value of "unlimited".
const UnlimitedFreeCalls = -1

// FreeCalls is the daemon side of free calls.
type FreeCalls struct {
	// SignerPrivateKey signs free-call tokens (private_key_for_free_calls |
	// free_calls.signer_private_key), hex without 0x.
	SignerPrivateKey Secret
	TrustedSigners   []common.Address // trusted_free_call_signers | free_calls.trusted_signers
	// MinBalance is the token balance a caller needs for free calls, in the
	// token's smallest unit (min_balance_for_free_call is in whole tokens,
	// 18 decimals).
	MinBalance *big.Int
	// PerAddress overrides the number of free calls per caller
	// (free_calls_per_address | free_calls.per_address); keys are
	// checksummed, UnlimitedFreeCalls means no limit.
	PerAddress map[common.Address]int
}

// Tokens configures prepaid-call tokens.
type Tokens struct {
	SecretKey Secret        // token_secret_key | tokens.secret_key
	Expiry    time.Duration // token_expiry_in_minutes | tokens.expiry
}

// RateLimit limits streaming calls. Zero values mean unlimited.
type RateLimit struct {
	PerMinute float64 // rate_limit_per_minute | rate_limit.per_minute
	Burst     int     // burst_size | rate_limit.burst
}

// Access restricts who may call (testing networks only).
type Access struct {
	AllowedUsersOnly        bool             // allowed_user_flag | access.allowed_users_only
	AllowedUsers            []common.Address // allowed_user_addresses | access.allowed_users
	AuthenticationAddresses []common.Address // authentication_addresses | access.authentication_addresses
}

// Metering reports usage to SingularityNET's metering service.
type Metering struct {
	Enabled    bool   // metering_enabled | metering.enabled
	Endpoint   string // metering_endpoint | metering.endpoint
	PrivateKey Secret // private_key_for_metering | metering.private_key
}

// Alerts are sent when the service is down.
type Alerts struct {
	Email                string // alerts_email | alerts.email
	NotificationEndpoint string // notification_endpoint | alerts.notification_endpoint
}

// Heartbeat is how the service's health is probed.
type Heartbeat struct {
	Type     string // service_heartbeat_type | heartbeat.type: "", none, tcp, grpc, http, https
	Endpoint string // heartbeat_endpoint | heartbeat.endpoint
}

// Training is the model-training extension.
type Training struct {
	Enabled             bool   // model_training_enabled | training.enabled
	MaintenanceEndpoint string // model_maintenance_endpoint | training.maintenance_endpoint
}

// Log configures logging (log.* in both formats).
type Log struct {
	Level           string   // debug, info, warn, error (snetd's panic/fatal map to error)
	Format          string   // "text" or "json" (log.formatter.type)
	Timezone        string   // log.timezone
	TimestampFormat string   // log.formatter.timestamp_format
	Outputs         []string // "stdout", "stderr", "file" (log.output.type)
	File            LogFile
	Hooks           []LogHook
}

// LogFile is the rotating log file (log.output.* | log.file).
type LogFile struct {
	Pattern       string // file_pattern, strftime
	CurrentLink   string
	MaxSizeMB     int
	MaxAgeDays    int
	RotationCount int
}

// LogHook is a snet-daemon log hook (email, telegram_bot). Kept so
// configurations round-trip; not acted on yet.
type LogHook struct {
	Name     string
	Type     string
	Levels   []string
	Settings map[string]string
}

// Experimental are snet-daemon's experimental listener options.
type Experimental struct {
	SplitGRPCWeb    bool
	UseOriginalCmux bool
	// TrafficSplitGRPC and TrafficSplitHTTP, when set, open two listeners
	// instead of multiplexing one (experimental.traffic_split).
	TrafficSplitGRPC, TrafficSplitHTTP int
}

// MaxMessageSizeMB returns MaxMessageSize in MiB, as configured.
func (c Config) MaxMessageSizeMB() int { return c.MaxMessageSize >> 20 }
