# A local devnet: any chain id, offline metadata, embedded etcd.
organization_id = "example-org"
service_id      = "calculator"
listen          = "127.0.0.1:7000"

backend {
  type         = "grpc"
  endpoint     = "http://127.0.0.1:7003"
  commit_first = true # store each payment before forwarding its call
}

blockchain {
  chain_id     = 1337
  rpc_endpoint = "http://127.0.0.1:8545"
}

metadata {
  org_file     = "files/org.json"
  service_file = "files/service.json"
}

storage {
  embedded {
    data_dir    = "data"
    client_port = 22379
    peer_port   = 22380
  }
}

tokens {
  secret_key = "devnet-secret-devnet-secret-devnet-secret"
}
