listen = "127.0.0.1:7000"
lsiten = "127.0.0.1:7001"

backend {
  endpoint = "http://127.0.0.1:7003"
  timeout  = ["100s"]
}

backend {
  endpoint = "http://127.0.0.1:7004"
}

storage {
  embedded {
    client_port = "twenty"
  }
}
