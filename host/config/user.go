package config

import (
	"path/filepath"
	"reflect"
	"slices"

	"github.com/zclconf/go-cty/cty"
)

// userConfig is what one source (a file, the environment) says. It has the
// shape of the HCL format; snet-daemon's JSON keys are translated into it
// (snetd.go). Every field is a pointer, slice or map so that "not set" is
// nil: sources merge by overriding only what they set, and Build applies
// defaults to whatever is still nil.
//
// Plugins are labelled blocks, HCL only; merge combines them by label
// instead of replacing the whole list.
type userConfig struct {
	Listen           *string `hcl:"listen,optional"`
	DaemonType       *string `hcl:"daemon_type,optional"`
	OrganizationID   *string `hcl:"organization_id,optional"`
	ServiceID        *string `hcl:"service_id,optional"`
	Group            *string `hcl:"group,optional"`
	MaxMessageSizeMB *int    `hcl:"max_message_size_mb,optional"`
	DynamicPricing   *bool   `hcl:"dynamic_pricing,optional"`

	Backend      *backendBlock      `hcl:"backend,block"`
	Blockchain   *blockchainBlock   `hcl:"blockchain,block"`
	Metadata     *metadataBlock     `hcl:"metadata,block"`
	Storage      *storageBlock      `hcl:"storage,block"`
	TLS          *tlsBlock          `hcl:"tls,block"`
	FreeCalls    *freeCallsBlock    `hcl:"free_calls,block"`
	Tokens       *tokensBlock       `hcl:"tokens,block"`
	RateLimit    *rateLimitBlock    `hcl:"rate_limit,block"`
	Access       *accessBlock       `hcl:"access,block"`
	Metering     *meteringBlock     `hcl:"metering,block"`
	Alerts       *alertsBlock       `hcl:"alerts,block"`
	Heartbeat    *heartbeatBlock    `hcl:"heartbeat,block"`
	Training     *trainingBlock     `hcl:"training,block"`
	Log          *logBlock          `hcl:"log,block"`
	Experimental *experimentalBlock `hcl:"experimental,block"`
	Plugins      []pluginBlock      `hcl:"plugin,block"`

	// origins records where each set value came from, by HCL path
	// ("backend.endpoint"), for error messages. Not part of the HCL schema.
	origins map[string]Origin
}

type backendBlock struct {
	Type           *string           `hcl:"type,optional"`
	Endpoint       *string           `hcl:"endpoint,optional"`
	Timeout        *string           `hcl:"timeout,optional"`
	Passthrough    *bool             `hcl:"passthrough,optional"`
	CommitFirst    *bool             `hcl:"commit_first,optional"`
	ExecutablePath *string           `hcl:"executable_path,optional"`
	Credentials    []credentialBlock `hcl:"credential,block"`
}

type credentialBlock struct {
	Key      *string   `hcl:"key,optional"`
	Value    cty.Value `hcl:"value,optional"`
	Location *string   `hcl:"location,optional"`
}

type blockchainBlock struct {
	Enabled         *bool   `hcl:"enabled,optional"`
	Network         *string `hcl:"network,optional"`
	ChainID         *int64  `hcl:"chain_id,optional"`
	RPCEndpoint     *string `hcl:"rpc_endpoint,optional"`
	WSEndpoint      *string `hcl:"ws_endpoint,optional"`
	RegistryAddress *string `hcl:"registry_address,optional"`
	APIKey          *string `hcl:"api_key,optional"`
	PollInterval    *string `hcl:"poll_interval,optional"`
}

type metadataBlock struct {
	IPFSEndpoint       *string `hcl:"ipfs_endpoint,optional"`
	LighthouseEndpoint *string `hcl:"lighthouse_endpoint,optional"`
	IPFSTimeout        *string `hcl:"ipfs_timeout,optional"`
	OrgFile            *string `hcl:"org_file,optional"`
	ServiceFile        *string `hcl:"service_file,optional"`
}

type storageBlock struct {
	Type     *string        `hcl:"type,optional"`
	Embedded *embeddedBlock `hcl:"embedded,block"`
	Etcd     *etcdBlock     `hcl:"etcd,block"`
}

type embeddedBlock struct {
	Enabled        *bool     `hcl:"enabled,optional"`
	ID             *string   `hcl:"id,optional"`
	Scheme         *string   `hcl:"scheme,optional"`
	Host           *string   `hcl:"host,optional"`
	ClientPort     *int      `hcl:"client_port,optional"`
	PeerPort       *int      `hcl:"peer_port,optional"`
	Token          *string   `hcl:"token,optional"`
	Cluster        *string   `hcl:"cluster,optional"`
	StartupTimeout *string   `hcl:"startup_timeout,optional"`
	DataDir        *string   `hcl:"data_dir,optional"`
	LogLevel       *string   `hcl:"log_level,optional"`
	LogOutputs     *[]string `hcl:"log_outputs,optional"`
}

