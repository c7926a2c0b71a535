listen = "127.0.0.1:7000"

backend {
  endpoint = "http://127.0.0.1:7003
}
