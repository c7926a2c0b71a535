// Package host is the tariffd process: configuration, the listener that
// serves the daemon's gRPC services and proxies every other method to the AI
// service, and the call pipeline (read payment, price, verify, commit,
// forward, roll back on backend failure).
package host