type etcdBlock struct {
	Endpoints         *[]string `hcl:"endpoints,optional"`
	ConnectionTimeout *string   `hcl:"connection_timeout,optional"`
	RequestTimeout    *string   `hcl:"request_timeout,optional"`
	HotReload         *bool     `hcl:"hot_reload,optional"`
	CertFile          *string   `hcl:"cert_file,optional"`
	KeyFile           *string   `hcl:"key_file,optional"`
	CAFile            *string   `hcl:"ca_file,optional"`
}

type tlsBlock struct {
	CertFile     *string `hcl:"cert_file,optional"`
	KeyFile      *string `hcl:"key_file,optional"`
	AutoDomain   *string `hcl:"auto_domain,optional"`
	AutoCacheDir *string `hcl:"auto_cache_dir,optional"`
}

type freeCallsBlock struct {
	SignerPrivateKey *string            `hcl:"signer_private_key,optional"`
	TrustedSigners   *[]string          `hcl:"trusted_signers,optional"`
	MinBalance       *string            `hcl:"min_balance,optional"`
	PerAddress       *map[string]string `hcl:"per_address,optional"`
}

type tokensBlock struct {
	SecretKey *string `hcl:"secret_key,optional"`
	Expiry    *string `hcl:"expiry,optional"`
}

type rateLimitBlock struct {
	PerMinute *float64 `hcl:"per_minute,optional"`
	Burst     *int     `hcl:"burst,optional"`
}

type accessBlock struct {
	AllowedUsersOnly        *bool     `hcl:"allowed_users_only,optional"`
	AllowedUsers            *[]string `hcl:"allowed_users,optional"`
	AuthenticationAddresses *[]string `hcl:"authentication_addresses,optional"`
}

type meteringBlock struct {
	Enabled    *bool   `hcl:"enabled,optional"`
	Endpoint   *string `hcl:"endpoint,optional"`
	PrivateKey *string `hcl:"private_key,optional"`
}

type alertsBlock struct {
	Email                *string `hcl:"email,optional"`
	NotificationEndpoint *string `hcl:"notification_endpoint,optional"`
}

type heartbeatBlock struct {
	Type     *string `hcl:"type,optional"`
	Endpoint *string `hcl:"endpoint,optional"`
}

type trainingBlock struct {
	Enabled             *bool   `hcl:"enabled,optional"`
	MaintenanceEndpoint *string `hcl:"maintenance_endpoint,optional"`
}

type logBlock struct {
	Level           *string        `hcl:"level,optional"`
	Format          *string        `hcl:"format,optional"`
	Timezone        *string        `hcl:"timezone,optional"`
	TimestampFormat *string        `hcl:"timestamp_format,optional"`
	Outputs         *[]string      `hcl:"outputs,optional"`
	File            *logFileBlock  `hcl:"file,block"`
	Hooks           []logHookBlock `hcl:"hook,block"`
}

type logFileBlock struct {
	Pattern       *string `hcl:"pattern,optional"`
	CurrentLink   *string `hcl:"current_link,optional"`
	MaxSizeMB     *int    `hcl:"max_size_mb,optional"`
	MaxAgeDays    *int    `hcl:"max_age_days,optional"`
	RotationCount *int    `hcl:"rotation_count,optional"`
}

type logHookBlock struct {
	Name     string             `hcl:"name,label"`
	Type     *string            `hcl:"type,optional"`
	Levels   *[]string          `hcl:"levels,optional"`
	Settings *map[string]string `hcl:"settings,optional"`
}

type experimentalBlock struct {
	SplitGRPCWeb    *bool              `hcl:"split_grpc_web,optional"`
	UseOriginalCmux *bool              `hcl:"use_original_cmux,optional"`
	TrafficSplit    *trafficSplitBlock `hcl:"traffic_split,block"`
}

type trafficSplitBlock struct {
	GRPC *int `hcl:"grpc,optional"`
	HTTP *int `hcl:"http,optional"`
}

// pluginBlock is one plugin "name" {...} block. A block is a unit: a later
// file's block with the same name replaces it whole, so that what runs is
// exactly what one block says.
type pluginBlock struct {
	Name    string             `hcl:"name,label"`
	Kind    *string            `hcl:"kind,optional"`
	Path    *string            `hcl:"path,optional"`
	SHA256  *string            `hcl:"sha256,optional"`
	Methods *[]string          `hcl:"methods,optional"`
	OnError *string            `hcl:"on_error,optional"`
	Limits  *pluginLimitsBlock `hcl:"limits,block"`
	Config  cty.Value          `hcl:"config,optional"`

	// origin is where the block starts; origins where each of its
	// settings is, by path inside the block ("limits.timeout"). The block
	// carries them because it may replace an earlier one from another file.
	origin  Origin
	origins map[string]Origin
}

type pluginLimitsBlock struct {
	MemoryMiB   *int    `hcl:"memory_mib,optional"`
	Timeout     *string `hcl:"timeout,optional"`
	Instances   *int    `hcl:"instances,optional"`
	InitTimeout *string `hcl:"init_timeout,optional"`
}

// Accessors that create a block on first use, for the JSON and env
// translators.

