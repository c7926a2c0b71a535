// Package pricing decides what a call costs: the fixed and per-method prices
// of service metadata, and (later) plugin-backed prices and free-call rules.
// It never talks to etcd or the chain.
package pricing
