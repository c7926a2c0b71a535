package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// This file translates snet-daemon's JSON configuration (its documented keys) into the
// user configuration. Keys are matched case-insensitively, as viper does.
// Unknown keys are warnings, not errors: snetd ignores them, and old
// configuration files are full of them.

// jdecoder walks one JSON document (or the environment, shaped as one).
type jdecoder struct {
	u        *userConfig
	origin   func(key string, off int64) Origin
	warnings []Warning
	errs     Errors
}

// A setter stores one JSON value into the user configuration.
type setter func(d *jdecoder, key string, n *jnode) error

type keyKind uint8

const (
	kScalar keyKind = iota
	kList
	kObject
)

// jsonKey describes one snetd key: the HCL path it sets (for origins and
// messages), and either a setter or, for objects, the table of its keys.
type jsonKey struct {
	path string
	kind keyKind
	set  setter
	sub  map[string]jsonKey
}

func (d *jdecoder) warn(o Origin, format string, args ...any) {
	d.warnings = append(d.warnings, Warning{Origin: o, Message: fmt.Sprintf(format, args...)})
}

func (d *jdecoder) fail(o Origin, sentinel error, err error) {
	d.errs = append(d.errs, &Error{Origin: o, Err: fmt.Errorf("%w: %w", sentinel, err)})
}

func (d *jdecoder) record(path string, o Origin) {
	if path == "" {
		return
	}
	if d.u.origins == nil {
		d.u.origins = make(map[string]Origin)
	}
	d.u.origins[path] = o
}

// object applies the members of n using table. prefix is the dotted JSON key
// of n ("" at the top).
func (d *jdecoder) object(n *jnode, table map[string]jsonKey, prefix string, aliases map[string]string) {
	present := make(map[string]bool, len(n.members))
	for _, m := range n.members {
		present[strings.ToLower(m.key)] = true
	}
	for _, m := range n.members {
		name := strings.ToLower(m.key)
		full := joinKey(prefix, m.key)
		o := d.origin(full, m.off)
		if m.val.kind == jnull {
			continue // viper treats null as unset
		}
		k, ok := table[name]
		if !ok {
			if newName, isAlias := aliases[name]; isAlias {
				if present[newName] {
					d.warn(o, "deprecated key ignored: %s is also set", joinKey(prefix, newName))
					continue
				}
				d.warn(o, "deprecated key: use %s", joinKey(prefix, newName))
				k = table[newName]
			} else {
				if prefix == "" && (name == "plugin" || name == "plugins") {
					d.warn(o, "ignored: plugins are configured in HCL; put plugin blocks in an .hcl file "+
						"loaded after this one (tariffd serve --config snetd.config.json --config plugins.hcl)")
					continue
				}
				d.warn(o, "unknown key ignored")
				continue
			}
		}
		d.apply(k, full, o, m.val)
	}
}

