listen          = "0.0.0.0:7000"
organization_id = "example-org"
service_id      = "calculator"

backend {
  endpoint = "127.0.0.1:7003"
}

blockchain {
  network      = "sepolia"
  rpc_endpoint = "https://sepolia.infura.io/v3/0123456789abcdef0123456789abcdef"
}

storage {
  embedded {
    data_dir = "./tariff-data"
  }
}

log {
  level   = "info"
  format  = "json"
  outputs = ["stdout"]
}
