// Package pricing decides what a call costs and whether it is free: the
// fixed and per-method prices of service metadata (Table), and a Policy
// that asks the provider's WebAssembly plugins first (pricing, free_call
// and transform kinds, selected per method) and falls back to those rules.
// It never talks to etcd or the chain.
package pricing
