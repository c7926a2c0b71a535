listen          = "localhost:7000"
organization_id = "example-org"
service_id      = "calculator"

backend {
  endpoint = "127.0.0.1:7000"
  timeout  = "soon"
  type     = "websocket"
}

blockchain {
  network  = "sepolia"
  chain_id = 1
}

metadata {
  ipfs_timeout = "0s"
}

storage {
  etcd {
    endpoints = ["etcd:2379"]
    cert_file = "client.pem"
  }
}
