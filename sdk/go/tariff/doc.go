// Package tariff is the Go SDK for tariffd plugins: WebAssembly modules that
// price calls, decide free calls or transform requests (ABI tariff_v1).
//
// A plugin is a main package built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// The host calls its exports; the plugin reads its inputs through this
// package (Method, Caller, Meta, Body, Config, ...) and answers with SetPrice,
// SetFreeCall, WriteBody, SetMeta or Fail, and a status: OK, Pass, Deny or
// Error. Everything is pulled from the host on demand, so a plugin pays only
// for the fields it reads.
//
// # What an author writes
//
// Two files. plugin.go holds the logic and builds everywhere, so that
// `go test` runs it natively against the fake host of package tarifftest:
//
//	package main
//
//	import "github.com/tariffd/tariff/sdk/go/tariff"
//
//	// info is returned by tariff_info: the kinds must match the entry
//	// points main.go exports.
//	const info = `{"name":"flat","version":"0.1.0","abi_minor":0,"kinds":["pricing"],"needs_body":false}`
//
//	func price() int32 {
//		if tariff.Method() != "/example_service.Calculator/add" {
//			return tariff.Pass // the price from the service metadata applies
//		}
//		tariff.SetPrice(10)
//		return tariff.OK
//	}
//
//	// main is never called: a c-shared (reactor) module runs only
//	// _initialize and its exports. It is here so the package also builds
//	// natively.
//	func main() {}
//
// main.go holds the exports, verbatim apart from the entry points:
//
//	//go:build wasip1
//
//	package main
//
//	import "github.com/tariffd/tariff/sdk/go/tariff"
//
//	//go:wasmexport tariff_abi_v1
//	func abiV1() {}
//
//	//go:wasmexport tariff_info
//	func tariffInfo() int64 { return tariff.Info(info) }
//
//	//go:wasmexport tariff_price
//	func tariffPrice() int32 { return price() }
//
// Optional exports: tariff_init (() int32, called once per instance; read
// Config there; non-zero fails the instance), tariff_free_call and
// tariff_transform for the other kinds.
//
// # Rules of the environment
//
// Pricing must be a pure function of the inputs: the same request must get
// the same price on every instance. Package variables persist across calls on
// a pooled instance, so use them only for what tariff_init derives from the
// config. time.Now is a constant: use RequestTimeUnixMs. There is no
// filesystem or network. The SDK avoids reflection (no encoding/json, no fmt)
// so plugins also build with TinyGo; package tjson reads the config.
//
// On native builds the host functions go to the fake host installed by
// tarifftest.New; without one they panic.
package tariff
