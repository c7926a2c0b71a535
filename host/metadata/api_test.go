package metadata_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/host/metadata"
)

func tarOf(t testing.TB, gz bool, files map[string]string) []byte {
	var buf bytes.Buffer
	var w = &buf
	var zw *gzip.Writer
	tw := tar.NewWriter(w)
	if gz {
		zw = gzip.NewWriter(w)
		tw = tar.NewWriter(zw)
	}
	for name, body := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	if zw != nil {
		require.NoError(t, zw.Close())
	}
	return buf.Bytes()
}

const calcProto = `syntax = "proto3";
// service Fake { rpc nope(A) returns (B); }
package example_service;
/* a block comment
   service Hidden { rpc no (A) returns (B); } */
message Numbers { float a = 1; float b = 2; }
service Calculator {
  rpc add(Numbers) returns (Result) {}
  rpc div(Numbers) returns (Result) { option (x.y) = { a: 1 }; }
  rpc sum_stream(stream Numbers) returns (Result);
}
`

func TestAPIMethods(t *testing.T) {
	for _, gz := range []bool{false, true} {
		got, err := metadata.APIMethods(tarOf(t, gz, map[string]string{
			"calc.proto":  calcProto,
			"other.proto": "service Plain { rpc Ping (A) returns (B); }",
			"README.md":   "service Ignored { rpc x (A) returns (B); }",
		}))
		require.NoError(t, err)
		require.Equal(t, []string{
			"/Plain/Ping",
			"/example_service.Calculator/add",
			"/example_service.Calculator/div",
			"/example_service.Calculator/sum_stream",
		}, got)
	}
	_, err := metadata.APIMethods([]byte("not a tar archive, certainly not one"))
	require.ErrorIs(t, err, metadata.ErrAPI)
}

func FuzzAPIMethods(f *testing.F) {
	f.Add(tarOf(f, false, map[string]string{"a.proto": calcProto}))
	f.Add([]byte{0x1f, 0x8b, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = metadata.APIMethods(b) })
}
