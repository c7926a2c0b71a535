// Package config loads tariffd's configuration: snet-daemon's JSON file
// (snetd.config.json, unchanged) or tariff's HCL file, into one typed,
// immutable Config.
//
// # Design
//
// Loading has three stages, as in Consul's agent/config:
//
//  1. Sources. Each file is decoded into a user-level struct shaped like the
//     HCL format, where every setting is a pointer (nil: not set). HCL is
//     decoded with gohcl; snet-daemon's JSON keys are translated into the
//     same struct by a key table (snetd.go), deprecated keys through
//     deprecated.go. SNET_<KEY> environment variables are read with the
//     same table. Relative file paths (metadata files, data_dir, certificate
//     and key files, auto_ssl_cache_dir, plugin files) are resolved against
//     the directory of the file that names them, and made absolute.
//  2. Merge, in this order: files in the order given, each overriding the
//     settings it sets (blocks merge field by field; lists and maps are
//     replaced whole; plugin blocks merge by name, a later block replacing
//     an earlier one of the same name whole), then the environment.
//  3. Build: defaults for everything still unset (snet-daemon's, so that a
//     snetd file means the same thing), then validation, which collects
//     every error instead of stopping at the first, and produces the
//     runtime Config. Config is passed by value and never changed; a reload
//     builds a new one.
//
// Errors say where the offending value was written (file:line:col and the
// key as spelled there). Deprecated keys, unknown JSON keys and ignored or
// risky settings are Warnings, returned apart from errors: snet-daemon
// tolerates them, so refusing them would break drop-in use.
//
// # Formats
//
// The HCL format, every setting shown (see Config for the snet-daemon JSON
// key of each):
//
//	listen              = "0.0.0.0:7000"       # daemon_endpoint
//	organization_id     = "my-org"
//	service_id          = "my-service"
//	group               = "default_group"      # daemon_group_name
//	daemon_type         = "grpc"
//	max_message_size_mb = 4
//	dynamic_pricing     = false
//
//	backend {
//	  type            = "grpc"                 # overrides metadata service_type
//	  endpoint        = "http://127.0.0.1:7003"
//	  timeout         = "100s"
//	  passthrough     = true
//	  executable_path = ""
//	  credential {                             # repeatable
//	    key      = "X-Api-Key"
//	    value    = "..."
//	    location = "header"
//	  }
//	}
//
//	blockchain {
//	  enabled          = true
//	  network          = "sepolia"             # or chain_id = 31337 for any chain
//	  chain_id         = 11155111
//	  rpc_endpoint     = "https://sepolia.infura.io/v3/KEY"
//	  ws_endpoint      = "wss://sepolia.infura.io/ws/v3/KEY"
//	  registry_address = "0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D"
//	  api_key          = ""
//	  poll_interval    = "5s"
//	}
//
//	metadata {
//	  ipfs_endpoint       = "http://127.0.0.1:5001"
//	  lighthouse_endpoint = "https://gateway.lighthouse.storage/ipfs/"
//	  ipfs_timeout        = "30s"
//	  org_file            = "org.json"         # offline: no Registry, no IPFS
//	  service_file        = "service.json"
//	}
//
//	storage {
//	  type = "etcd"                            # or "memory"
//	  embedded {                               # start etcd in-process
//	    enabled         = true
//	    data_dir        = "./tariff-data"
//	    id              = "storage-1"
//	    scheme          = "http"
//	    host            = "127.0.0.1"
//	    client_port     = 2379
//	    peer_port       = 2380
//	    token           = "unique-token"
//	    cluster         = "storage-1=http://127.0.0.1:2380"
//	    startup_timeout = "1m"
//	    log_level       = "info"
//	    log_outputs     = ["./etcd-server.log"]
//	  }
//	  etcd {                                   # overrides org metadata
//	    endpoints          = ["https://etcd:2379"]
//	    connection_timeout = "5s"
//	    request_timeout    = "3s"
//	    hot_reload         = false
//	    cert_file          = "client.pem"
//	    key_file           = "client-key.pem"
//	    ca_file            = "ca.pem"
//	  }
//	}
//
//	tls {
//	  cert_file      = "cert.pem"
//	  key_file       = "key.pem"
//	  auto_domain    = ""
//	  auto_cache_dir = ".certs"
//	}
//
//	free_calls {
//	  signer_private_key = ""
//	  trusted_signers    = ["0x7DF35C98f41F3Af0df1dc4c7F7D4C19a71Dd059F"]
//	  min_balance        = "10"
//	  per_address        = { "0x90F79bf6EB2c4f870365E785982E1f101E93b906" = 500 }
//	}
//
//	tokens {
//	  secret_key = "at least 32 bytes of secret........"
//	  expiry     = "24h"
//	}
//
//	rate_limit {
//	  per_minute = 600
//	  burst      = 20
//	}
//
//	access {
//	  allowed_users_only       = false
//	  allowed_users            = []
//	  authentication_addresses = []
//	}
//
//	metering {
//	  enabled     = false
//	  endpoint    = ""
//	  private_key = ""
//	}
//
//	alerts {
//	  email                 = ""
//	  notification_endpoint = ""
//	}
//
//	heartbeat {
//	  type     = "grpc"
//	  endpoint = "127.0.0.1:7003"
//	}
//
//	training {
//	  enabled              = false
//	  maintenance_endpoint = ""
//	}
//
//	log {
//	  level            = "info"
//	  format           = "json"
//	  timezone         = "UTC"
//	  timestamp_format = "2006-01-02T15:04:05.999Z07:00"
//	  outputs          = ["stdout"]
//	  file {
//	    pattern        = "./tariffd.%Y%m%d.log"
//	    current_link   = "./tariffd.log"
//	    max_size_mb    = 10
//	    max_age_days   = 7
//	    rotation_count = 0
//	  }
//	  hook "mail" {                            # snetd log hooks, kept only
//	    type     = "email"
//	    levels   = ["error"]
//	    settings = { host = "smtp.example.org" }
//	  }
//	}
//
//	experimental {
//	  split_grpc_web    = false
//	  use_original_cmux = false
//	  traffic_split {
//	    grpc = 7001
//	    http = 7002
//	  }
//	}
//
// Plugin blocks, repeatable, HCL only (a snet-daemon JSON file has none; an
// operator keeps it unchanged and adds an HCL file holding only plugin
// blocks: --config snetd.config.json --config plugins.hcl):
//
//	plugin "tiered" {
//	  kind     = "pricing"                     # or free_call, transform
//	  path     = "plugins/tiered.wasm"         # relative to this file
//	  sha256   = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//	  methods  = ["/example_service.Calculator/*"]
//	  on_error = "deny"                        # or fallback
//	  limits {
//	    memory_mib = 16
//	    timeout    = "20ms"
//	    instances  = 4
//	  }
//	  config = { multiplier = 2 }              # any value; the plugin reads it as JSON
//	}
//
// Loading checks that each plugin file exists and matches its sha256; the
// plugins package verifies the module itself when the host loads it
// (tariffd config check does both). Every setting, with its snet-daemon JSON
// key, type, default and an example, is listed in REFERENCE.md.
//
// In JSON, every snet-daemon configuration key is accepted, with its aliases,
// plus tariff's additions: "chain_id", "chain": {"poll_interval"}, and
// "metadata": {"org_file", "service_file"}. Values snet-daemon accepts as
// strings ("4", "true") are accepted too.
//
// Migrate writes the settings a file sets as HCL (tariffd config migrate),
// and checks that the result loads to the same Config.
//
// # Networks
//
// The built-in table (Networks) names local (42), main (1), goerli (5) and
// sepolia (11155111, the default) with their Registry addresses. Public
// networks have no default RPC endpoint, since theirs need an API key: with
// the blockchain enabled, an endpoint must be configured. Any other chain
// works with chain_id, an RPC endpoint and a Registry address (or offline
// metadata files).
package config
