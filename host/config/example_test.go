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
