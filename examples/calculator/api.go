package calculator

import (
	"archive/tar"
	"bytes"
	_ "embed" // for the API below
)

// API is the service's .proto, as a provider publishes it (service metadata
// service_api_source, a tar of .proto files on IPFS).
//
//go:embed example_service.proto
var API []byte

// APIArchive is API as providers publish it: a tar holding
// example_service.proto.
func APIArchive() []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// Writes to a bytes.Buffer do not fail.
	_ = tw.WriteHeader(&tar.Header{Name: "example_service.proto", Mode: 0o644, Size: int64(len(API)), Typeflag: tar.TypeReg})
	_, _ = tw.Write(API)
	_ = tw.Close()
	return buf.Bytes()
}
