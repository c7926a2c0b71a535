# The same configuration as full.json, in tariff's native format.
listen              = "0.0.0.0:7000"
organization_id     = "example-org"
service_id          = "calculator"
group               = "default_group"
daemon_type         = "grpc"
max_message_size_mb = 16
dynamic_pricing     = true

backend {
  endpoint        = "http://127.0.0.1:7003"
  timeout         = "30s"
  passthrough     = true
  executable_path = ""

  credential {
    key      = "X-Api-Key"
    value    = "s3cr3t"
    location = "header"
  }
  credential {
    key      = "options"
    value    = { depth = 3, flags = [true, false], name = "x" }
    location = "body"
  }
}

blockchain {
  enabled          = true
  network          = "local"
  chain_id         = 31337
  rpc_endpoint     = "http://127.0.0.1:8545"
  ws_endpoint      = "ws://127.0.0.1:8545"
  registry_address = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
  api_key          = "provider-key"
  poll_interval    = "1s"
}

metadata {
  ipfs_endpoint       = "http://127.0.0.1:5001"
  lighthouse_endpoint = "http://127.0.0.1:8081/ipfs/"
  ipfs_timeout        = "45s"
  org_file            = "files/org.json"
  service_file        = "files/service.json"
}

storage {
  type = "etcd"

  embedded {
    enabled         = true
    id              = "storage-2"
    scheme          = "http"
    host            = "127.0.0.1"
    client_port     = 12379
    peer_port       = 12380
    token           = "tariff-token"
    cluster         = "storage-2=http://127.0.0.1:12380"
    startup_timeout = "30s"
    data_dir        = "data/etcd"
    log_level       = "warn"
    log_outputs     = ["stderr"]
  }

  etcd {
    endpoints          = ["https://etcd-1.example.org:2379", "https://etcd-2.example.org:2379"]
    connection_timeout = "5s"
    request_timeout    = "3s"
    hot_reload         = true
    cert_file          = "files/client.pem"
    key_file           = "files/client-key.pem"
    ca_file            = "files/ca.pem"
  }
}

tls {
  cert_file      = "files/cert.pem"
  key_file       = "files/key.pem"
  auto_domain    = ""
  auto_cache_dir = "certs-cache"
}

access {
  allowed_users_only       = true
  allowed_users            = ["0x70997970c51812dc3a010c7d01b50e0d17dc79c8"]
  authentication_addresses = ["0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"]
}

free_calls {
  signer_private_key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
  trusted_signers    = ["0x7DF35C98f41F3Af0df1dc4c7F7D4C19a71Dd059F"]
  min_balance        = "2.5"
  per_address = {
    "0x90f79bf6eb2c4f870365e785982e1f101e93b906" = 500
    "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65" = "unlimited"
  }
}

tokens {
  expiry     = "60m"
  secret_key = "a-prepaid-token-secret-of-at-least-32-bytes"
}

rate_limit {
  per_minute = 600
  burst      = 20
}

metering {
  enabled     = true
  endpoint    = "https://metering.example.org"
  private_key = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
}

alerts {
  email                 = "ops@example.org"
  notification_endpoint = "https://notify.example.org/alerts"
}

heartbeat {
  type     = "grpc"
  endpoint = "127.0.0.1:7003"
}

training {
  enabled              = true
  maintenance_endpoint = "127.0.0.1:7004"
}

log {
  level            = "warn"
  timezone         = "UTC"
  format           = "json"
  timestamp_format = "2006-01-02T15:04:05Z07:00"
  outputs          = ["file", "stderr"]

  file {
    pattern        = "./tariffd.%Y%m%d.log"
    current_link   = "./tariffd.log"
    max_size_mb    = 50
    max_age_days   = 14
    rotation_count = 3
  }

  hook "mail" {
    type   = "email"
    levels = ["error"]
    settings = {
      host = "smtp.example.org"
      port = 587
    }
  }
}

experimental {
  split_grpc_web    = true
  use_original_cmux = false

  traffic_split {
    grpc = 7010
    http = 7011
  }
}