func (d *jdecoder) apply(k jsonKey, full string, o Origin, v *jnode) {
	if k.kind == kObject && v.kind != jobject {
		d.fail(o, ErrSyntax, fmt.Errorf("want an object, got %s", v.kind))
		return
	}
	if k.set != nil {
		if err := k.set(d, full, v); err != nil {
			d.fail(o, ErrSyntax, err)
			return
		}
	}
	d.record(k.path, o)
	if k.sub != nil {
		d.object(v, k.sub, full, nil)
	}
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// Setter constructors over field accessors.

func setStr(f func(*userConfig) **string) setter {
	return func(d *jdecoder, _ string, n *jnode) error {
		s, err := n.asString()
		if err != nil {
			return err
		}
		*f(d.u) = &s
		return nil
	}
}

func setInt(f func(*userConfig) **int) setter {
	return func(d *jdecoder, _ string, n *jnode) error {
		i, err := n.asInt()
		if err != nil {
			return err
		}
		*f(d.u) = &i
		return nil
	}
}

func setBool(f func(*userConfig) **bool) setter {
	return func(d *jdecoder, _ string, n *jnode) error {
		b, err := n.asBool()
		if err != nil {
			return err
		}
		*f(d.u) = &b
		return nil
	}
}

func setStrs(f func(*userConfig) **[]string) setter {
	return func(d *jdecoder, _ string, n *jnode) error {
		s, err := n.asStrings()
		if err != nil {
			return err
		}
		*f(d.u) = &s
		return nil
	}
}

// setDuration keeps the text; Build reads "30s" as a duration and a bare
// number as seconds.
func setDuration(f func(*userConfig) **string) setter {
	return func(d *jdecoder, _ string, n *jnode) error {
		s, err := n.asScalarText()
		if err != nil {
			return fmt.Errorf("want a duration such as \"30s\": %w", err)
		}
		*f(d.u) = &s
		return nil
	}
}

func scalar(path string, set setter) jsonKey { return jsonKey{path: path, kind: kScalar, set: set} }
func list(path string, set setter) jsonKey   { return jsonKey{path: path, kind: kList, set: set} }

// snetdKeys is the table of snet-daemon's keys (and tariff's additions).
var snetdKeys = map[string]jsonKey{
	"blockchain_enabled": scalar("blockchain.enabled", setBool(func(u *userConfig) **bool { return &u.blockchain().Enabled })),
	"blockchain_network_selected": scalar("blockchain.network",
		setStr(func(u *userConfig) **string { return &u.blockchain().Network })),
	"ethereum_json_rpc_http_endpoint": scalar("blockchain.rpc_endpoint",
		setStr(func(u *userConfig) **string { return &u.blockchain().RPCEndpoint })),
	"ethereum_json_rpc_ws_endpoint": scalar("blockchain.ws_endpoint",
		setStr(func(u *userConfig) **string { return &u.blockchain().WSEndpoint })),
	"registry_address_key": scalar("blockchain.registry_address",
		setStr(func(u *userConfig) **string { return &u.blockchain().RegistryAddress })),
	"blockchain_provider_api_key": scalar("blockchain.api_key",
		setStr(func(u *userConfig) **string { return &u.blockchain().APIKey })),
	"chain_id": scalar("blockchain.chain_id", func(d *jdecoder, _ string, n *jnode) error {
		i, err := n.asInt()
		if err != nil {
			return err
		}
		v := int64(i)
		d.u.blockchain().ChainID = &v
		return nil
	}),
	"chain": {path: "blockchain", kind: kObject, sub: map[string]jsonKey{
		"poll_interval": scalar("blockchain.poll_interval",
			setDuration(func(u *userConfig) **string { return &u.blockchain().PollInterval })),
	}},

	"daemon_endpoint":   scalar("listen", setStr(func(u *userConfig) **string { return &u.Listen })),
	"daemon_group_name": scalar("group", setStr(func(u *userConfig) **string { return &u.Group })),
	"daemon_type":       scalar("daemon_type", setStr(func(u *userConfig) **string { return &u.DaemonType })),
	"organization_id":   scalar("organization_id", setStr(func(u *userConfig) **string { return &u.OrganizationID })),
	"service_id":        scalar("service_id", setStr(func(u *userConfig) **string { return &u.ServiceID })),
	"max_message_size_in_mb": scalar("max_message_size_mb",
		setInt(func(u *userConfig) **int { return &u.MaxMessageSizeMB })),
	"enable_dynamic_pricing": scalar("dynamic_pricing",
		setBool(func(u *userConfig) **bool { return &u.DynamicPricing })),

	"service_endpoint": scalar("backend.endpoint",
		setStr(func(u *userConfig) **string { return &u.backend().Endpoint })),
	"passthrough_enabled": scalar("backend.passthrough",
		setBool(func(u *userConfig) **bool { return &u.backend().Passthrough })),
	"service_timeout": scalar("backend.timeout",
		setDuration(func(u *userConfig) **string { return &u.backend().Timeout })),
	"executable_path": scalar("backend.executable_path",
		setStr(func(u *userConfig) **string { return &u.backend().ExecutablePath })),
	"service_credentials": list("backend.credential", setCredentials),

	"ipfs_endpoint": scalar("metadata.ipfs_endpoint",
		setStr(func(u *userConfig) **string { return &u.metadata().IPFSEndpoint })),
	"lighthouse_endpoint": scalar("metadata.lighthouse_endpoint",
		setStr(func(u *userConfig) **string { return &u.metadata().LighthouseEndpoint })),
	"ipfs_timeout": scalar("metadata.ipfs_timeout",
		setDuration(func(u *userConfig) **string { return &u.metadata().IPFSTimeout })),
	"metadata": {path: "metadata", kind: kObject, sub: map[string]jsonKey{
		"org_file": scalar("metadata.org_file",
			setStr(func(u *userConfig) **string { return &u.metadata().OrgFile })),
		"service_file": scalar("metadata.service_file",
			setStr(func(u *userConfig) **string { return &u.metadata().ServiceFile })),
	}},

	"ssl_cert": scalar("tls.cert_file", setStr(func(u *userConfig) **string { return &u.tls().CertFile })),
	"ssl_key":  scalar("tls.key_file", setStr(func(u *userConfig) **string { return &u.tls().KeyFile })),
	"auto_ssl_domain": scalar("tls.auto_domain",
		setStr(func(u *userConfig) **string { return &u.tls().AutoDomain })),
	"auto_ssl_cache_dir": scalar("tls.auto_cache_dir",
		setStr(func(u *userConfig) **string { return &u.tls().AutoCacheDir })),

	"payment_channel_storage_type": scalar("storage.type",
		setStr(func(u *userConfig) **string { return &u.storage().Type })),
	"payment_channel_storage_client": {path: "storage.etcd", kind: kObject, sub: map[string]jsonKey{
		"connection_timeout": scalar("storage.etcd.connection_timeout",
			setDuration(func(u *userConfig) **string { return &u.etcd().ConnectionTimeout })),
		"request_timeout": scalar("storage.etcd.request_timeout",
			setDuration(func(u *userConfig) **string { return &u.etcd().RequestTimeout })),
		"endpoints": list("storage.etcd.endpoints",
			setStrs(func(u *userConfig) **[]string { return &u.etcd().Endpoints })),
		"hot_reload": scalar("storage.etcd.hot_reload",
			setBool(func(u *userConfig) **bool { return &u.etcd().HotReload })),
	}},
	"payment_channel_storage_server": {path: "storage.embedded", kind: kObject,
		// The key's presence starts the embedded server.
		set: func(d *jdecoder, _ string, _ *jnode) error { d.u.embedded(); return nil },
		sub: map[string]jsonKey{
			"id": scalar("storage.embedded.id", setStr(func(u *userConfig) **string { return &u.embedded().ID })),
			"scheme": scalar("storage.embedded.scheme",
				setStr(func(u *userConfig) **string { return &u.embedded().Scheme })),
			"host": scalar("storage.embedded.host", setStr(func(u *userConfig) **string { return &u.embedded().Host })),
			"client_port": scalar("storage.embedded.client_port",
				setInt(func(u *userConfig) **int { return &u.embedded().ClientPort })),
			"peer_port": scalar("storage.embedded.peer_port",
				setInt(func(u *userConfig) **int { return &u.embedded().PeerPort })),
			"token": scalar("storage.embedded.token",
				setStr(func(u *userConfig) **string { return &u.embedded().Token })),
			"cluster": scalar("storage.embedded.cluster",
				setStr(func(u *userConfig) **string { return &u.embedded().Cluster })),
			"startup_timeout": scalar("storage.embedded.startup_timeout",
				setDuration(func(u *userConfig) **string { return &u.embedded().StartupTimeout })),
			"data_dir": scalar("storage.embedded.data_dir",
				setStr(func(u *userConfig) **string { return &u.embedded().DataDir })),
			"log_level": scalar("storage.embedded.log_level",
				setStr(func(u *userConfig) **string { return &u.embedded().LogLevel })),
			"log_outputs": list("storage.embedded.log_outputs",
				setStrs(func(u *userConfig) **[]string { return &u.embedded().LogOutputs })),
			"enabled": scalar("storage.embedded.enabled",
				setBool(func(u *userConfig) **bool { return &u.embedded().Enabled })),
		}},
	"payment_channel_cert_path": scalar("storage.etcd.cert_file",
		setStr(func(u *userConfig) **string { return &u.etcd().CertFile })),
	"payment_channel_key_path": scalar("storage.etcd.key_file",
		setStr(func(u *userConfig) **string { return &u.etcd().KeyFile })),
	"payment_channel_ca_path": scalar("storage.etcd.ca_file",
		setStr(func(u *userConfig) **string { return &u.etcd().CAFile })),

	"allowed_user_flag": scalar("access.allowed_users_only",
		setBool(func(u *userConfig) **bool { return &u.access().AllowedUsersOnly })),
	"allowed_user_addresses": list("access.allowed_users",
		setStrs(func(u *userConfig) **[]string { return &u.access().AllowedUsers })),
	"authentication_addresses": list("access.authentication_addresses",
		setStrs(func(u *userConfig) **[]string { return &u.access().AuthenticationAddresses })),

	"private_key_for_free_calls": scalar("free_calls.signer_private_key",
		setStr(func(u *userConfig) **string { return &u.freeCalls().SignerPrivateKey })),
	"trusted_free_call_signers": list("free_calls.trusted_signers",
		setStrs(func(u *userConfig) **[]string { return &u.freeCalls().TrustedSigners })),
	"min_balance_for_free_call": scalar("free_calls.min_balance",
		setStr(func(u *userConfig) **string { return &u.freeCalls().MinBalance })),
	"free_calls_per_address": {path: "free_calls.per_address", kind: kObject, set: setFreeCallsPerAddress},

	"token_expiry_in_minutes": scalar("tokens.expiry", func(d *jdecoder, _ string, n *jnode) error {
		m, err := n.asInt()
		if err != nil {
			return err
		}
		s := fmt.Sprintf("%dm", m)
		d.u.tokens().Expiry = &s
		return nil
	}),
	"token_secret_key": scalar("tokens.secret_key",
		setStr(func(u *userConfig) **string { return &u.tokens().SecretKey })),

	"rate_limit_per_minute": scalar("rate_limit.per_minute", func(d *jdecoder, _ string, n *jnode) error {
		f, err := n.asFloat()
		if err != nil {
			return err
		}
		d.u.rateLimit().PerMinute = &f
		return nil
	}),
	"burst_size": scalar("rate_limit.burst", setInt(func(u *userConfig) **int { return &u.rateLimit().Burst })),

	"metering_enabled": scalar("metering.enabled",
		setBool(func(u *userConfig) **bool { return &u.metering().Enabled })),
	"metering_endpoint": scalar("metering.endpoint",
		setStr(func(u *userConfig) **string { return &u.metering().Endpoint })),
	"private_key_for_metering": scalar("metering.private_key",
		setStr(func(u *userConfig) **string { return &u.metering().PrivateKey })),

	"alerts_email": scalar("alerts.email", setStr(func(u *userConfig) **string { return &u.alerts().Email })),
	"notification_endpoint": scalar("alerts.notification_endpoint",
		setStr(func(u *userConfig) **string { return &u.alerts().NotificationEndpoint })),

	"service_heartbeat_type": scalar("heartbeat.type",
		setStr(func(u *userConfig) **string { return &u.heartbeat().Type })),
	"heartbeat_endpoint": scalar("heartbeat.endpoint",
		setStr(func(u *userConfig) **string { return &u.heartbeat().Endpoint })),

	"model_training_enabled": scalar("training.enabled",
		setBool(func(u *userConfig) **bool { return &u.training().Enabled })),
	"model_maintenance_endpoint": scalar("training.maintenance_endpoint",
		setStr(func(u *userConfig) **string { return &u.training().MaintenanceEndpoint })),

	"log": {path: "log", kind: kObject, set: setLog},

	"experimental": {path: "experimental", kind: kObject, sub: map[string]jsonKey{
		"split_grpc_web": scalar("experimental.split_grpc_web",
			setBool(func(u *userConfig) **bool { return &u.experimental().SplitGRPCWeb })),
		"use_original_cmux": scalar("experimental.use_original_cmux",
			setBool(func(u *userConfig) **bool { return &u.experimental().UseOriginalCmux })),
		"traffic_split": {path: "experimental.traffic_split", kind: kObject, sub: map[string]jsonKey{
			"grpc": scalar("experimental.traffic_split.grpc",
				setInt(func(u *userConfig) **int { return &u.trafficSplit().GRPC })),
			"http": scalar("experimental.traffic_split.http",
				setInt(func(u *userConfig) **int { return &u.trafficSplit().HTTP })),
		}},
	}},
}

// The "log" object has keys named by its own "hooks" list, so it is walked
// by hand.
var logKeys = map[string]jsonKey{
	"level":    scalar("log.level", setStr(func(u *userConfig) **string { return &u.log().Level })),
	"timezone": scalar("log.timezone", setStr(func(u *userConfig) **string { return &u.log().Timezone })),
	"formatter": scalar("log.format", func(d *jdecoder, key string, n *jnode) error {
		if n.kind == jobject { // {"type": ..., "timestamp_format": ...}
			d.object(n, formatterKeys, key, nil)
			return nil
		}
		return setStr(func(u *userConfig) **string { return &u.log().Format })(d, key, n)
	}),
	"output": {path: "log.file", kind: kObject, sub: map[string]jsonKey{
		"type": list("log.outputs", setStrs(func(u *userConfig) **[]string { return &u.log().Outputs })),
		"file_pattern": scalar("log.file.pattern",
			setStr(func(u *userConfig) **string { return &u.logFile().Pattern })),
		"current_link": scalar("log.file.current_link",
			setStr(func(u *userConfig) **string { return &u.logFile().CurrentLink })),
		"max_size_in_mb": scalar("log.file.max_size_mb",
			setInt(func(u *userConfig) **int { return &u.logFile().MaxSizeMB })),
		"max_age_in_days": scalar("log.file.max_age_days",
			setInt(func(u *userConfig) **int { return &u.logFile().MaxAgeDays })),
		"rotation_count": scalar("log.file.rotation_count",
			setInt(func(u *userConfig) **int { return &u.logFile().RotationCount })),
	}},
}

var formatterKeys = map[string]jsonKey{
	"type": scalar("log.format", setStr(func(u *userConfig) **string { return &u.log().Format })),
	"timestamp_format": scalar("log.timestamp_format",
		setStr(func(u *userConfig) **string { return &u.log().TimestampFormat })),
}

func setLog(d *jdecoder, key string, n *jnode) error {
	d.u.log()
	var hookNames []string
	hookSections := map[string]*jnode{}
	hookOrigins := map[string]Origin{}
	var hooksOrigin Origin
	rest := &jnode{kind: jobject, off: n.off}
	for _, m := range n.members {
		name := strings.ToLower(m.key)
		if name == "hooks" {
			if m.val.kind == jnull {
				continue
			}
			names, err := m.val.asStrings()
			if err != nil {
				d.fail(d.origin(joinKey(key, m.key), m.off), ErrSyntax, err)
				continue
			}
			hookNames = names
			hooksOrigin = d.origin(joinKey(key, m.key), m.off)
			d.record("log.hook", hooksOrigin)
			continue
		}
		if _, known := logKeys[name]; known {
			rest.members = append(rest.members, m)
			continue
		}
		hookSections[name] = m.val
		hookOrigins[name] = d.origin(joinKey(key, m.key), m.off)
	}
	d.object(rest, logKeys, key, nil)
	if hookNames != nil {
		hooks := make([]logHookBlock, 0, len(hookNames))
		for _, name := range hookNames {
			sec, ok := hookSections[strings.ToLower(name)]
			if !ok {
				d.fail(hooksOrigin, ErrInvalid,
					fmt.Errorf("hook %q has no %s.%s section", name, key, name))
				continue
			}
			delete(hookSections, strings.ToLower(name))
			h, err := hookFromJSON(name, sec)
			if err != nil {
				d.fail(hookOrigins[strings.ToLower(name)], ErrSyntax, err)
				continue
			}
			hooks = append(hooks, h)
		}
		d.u.log().Hooks = hooks
	}
	names := make([]string, 0, len(hookSections))
	for name := range hookSections {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		d.warn(hookOrigins[name], "unknown key ignored (not a hook named in %s.hooks)", key)
	}
	return nil
}

func hookFromJSON(name string, n *jnode) (logHookBlock, error) {
	h := logHookBlock{Name: name}
	if n.kind != jobject {
		return h, fmt.Errorf("hook %q: want an object, got %s", name, n.kind)
	}
	settings := map[string]string{}
	for _, m := range n.members {
		switch strings.ToLower(m.key) {
		case "type":
			s, err := m.val.asString()
			if err != nil {
				return h, fmt.Errorf("hook %q type: %w", name, err)
			}
			h.Type = &s
		case "levels":
			l, err := m.val.asStrings()
			if err != nil {
				return h, fmt.Errorf("hook %q levels: %w", name, err)
			}
			h.Levels = &l
		default:
			s, err := m.val.asString()
			if err != nil {
				return h, fmt.Errorf("hook %q %s: %w", name, m.key, err)
			}
			settings[m.key] = s
		}
	}
	h.Settings = &settings
	return h, nil
}

func setFreeCallsPerAddress(d *jdecoder, key string, n *jnode) error {
	m := make(map[string]string, len(n.members))
	for _, mb := range n.members {
		v, err := mb.val.asScalarText()
		if err != nil {
			return fmt.Errorf("%s: want a number or \"unlimited\": %w", mb.key, err)
		}
		m[mb.key] = v
	}
	d.u.freeCalls().PerAddress = &m
	return nil
}

func setCredentials(d *jdecoder, key string, n *jnode) error {
	if n.kind != jarray {
		return fmt.Errorf("want a list of {key, value, location} objects, got %s", n.kind)
	}
	creds := make([]credentialBlock, 0, len(n.elems))
	for i, e := range n.elems {
		if e.kind != jobject {
			return fmt.Errorf("item %d: want an object, got %s", i, e.kind)
		}
		var c credentialBlock
		for _, m := range e.members {
			switch strings.ToLower(m.key) {
			case "key":
				s, err := m.val.asString()
				if err != nil {
					return fmt.Errorf("item %d key: %w", i, err)
				}
				c.Key = &s
			case "location":
				s, err := m.val.asString()
				if err != nil {
					return fmt.Errorf("item %d location: %w", i, err)
				}
				c.Location = &s
			case "value":
				c.Value = ctyFromJSON(m.val)
			default:
				d.warn(d.origin(fmt.Sprintf("%s[%d].%s", key, i, m.key), m.off), "unknown key ignored")
			}
		}
		creds = append(creds, c)
	}
	d.u.backend().Credentials = creds
	return nil
}

// ctyFromJSON converts a JSON value to the cty value HCL would produce for
// the same literal, so both formats build the same Credential.
func ctyFromJSON(n *jnode) cty.Value {
	switch n.kind {
	case jstring:
		return cty.StringVal(n.text)
	case jnumber:
		v, err := cty.ParseNumberVal(n.text)
		if err != nil {
			return cty.StringVal(n.text)
		}
		return v
	case jbool:
		return cty.BoolVal(n.boolean)
	case jobject:
		if len(n.members) == 0 {
			return cty.EmptyObjectVal
		}
		m := make(map[string]cty.Value, len(n.members))
		for _, mb := range n.members {
			m[mb.key] = ctyFromJSON(mb.val)
		}
		return cty.ObjectVal(m)
	case jarray:
		if len(n.elems) == 0 {
			return cty.EmptyTupleVal
		}
		a := make([]cty.Value, len(n.elems))
		for i, e := range n.elems {
			a[i] = ctyFromJSON(e)
		}
		return cty.TupleVal(a)
	}
	return cty.NullVal(cty.DynamicPseudoType)
}

// decodeJSON reads a snet-daemon JSON configuration.
func decodeJSON(name string, src []byte) (*userConfig, []Warning, Errors) {
	root, err := parseJSON(src)
	if err != nil {
		var off int64
		if se, ok := err.(*jsonSyntaxError); ok {
			off = se.off
		}
		line, col := lineCol(src, off)
		return nil, nil, Errors{{Origin: Origin{Source: name, Line: line, Column: col},
			Err: fmt.Errorf("%w: %w", ErrSyntax, err)}}
	}
	d := &jdecoder{u: &userConfig{}, origin: func(key string, off int64) Origin {
		line, col := lineCol(src, off)
		return Origin{Source: name, Line: line, Column: col, Key: key}
	}}
	d.object(root, snetdKeys, "", deprecatedKeys)
	return d.u, d.warnings, d.errs
}
