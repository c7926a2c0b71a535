package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tariffd/tariff/host/config"
)

func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "config-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "snetd.config.json")
	_ = os.WriteFile(path, []byte(`{
		"daemon_end_point": "0.0.0.0:7000",
		"ethereum_json_rpc_http_endpoint": "http://127.0.0.1:8545",
		"organization_id": "example-org",
		"service_id": "calculator",
		"service_endpoint": "http://127.0.0.1:7003",
		"token_secret_key": "a-prepaid-token-secret-of-at-least-32-bytes"
	}`), 0o600)

	// In production, pass os.LookupEnv.
	env := map[string]string{"SNET_DAEMON_GROUP_NAME": "premium"}
	cfg, warnings, err := config.Load([]string{path}, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Listen, cfg.Group, cfg.Blockchain.Network, cfg.Blockchain.ChainID)
	fmt.Println(cfg.Blockchain.RegistryAddress.Hex())
	for _, w := range warnings {
		fmt.Println("warning:", w.Origin.Key, w.Message)
	}
	// Output:
	// 0.0.0.0:7000 premium sepolia 11155111
	// 0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D
	// warning: daemon_end_point deprecated key: use daemon_endpoint
}

func ExampleErrors() {
	dir, _ := os.MkdirTemp("", "config-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tariff.hcl")
	_ = os.WriteFile(path, []byte(`
listen = "0.0.0.0:7000"
max_message_size_mb = 4096

backend {
  endpoint = "localhost:7000"
}
`), 0o600)

	_, _, err := config.Load([]string{path}, nil)
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Printf("line %d: %s: %v\n", e.Origin.Line, e.Origin.Key, errors.Is(e, config.ErrInvalid))
		}
	}
	// Output:
	// line 3: max_message_size_mb: true
	// line 6: backend.endpoint: true
	// line 0: blockchain.rpc_endpoint (ethereum_json_rpc_http_endpoint): true
}

// An unchanged snet-daemon file, and an HCL file that holds only plugin
// blocks, loaded after it.
func ExampleLoad_plugins() {
	dir, _ := os.MkdirTemp("", "config-example")
	defer os.RemoveAll(dir)
	snetd := filepath.Join(dir, "snetd.config.json")
	_ = os.WriteFile(snetd, []byte(`{
		"daemon_endpoint": "0.0.0.0:7000",
		"ethereum_json_rpc_http_endpoint": "http://127.0.0.1:8545",
		"organization_id": "example-org",
		"service_id": "calculator",
		"token_secret_key": "a-prepaid-token-secret-of-at-least-32-bytes"
	}`), 0o600)
	_ = os.MkdirAll(filepath.Join(dir, "plugins"), 0o700)
	_ = os.WriteFile(filepath.Join(dir, "plugins", "tiered.wasm"), []byte("test"), 0o600)
	plugins := filepath.Join(dir, "plugins.hcl")
	_ = os.WriteFile(plugins, []byte(`
plugin "tiered" {
  kind    = "pricing"
  path    = "plugins/tiered.wasm"
  sha256  = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
  methods = ["/example_service.Calculator/*"]
  limits { memory_mib = 16 }
  config = { multiplier = 2 }
}
`), 0o600)

	cfg, _, err := config.Load([]string{snetd, plugins}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range cfg.Plugins {
		fmt.Println(p.Name, p.Kind, filepath.Base(p.Path), p.OnError, p.Limits.MemoryMiB, p.Limits.Timeout, p.Limits.Instances)
		fmt.Println(string(p.Config))
		fmt.Println(p.Matches("/example_service.Calculator/add"), p.Matches("/other.Service/add"))
	}
	// Output:
	// tiered pricing tiered.wasm deny 16 20ms 4
	// {"multiplier":2}
	// true false
}

func ExampleMigrate() {
	dir, _ := os.MkdirTemp("", "config-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "snetd.config.json")
	_ = os.WriteFile(path, []byte(`{
		"daemon_end_point": "0.0.0.0:7000",
		"ethereum_json_rpc_http_endpoint": "http://127.0.0.1:8545",
		"ipfs_timeout": 45,
		"token_secret_key": "a-prepaid-token-secret-of-at-least-32-bytes",
		"payment_channel_storage_server": {"data_dir": "etcd-data"}
	}`), 0o600)

	hcl, warnings, err := config.Migrate(path, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(hcl))
	for _, w := range warnings {
		fmt.Println("warning:", w.Origin.Key, w.Message)
	}
	// Output:
	// # Migrated from snetd.config.json by tariffd config migrate: the settings it sets, in
	// # tariff's format. Everything else keeps its default (see tariffd's configuration reference).
	//
	// listen = "0.0.0.0:7000"
	//
	// blockchain {
	//   rpc_endpoint = "http://127.0.0.1:8545"
	// }
	//
	// metadata {
	//   ipfs_timeout = "45s"
	// }
	//
	// storage {
	//   embedded {
	//     data_dir = "etcd-data"
	//   }
	// }
	//
	// tokens {
	//   secret_key = "a-prepaid-token-secret-of-at-least-32-bytes"
	// }
	// warning: daemon_end_point deprecated key: use daemon_endpoint
}
