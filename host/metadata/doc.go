// Package metadata reads SingularityNET organisation and service metadata:
// the JSON documents the Registry contract points to (through IPFS or
// Filecoin), or local files for offline use.
//
// Parsing is lenient and selection is strict, the way snet-daemon behaves:
// ParseOrg and ParseService fail only on what concerns the whole document
// (bad JSON, an unusable mpe_address); each group is checked when it is
// selected with Group, so a malformed group that this daemon does not serve
// never stops it. Unknown fields are ignored.
//
// Derived values are computed once, when parsing: group ids decoded from
// base64 (exactly 32 bytes), checksummed addresses, durations, and the
// pricing.Table of each service group.
//
// Loader ties it together: it asks a Registry (declared here, implemented
// over the chain elsewhere) for the metadata URIs, fetches them with a
// Fetcher, or reads local files, and returns errors that name the
// organisation, service and group involved.
//
// Missing storage endpoints in the selected org group are not an error here:
// the configuration may supply them or use embedded/in-memory storage, and
// only the host knows which; it must check StorageClient.Endpoints when it
// needs them.
package metadata
