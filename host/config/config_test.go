package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden loads every testdata/*.json and *.hcl on its own and compares
// the result (the Config and warnings, or the errors) with <input>.golden.
// Run with -update to regenerate after an intended change.
func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.json")
	hcls, _ := filepath.Glob("testdata/*.hcl")
	inputs = append(inputs, hcls...)
	sort.Strings(inputs)
	if len(inputs) == 0 {
		t.Fatal("no inputs")
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			cfg, warnings, err := Load([]string{in}, nil)
			got := goldenDump(cfg, warnings, err)
			golden := in + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run go test -update)", rerr)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run go test -update and review the diff):\n%s", in, golden, got)
			}
			// Inputs named err_* must fail, others must load.
			if strings.HasPrefix(filepath.Base(in), "err_") != (err != nil) {
				t.Errorf("error = %v", err)
			}
		})
	}
}

// goldenDump writes the result as indented JSON in field order, with
// durations, addresses and big numbers readable, and secrets shown so that
// their decoding is tested too.
func goldenDump(cfg Config, warnings []Warning, err error) []byte {
	var buf bytes.Buffer
	buf.WriteString("{\n")
	if err != nil {
		buf.WriteString(`  "errors": `)
		var lines []string
		for _, e := range strings.Split(err.Error(), "\n") {
			lines = append(lines, e)
		}
		writeJSON(&buf, reflect.ValueOf(lines), 1)
	} else {
		buf.WriteString(`  "config": `)
		writeJSON(&buf, reflect.ValueOf(cfg), 1)
	}
	buf.WriteString(",\n  \"warnings\": ")
	ws := make([]string, 0, len(warnings))
	for _, w := range warnings {
		ws = append(ws, w.String())
	}
	writeJSON(&buf, reflect.ValueOf(ws), 1)
	buf.WriteString("\n}\n")
	// Paths are absolute; goldens hold them relative to the package.
	out := buf.Bytes()
	if wd, err := os.Getwd(); err == nil {
		out = bytes.ReplaceAll(out, []byte(wd+string(filepath.Separator)), nil)
	}
	return out
}

func writeJSON(buf *bytes.Buffer, v reflect.Value, depth int) {
	indent := strings.Repeat("  ", depth+1)
	closing := strings.Repeat("  ", depth)
	scalar := func(x any) {
		b, _ := json.Marshal(x)
		buf.Write(b)
	}
	if !v.IsValid() {
		buf.WriteString("null")
		return
	}
	switch x := v.Interface().(type) {
	case time.Duration:
		scalar(x.String())
		return
	case common.Address:
		scalar(x.Hex())
		return
	case *big.Int:
		if x == nil {
			buf.WriteString("null")
		} else {
			buf.WriteString(x.String())
		}
		return
	case Secret:
		scalar(x.Reveal())
		return
	case []byte: // plugin config: JSON text
		if x == nil {
			buf.WriteString("null")
		} else {
			scalar(string(x))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		writeJSON(buf, v.Elem(), depth)
	case reflect.Struct:
		buf.WriteString("{")
		for i := 0; i < v.NumField(); i++ {
			if i > 0 {
				buf.WriteString(",")
			}
			fmt.Fprintf(buf, "\n%s%q: ", indent, v.Type().Field(i).Name)
			writeJSON(buf, v.Field(i), depth+1)
		}
		buf.WriteString("\n" + closing + "}")
	case reflect.Slice:
		if v.Len() == 0 {
			if v.IsNil() {
				buf.WriteString("null")
			} else {
				buf.WriteString("[]")
			}
			return
		}
		buf.WriteString("[")
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				buf.WriteString(",")
			}
			buf.WriteString("\n" + indent)
			writeJSON(buf, v.Index(i), depth+1)
		}
		buf.WriteString("\n" + closing + "]")
	case reflect.Map:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		keys := v.MapKeys()
		names := make([]string, len(keys))
		byName := map[string]reflect.Value{}
		for i, k := range keys {
			name := fmt.Sprint(k.Interface())
			if a, ok := k.Interface().(common.Address); ok {
				name = a.Hex()
			}
			names[i] = name
			byName[name] = k
		}
		sort.Strings(names)
		buf.WriteString("{")
		for i, name := range names {
			if i > 0 {
				buf.WriteString(",")
			}
			fmt.Fprintf(buf, "\n%s%q: ", indent, name)
			writeJSON(buf, v.MapIndex(byName[name]), depth+1)
		}
		buf.WriteString("\n" + closing + "}")
	default:
		scalar(v.Interface())
	}
}

// TestJSONAndHCLAgree: a full snet-daemon JSON file and the equivalent HCL
// file build the same Config (Consul's full-config test).
func TestJSONAndHCLAgree(t *testing.T) {
	fromJSON, wj, err := Load([]string{"testdata/full.json"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fromHCL, wh, err := Load([]string{"testdata/full.hcl"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON.Files, fromHCL.Files = nil, nil
	if !reflect.DeepEqual(fromJSON, fromHCL) {
		a := goldenDump(fromJSON, nil, nil)
		b := goldenDump(fromHCL, nil, nil)
		t.Fatalf("JSON and HCL configs differ:\n--- json\n%s\n--- hcl\n%s", a, b)
	}
	if len(wj) != len(wh) {
		t.Errorf("warnings differ:\njson %v\nhcl  %v", wj, wh)
	}
	// Every field of the full files differs from its default, so that this
	// test covers the whole key table.
	def, _, _ := Load(nil, nil)
	assertNoDefaults(t, reflect.ValueOf(fromJSON), reflect.ValueOf(def), "Config")
}

// assertNoDefaults fails for every leaf of got equal to the default, other
// than the ones listed (fields whose non-default value the full files
// cannot use together).
func assertNoDefaults(t *testing.T, got, def reflect.Value, path string) {
	t.Helper()
	allowed := map[string]bool{
		"Config.Files": true, "Config.Group": true, "Config.DaemonType": true,
		"Config.Backend.Type": true, "Config.Backend.ExecutablePath": true, "Config.Backend.Passthrough": true,
		"Config.Blockchain.Enabled": true, "Config.Blockchain.TokenAddress": true,
		"Config.TLS.AutoDomain": true, "Config.Storage.Type": true, "Config.Log.Timezone": true,
		"Config.Experimental.UseOriginalCmux": true,
		"Config.Plugins":                      true, // HCL only: TestGoldenMerge
		"Config.Backend.CommitFirst":          true, // HCL only: offline.hcl
	}
	if allowed[path] {
		return
	}
	if got.Kind() == reflect.Struct && got.Type() != reflect.TypeOf(common.Address{}) {
		for i := 0; i < got.NumField(); i++ {
			assertNoDefaults(t, got.Field(i), def.Field(i), path+"."+got.Type().Field(i).Name)
		}
		return
	}
	if reflect.DeepEqual(got.Interface(), def.Interface()) {
		t.Errorf("%s is the default in the full configuration (%v)", path, got.Interface())
	}
}

func TestTypicalSnetdConfigLoads(t *testing.T) {
	cfg, warnings, err := Load([]string{"testdata/typical.snetd.json"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:7000" || cfg.Blockchain.Network != "sepolia" || cfg.Blockchain.ChainID != 11155111 {
		t.Errorf("config = %+v", cfg)
	}
	if cfg.Blockchain.RegistryAddress != common.HexToAddress("0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D") {
		t.Errorf("registry = %s", cfg.Blockchain.RegistryAddress)
	}
	if cfg.Storage.Embedded == nil || cfg.Storage.Embedded.ClientPort != 2379 ||
		cfg.Storage.Embedded.DataDir != filepath.Join(mustAbs(t, "testdata"), "storage-data-dir-1.etcd") {
		t.Errorf("embedded = %+v", cfg.Storage.Embedded)
	}
	if cfg.Log.Level != "debug" || !reflect.DeepEqual(cfg.Log.Outputs, []string{"stdout"}) {
		t.Errorf("log = %+v", cfg.Log)
	}
	for _, w := range warnings {
		if strings.Contains(w.Message, "unknown key") || strings.Contains(w.Message, "deprecated") {
			t.Errorf("unexpected warning: %s", w)
		}
	}
}

func TestMergeOrder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := write("base.json", `{
		"organization_id": "org", "service_id": "svc",
		"daemon_endpoint": "127.0.0.1:7000",
		"ethereum_json_rpc_http_endpoint": "http://127.0.0.1:8545",
		"payment_channel_storage_client": {"endpoints": ["http://a:2379", "http://b:2379"], "request_timeout": "3s"},
		"log": {"level": "debug"}
	}`)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	override := write("sub/override.hcl", `
		listen = "127.0.0.1:7100"
		storage {
		  etcd { endpoints = ["http://c:2379"] }
		  embedded { data_dir = "etcd-data" }
		}
		metadata { org_file = "org.json" }
	`)
	env := map[string]string{
		"SNET_SERVICE_ID":             "from-env",
		"SNET_BLOCKCHAIN_ENABLED":     "false",
		"SNET_LOG":                    `{"level": "error"}`,
		"SNET_ALLOWED_USER_ADDRESSES": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8, 0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
		"SNET_DAEMON_END_POINT":       "127.0.0.1:7200",
		"UNRELATED":                   "x",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, warnings, err := Load([]string{base, override}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"later file overrides", cfg.Listen, "127.0.0.1:7200"}, // then env (deprecated alias) overrides both
		{"list replaced whole", cfg.Storage.Client.Endpoints, []string{"http://c:2379"}},
		{"block merged field by field", cfg.Storage.Client.RequestTimeout, 3 * time.Second},
		{"env overrides files", cfg.ServiceID, "from-env"},
		{"env bool", cfg.Blockchain.Enabled, false},
		{"env object", cfg.Log.Level, "error"},
		{"env list", len(cfg.Access.AllowedUsers), 2},
		{"path relative to its file", cfg.Metadata.OrgFile, filepath.Join(sub, "org.json")},
		{"data dir relative to its file", cfg.Storage.Embedded.DataDir, filepath.Join(sub, "etcd-data")},
		{"files in order", cfg.Files, []string{base, override}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	var sawAlias bool
	for _, w := range warnings {
		if w.Origin.Key == "SNET_DAEMON_END_POINT" && strings.Contains(w.Message, "deprecated key: use daemon_endpoint") {
			sawAlias = true
		}
	}
	if !sawAlias {
		t.Errorf("no deprecation warning for the env alias: %v", warnings)
	}
}

func TestEnvErrors(t *testing.T) {
	env := map[string]string{
		"SNET_MAX_MESSAGE_SIZE_IN_MB":         "lots",
		"SNET_PAYMENT_CHANNEL_STORAGE_SERVER": `{"client_port": 1`,
	}
	_, _, err := Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	want := []string{
		`env: SNET_MAX_MESSAGE_SIZE_IN_MB: syntax error: want an integer, got "lots"`,
		`env: SNET_PAYMENT_CHANNEL_STORAGE_SERVER: syntax error: unexpected end of JSON input`,
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v\nwant it to contain %s", err, w)
		}
	}
}

// TestErrorLocations checks that errors point at the offending value.
func TestErrorLocations(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"testdata/err_syntax.json", []string{"testdata/err_syntax.json:3:2: syntax error: invalid character '\"' after object key:value pair"}},
		{"testdata/err_syntax.hcl", []string{"testdata/err_syntax.hcl:4:36: syntax error: Unterminated template string; No closing marker was found for the string."}},
		{"testdata/err_schema.hcl", []string{
			`testdata/err_schema.hcl:2:1: syntax error: Unsupported argument; An argument named "lsiten" is not expected here.`,
			`testdata/err_schema.hcl:9:1: syntax error: Duplicate backend block; Only one backend block is allowed. Another was defined at testdata/err_schema.hcl:4,1-8.`,
			`testdata/err_schema.hcl:15:20: syntax error: Unsuitable value type; Unsuitable value: a number is required`,
		}},
		{"testdata/err_types.json", []string{
			`testdata/err_types.json:2:2: blockchain_enabled: syntax error: want true or false, got "maybe"`,
			`testdata/err_types.json:3:2: max_message_size_in_mb: syntax error: want an integer: got array`,
			`testdata/err_types.json:4:2: log: syntax error: want an object, got string`,
			`testdata/err_types.json:6:3: payment_channel_storage_server.client_port: syntax error: want an integer, got "2379.5"`,
			`testdata/err_types.json:7:3: payment_channel_storage_server.log_outputs: syntax error: want a list of strings, got object`,
			`testdata/err_types.json:9:2: service_credentials: syntax error: want a list of {key, value, location} objects, got object`,
		}},
		{"testdata/err_validation.json", []string{
			`testdata/err_validation.json:3:2: service_endpoint: invalid value: "http://localhost:7000" is the daemon's own address (0.0.0.0:7000)`,
			`testdata/err_validation.json:4:2: daemon_type: invalid value: unknown daemon type "grpcweb" (want grpc or http)`,
			`testdata/err_validation.json:8:2: max_message_size_in_mb: invalid value: 4096 MiB is out of range`,
			`testdata/err_validation.json:9:2: ssl_cert: invalid value: TLS needs both a certificate and a key`,
			`testdata/err_validation.json:10:2: allowed_user_flag: invalid value: restricting callers is for test networks and not allowed on main`,
			`access.allowed_users (allowed_user_addresses): invalid value: must list at least one address`,
			`testdata/err_validation.json:11:2: private_key_for_free_calls: invalid value: not a secp256k1 private key in hex`,
			`testdata/err_validation.json:12:2: token_secret_key: invalid value: must be at least 32 bytes long`,
			`testdata/err_validation.json:14:2: metering_endpoint: invalid value: "not a url" is not a URL`,
			`metering.private_key (private_key_for_metering): invalid value: must be set when metering is enabled`,
			`testdata/err_validation.json:15:2: service_heartbeat_type: invalid value: unknown heartbeat type "ping"`,
			`testdata/err_validation.json:16:2: alerts_email: invalid value: "ops at example.org" is not an email address`,
			`testdata/err_validation.json:17:2: payment_channel_storage_server.peer_port: invalid value: must differ from client_port (2380)`,
			`testdata/err_validation.json:18:2: free_calls_per_address: invalid value: "0x123" is not a hex address`,
			`testdata/err_validation.json:18:2: free_calls_per_address: invalid value: 0x90f79bf6eb2c4f870365e785982e1f101e93b906: "lots" is not a number of calls`,
			`testdata/err_validation.json:19:10: log.level: invalid value: unknown level "verbose"`,
			`testdata/err_validation.json:19:41: log.output.type: invalid value: unknown output "syslog"`,
			`blockchain.rpc_endpoint (ethereum_json_rpc_http_endpoint): invalid value: no JSON-RPC endpoint for network "main" and blockchain is enabled`,
		}},
		{"testdata/err_validation.hcl", []string{
			`testdata/err_validation.hcl:6:3: backend.endpoint: invalid value: "127.0.0.1:7000" is the daemon's own address (localhost:7000)`,
			`testdata/err_validation.hcl:7:3: backend.timeout: invalid value: "soon" is not a duration`,
			`testdata/err_validation.hcl:8:3: backend.type: invalid value: unknown backend type "websocket"`,
			`testdata/err_validation.hcl:13:3: blockchain.chain_id: invalid value: chain id 1 is not network "sepolia"'s (11155111)`,
			`testdata/err_validation.hcl:17:3: metadata.ipfs_timeout: invalid value: must be greater than zero`,
			`testdata/err_validation.hcl:22:5: storage.etcd.endpoints: invalid value: "etcd:2379" is not a URL`,
			`testdata/err_validation.hcl:23:5: storage.etcd.cert_file: invalid value: etcd client TLS needs both a certificate and a key`,
		}},
		{"testdata/err_no_rpc.snetd.json", []string{
			`blockchain.rpc_endpoint (ethereum_json_rpc_http_endpoint): invalid value: no JSON-RPC endpoint for network "main" and blockchain is enabled; public networks need a provider URL (with your API key)`,
			`testdata/err_no_rpc.snetd.json:5:2: registry_address_key: invalid value: "0x1234" is not a hex address`,
		}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			_, _, err := Load([]string{tt.file}, nil)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v is not Errors", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing error\n  %s\nin\n%s", w, err)
				}
			}
			if strings.Contains(tt.file, "syntax") || strings.Contains(tt.file, "schema") || strings.Contains(tt.file, "types") {
				if !errors.Is(err, ErrSyntax) {
					t.Errorf("%v is not ErrSyntax", err)
				}
			} else if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v is not ErrInvalid", err)
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	_, _, err := Load([]string{"testdata/missing.json"}, nil)
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "testdata/missing.json: open") {
		t.Errorf("missing file: %v", err)
	}
	_, _, err = Load([]string{"testdata/files/org.json", "config.yaml"}, nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing yaml: %v", err)
	}
	_, _, err = load([]source{{name: "snetd.config.yaml", src: []byte("a: b")}}, nil)
	if !errors.Is(err, ErrFormat) || !strings.HasPrefix(err.Error(), "snetd.config.yaml: unknown configuration format") {
		t.Errorf("yaml: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	env := map[string]string{"SNET_ETHEREUM_JSON_RPC_HTTP_ENDPOINT": "https://rpc.example.org"}
	cfg, _, err := Load(nil, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", cfg.Listen, "127.0.0.1:8080"},
		{"group", cfg.Group, "default_group"},
		{"network", cfg.Blockchain.Network, "sepolia"},
		{"chain id", cfg.Blockchain.ChainID, uint64(11155111)},
		{"service endpoint", cfg.Backend.Endpoint, "http://localhost:5000"},
		{"service timeout", cfg.Backend.Timeout, 100 * time.Second},
		{"commit while forwarding", cfg.Backend.CommitFirst, false},
		{"message size", cfg.MaxMessageSize, 4 << 20},
		{"message size MiB", cfg.MaxMessageSizeMB(), 4},
		{"ipfs", cfg.Metadata.IPFSEndpoint, "https://ipfs.singularitynet.io:443"},
		{"ipfs timeout", cfg.Metadata.IPFSTimeout, 30 * time.Second},
		{"storage", cfg.Storage.Type, StorageEtcd},
		{"no embedded etcd unless configured", cfg.Storage.Embedded, (*EmbeddedEtcd)(nil)},
		{"min balance", cfg.FreeCalls.MinBalance.String(), "10000000000000000000"},
		{"trusted signers", len(cfg.FreeCalls.TrustedSigners), 2},
		{"token expiry", cfg.Tokens.Expiry, 24 * time.Hour},
		{"log outputs", cfg.Log.Outputs, []string{"file", "stdout"}},
		{"auto ssl cache", cfg.TLS.AutoCacheDir, ".certs"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEmbeddedEtcdPresence(t *testing.T) {
	for _, tt := range []struct {
		doc     string
		started bool
	}{
		{`{}`, false},
		{`{"payment_channel_storage_server": {}}`, true},
		{`{"payment_channel_storage_server": {"enabled": true}}`, true},
		{`{"payment_channel_storage_server": {"enabled": false}}`, false},
		{`{"payment_channel_storage_server": {"enabled": "false"}}`, false},
		{`{"payment_channel_storage_server": null}`, false},
	} {
		cfg, _, err := load([]source{{name: "c.json", src: []byte(tt.doc)}},
			func(k string) (string, bool) {
				return "http://127.0.0.1:8545", k == "SNET_ETHEREUM_JSON_RPC_HTTP_ENDPOINT"
			})
		if err != nil {
			t.Fatalf("%s: %v", tt.doc, err)
		}
		if (cfg.Storage.Embedded != nil) != tt.started {
			t.Errorf("%s: embedded = %+v, want started %v", tt.doc, cfg.Storage.Embedded, tt.started)
		}
	}
}

func TestNetworks(t *testing.T) {
	base := `{"ethereum_json_rpc_http_endpoint": "http://127.0.0.1:8545"`
	tests := []struct {
		doc      string
		network  string
		chainID  uint64
		registry string
		wantErr  string
	}{
		{base + `}`, "sepolia", 11155111, "0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D", ""},
		{base + `, "blockchain_network_selected": "main"}`, "main", 1, "0x247DEbEBB766E4fA99667265A158060018D5f4F8", ""},
		{`{"blockchain_network_selected": "local"}`, "local", 42, "0x4E74FefA82E83E0964f0D9f53c68e03f7298a8b2", ""},
		{`{"blockchain_network_selected": "local", "chain_id": 31337}`, "local", 31337, "0x4E74FefA82E83E0964f0D9f53c68e03f7298a8b2", ""},
		{base + `, "chain_id": 1}`, "main", 1, "0x247DEbEBB766E4fA99667265A158060018D5f4F8", ""},
		{base + `, "chain_id": 1337, "registry_address_key": "0x5fbdb2315678afecb367f032d93f642f64180aa3"}`, "chain-1337", 1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", ""},
		{base + `, "blockchain_network_selected": "devnet", "chain_id": 1337, "registry_address_key": "0x5fbdb2315678afecb367f032d93f642f64180aa3"}`, "devnet", 1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", ""},
		{base + `, "chain_id": 1337}`, "", 0, "", `no Registry address for network "chain-1337"`},
		{base + `, "blockchain_network_selected": "goerli"}`, "", 0, "", `no Registry address for network "goerli"`},
		{base + `, "blockchain_network_selected": "kovan"}`, "", 0, "", `unknown network "kovan" (known: local, main, goerli, sepolia)`},
		{base + `, "chain_id": 0}`, "", 0, "", "chain_id: invalid value: must be a positive integer"},
		{`{"blockchain_enabled": false, "metadata": {"org_file": "o.json", "service_file": "s.json"}}`, "sepolia", 11155111, "0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D", ""},
		{`{"blockchain_enabled": false}`, "", 0, "", `metadata is read from the Registry`},
	}
	for _, tt := range tests {
		cfg, _, err := load([]source{{name: "c.json", src: []byte(tt.doc)}}, nil)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.doc, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.doc, err)
			continue
		}
		bc := cfg.Blockchain
		if bc.Network != tt.network || bc.ChainID != tt.chainID || bc.RegistryAddress.Hex() != tt.registry {
			t.Errorf("%s: got %s %d %s", tt.doc, bc.Network, bc.ChainID, bc.RegistryAddress.Hex())
		}
	}
	if n, ok := LookupNetwork("sepolia"); !ok || n.MPE != common.HexToAddress("0x042d31F61c598eADcAc729B845406514521db520") {
		t.Errorf("sepolia = %+v", n)
	}
	if n, ok := NetworkByChainID(1); !ok || n.Name != "main" || n.RPCEndpoint != "" {
		t.Errorf("chain 1 = %+v", n)
	}
	if len(Networks()) != 4 {
		t.Errorf("networks = %v", Networks())
	}
}

func TestSameEndpoint(t *testing.T) {
	tests := []struct {
		listen, service string
		same            bool
	}{
		{"127.0.0.1:7000", "http://127.0.0.1:7000", true},
		{"0.0.0.0:7000", "http://127.0.0.1:7000", true},
		{"0.0.0.0:7000", "localhost:7000", true},
		{"localhost:7000", "http://127.0.0.1:7000", true},
		{"[::]:7000", "http://[::1]:7000", true},
		{":7000", "http://localhost:7000", true},
		{"0.0.0.0:80", "http://localhost", true},
		{"0.0.0.0:7000", "http://127.0.0.1:7001", false},
		{"10.0.0.1:7000", "http://10.0.0.2:7000", false},
		{"127.0.0.1:7000", "http://backend:7000", false},
	}
	for _, tt := range tests {
		b := &builder{u: &userConfig{}}
		b.serviceEndpoint(tt.listen, tt.service)
		if got := len(b.errs) > 0; got != tt.same {
			t.Errorf("listen %s, service %s: same = %v, want %v (%v)", tt.listen, tt.service, got, tt.same, b.errs)
		}
	}
}

func TestSecretRedaction(t *testing.T) {
	s := Secret("hunter2")
	for _, got := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v", s), fmt.Sprintf("%#v", s)} {
		if strings.Contains(got, "hunter2") {
			t.Errorf("secret leaked: %s", got)
		}
	}
	b, _ := json.Marshal(struct{ K Secret }{s})
	if strings.Contains(string(b), "hunter2") {
		t.Errorf("secret leaked in JSON: %s", b)
	}
	if s.Reveal() != "hunter2" || Secret("").String() != "" {
		t.Error("Reveal")
	}
}

// TestDocExample keeps the HCL example of the package documentation valid.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var hcl []string
	in := false
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case strings.HasPrefix(line, "// The HCL format"):
			in = true
		case strings.HasPrefix(line, "// Plugin blocks"):
			in = false
		case in && strings.HasPrefix(line, "//\t"):
			hcl = append(hcl, strings.TrimPrefix(line, "//\t"))
		}
	}
	if len(hcl) < 50 {
		t.Fatalf("doc example not found (%d lines)", len(hcl))
	}
	cfg, _, err := load([]source{{name: "doc.hcl", src: []byte(strings.Join(hcl, "\n"))}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Blockchain.ChainID != 11155111 || cfg.Storage.Embedded == nil || len(cfg.Log.Hooks) != 1 {
		t.Errorf("doc example: %+v", cfg)
	}

	// The plugin example, next to a module whose SHA-256 it pins ("test").
	var plugin []string
	in = false
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case strings.HasPrefix(line, "//\tplugin "):
			in = true
		case in && !strings.HasPrefix(line, "//\t"):
			in = false
		}
		if in {
			plugin = append(plugin, strings.TrimPrefix(line, "//\t"))
		}
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "plugins"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plugins", "tiered.wasm"), []byte("test"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err = load([]source{
		{name: "testdata/typical.snetd.json", src: mustRead(t, "testdata/typical.snetd.json")},
		{name: filepath.Join(dir, "doc.hcl"), src: []byte(strings.Join(plugin, "\n"))},
	}, nil)
	if err != nil {
		t.Fatalf("plugin example:\n%s\n%v", strings.Join(plugin, "\n"), err)
	}
	if len(cfg.Plugins) != 1 || cfg.Plugins[0].Limits.MemoryMiB != 16 || string(cfg.Plugins[0].Config) != `{"multiplier":2}` {
		t.Errorf("plugin example: %+v", cfg.Plugins)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustAbs(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
