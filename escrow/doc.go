// Package escrow implements the Multi-Party Escrow (MPE) payment rules of
// SingularityNET: the signed message layouts, the channel state kept in
// etcd (keys and gob values identical to snet-daemon's), the chain reader
// with its cache, the per-call validation and commit, and the daemon-owned
// gRPC services that clients and providers call.
//
// The hot path is Authorize followed by Commit-or-Rollback: no chain RPC in
// steady state and exactly one durable etcd compare-and-swap per paid call.
package escrow