func (u *userConfig) backend() *backendBlock       { return ensure(&u.Backend) }
func (u *userConfig) blockchain() *blockchainBlock { return ensure(&u.Blockchain) }
func (u *userConfig) metadata() *metadataBlock     { return ensure(&u.Metadata) }
func (u *userConfig) storage() *storageBlock       { return ensure(&u.Storage) }
func (u *userConfig) embedded() *embeddedBlock     { return ensure(&u.storage().Embedded) }
func (u *userConfig) etcd() *etcdBlock             { return ensure(&u.storage().Etcd) }
func (u *userConfig) tls() *tlsBlock               { return ensure(&u.TLS) }
func (u *userConfig) freeCalls() *freeCallsBlock   { return ensure(&u.FreeCalls) }
func (u *userConfig) tokens() *tokensBlock         { return ensure(&u.Tokens) }
func (u *userConfig) rateLimit() *rateLimitBlock   { return ensure(&u.RateLimit) }
func (u *userConfig) access() *accessBlock         { return ensure(&u.Access) }
func (u *userConfig) metering() *meteringBlock     { return ensure(&u.Metering) }
func (u *userConfig) alerts() *alertsBlock         { return ensure(&u.Alerts) }
func (u *userConfig) heartbeat() *heartbeatBlock   { return ensure(&u.Heartbeat) }
func (u *userConfig) training() *trainingBlock     { return ensure(&u.Training) }
func (u *userConfig) log() *logBlock               { return ensure(&u.Log) }
func (u *userConfig) logFile() *logFileBlock       { return ensure(&u.log().File) }
func (u *userConfig) experimental() *experimentalBlock {
	return ensure(&u.Experimental)
}
func (u *userConfig) trafficSplit() *trafficSplitBlock {
	return ensure(&u.experimental().TrafficSplit)
}

func ensure[T any](p **T) *T {
	if *p == nil {
		*p = new(T)
	}
	return *p
}

// merge overlays src on dst: every value src sets replaces dst's, blocks
// merge field by field, lists and maps are replaced as a whole (a later file
// that sets endpoints means these endpoints, not more of them). Plugin
// blocks merge by name: src's block replaces dst's block of the same name
// (in its place in the list), and other blocks are added after dst's.
func merge(dst, src *userConfig) {
	plugins := mergePlugins(dst.Plugins, src.Plugins)
	mergeValue(reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem())
	dst.Plugins = plugins
	if dst.origins == nil {
		dst.origins = make(map[string]Origin, len(src.origins))
	}
	for k, o := range src.origins {
		dst.origins[k] = o
	}
}

func mergePlugins(dst, src []pluginBlock) []pluginBlock {
	if src == nil {
		return dst
	}
	out := slices.Clone(dst)
	for _, p := range src {
		i := slices.IndexFunc(out, func(q pluginBlock) bool { return q.Name == p.Name })
		if i >= 0 {
			out[i] = p
			continue
		}
		out = append(out, p)
	}
	return out
}

func mergeValue(dst, src reflect.Value) {
	for i := 0; i < src.NumField(); i++ {
		if !dst.Type().Field(i).IsExported() {
			continue
		}
		s, d := src.Field(i), dst.Field(i)
		switch s.Kind() {
		case reflect.Pointer:
			if s.IsNil() {
				continue
			}
			if s.Elem().Kind() == reflect.Struct {
				if d.IsNil() {
					d.Set(reflect.New(s.Elem().Type()))
				}
				mergeValue(d.Elem(), s.Elem())
				continue
			}
			d.Set(s)
		case reflect.Slice, reflect.Map:
			if !s.IsNil() {
				d.Set(s)
			}
		default:
			// Labels and cty values live in list elements, which are
			// replaced as a whole above; never clear a value with a zero.
			if !s.IsZero() {
				d.Set(s)
			}
		}
	}
}

// resolvePaths makes the relative file paths a source names relative to
// the directory of that source, so a config file works from any working
// directory, and absolute, so that they keep their meaning if the working
// directory changes. Values from the environment stay relative to the
// working directory (dir "").
func (u *userConfig) resolvePaths(dir string) {
	if dir == "" {
		return
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	u.mapPaths(func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	})
}

// mapPaths replaces every non-empty file path the source names with f(path).
func (u *userConfig) mapPaths(f func(string) string) {
	fix := func(p *string) {
		if p != nil && *p != "" {
			*p = f(*p)
		}
	}
	if m := u.Metadata; m != nil {
		fix(m.OrgFile)
		fix(m.ServiceFile)
	}
	if s := u.Storage; s != nil {
		if e := s.Embedded; e != nil {
			fix(e.DataDir)
		}
		if e := s.Etcd; e != nil {
			fix(e.CertFile)
			fix(e.KeyFile)
			fix(e.CAFile)
		}
	}
	if t := u.TLS; t != nil {
		fix(t.CertFile)
		fix(t.KeyFile)
		fix(t.AutoCacheDir)
	}
	for i := range u.Plugins {
		fix(u.Plugins[i].Path)
	}
}
