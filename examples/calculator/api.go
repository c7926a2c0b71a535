package calculator

import _ "embed" // for the API below

// API is the service's .proto, as a provider publishes it (service metadata
// service_api_source, a tar of .proto files on IPFS).
//
//go:embed example_service.proto
var API []byte
