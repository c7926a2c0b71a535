package metadata_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
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

func TestCompileAPI(t *testing.T) {
	archive := tarOf(t, true, map[string]string{
		"./types/numbers.proto": `syntax = "proto3"; package example_service;
			message Numbers { float a = 1; float b = 2; }
			message Result { float value = 1; }`,
		"calc.proto": `syntax = "proto3"; package example_service;
			import "types/numbers.proto";
			import "google/protobuf/timestamp.proto";
			service Calculator {
				rpc add(Numbers) returns (Result) {}
				rpc when(Numbers) returns (google.protobuf.Timestamp) {}
			}`,
		"other.proto": `syntax = "proto3"; package other;
			message Ping { string text = 1; }
			service Echo { rpc add(Ping) returns (Ping); }`,
	})
	api, err := metadata.CompileAPI(context.Background(), archive)
	require.NoError(t, err)

	for _, tc := range []struct{ call, in, out string }{
		{"/example_service.Calculator/add", "example_service.Numbers", "example_service.Result"},
		{"/other.Echo/add", "other.Ping", "other.Ping"},
		{"/example_service.Calculator/when", "example_service.Numbers", "google.protobuf.Timestamp"},
		// by method name alone, as snet-daemon's HTTP mode: some service that has it
		{"/unknown.Service/when", "example_service.Numbers", "google.protobuf.Timestamp"},
	} {
		m, ok := api.Method(tc.call)
		require.True(t, ok, tc.call)
		require.Equal(t, tc.in, string(m.Input().FullName()), tc.call)
		require.Equal(t, tc.out, string(m.Output().FullName()), tc.call)
	}
	_, ok := api.Method("/example_service.Calculator/nope")
	require.False(t, ok)

	// What cannot be compiled is an error naming the place.
	_, err = metadata.CompileAPI(context.Background(), tarOf(t, false, map[string]string{
		"bad.proto": "syntax = \"proto3\";\nservice S { rpc m(Missing) returns (Missing); }",
	}))
	require.ErrorIs(t, err, metadata.ErrAPI)
	require.ErrorContains(t, err, "bad.proto:2:")
	_, err = metadata.CompileAPI(context.Background(), tarOf(t, false, map[string]string{"README.md": "no protos"}))
	require.ErrorIs(t, err, metadata.ErrAPI)
}

func FuzzCompileAPI(f *testing.F) {
	f.Add(tarOf(f, false, map[string]string{"a.proto": "syntax = \"proto3\"; message A { int32 x = 1; } service S { rpc m(A) returns (A); }"}))
	f.Add(tarOf(f, false, map[string]string{"a.proto": calcProto}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if api, err := metadata.CompileAPI(context.Background(), b); err == nil {
			_, _ = api.Method("/S/m")
		}
	})
}

// pricingProto is snet-daemon's pricing.proto, as providers ship it.
const pricingProto = `syntax = "proto3";
package pricing;
import "google/protobuf/descriptor.proto";
extend google.protobuf.MethodOptions { EstimatePrice my_method_option = 9999127; }
message EstimatePrice { string estimatePriceMethod = 1; }
message PriceInCogs { uint64 price = 1; }
`

func TestEstimatePriceMethods(t *testing.T) {
	api, err := metadata.CompileAPI(context.Background(), tarOf(t, false, map[string]string{
		"pricing.proto": pricingProto,
		"calc.proto": `syntax = "proto3"; package example_service;
			import "pricing.proto";
			message Numbers { float a = 1; float b = 2; }
			message Result { float value = 1; }
			service Calculator {
				rpc add(Numbers) returns (Result) {
					option (pricing.my_method_option).estimatePriceMethod = "/example_service.Calculator/add_price";
				}
				rpc add_price(Numbers) returns (pricing.PriceInCogs) {}
				rpc sub(Numbers) returns (Result) { option deprecated = true; }
			}`,
		"more.proto": `syntax = "proto3"; package other;
			import "pricing.proto"; import "calc.proto";
			service Echo {
				rpc echo(example_service.Numbers) returns (example_service.Numbers) {
					option (pricing.my_method_option) = { estimatePriceMethod: "/other.Echo/echo_price" };
				}
			}`,
	}))
	require.NoError(t, err)
	// Every file's options count (snet-daemon keeps only one file's).
	require.Equal(t, map[string]string{
		"/example_service.Calculator/add": "/example_service.Calculator/add_price",
		"/other.Echo/echo":                "/other.Echo/echo_price",
	}, api.EstimatePriceMethods())
}
