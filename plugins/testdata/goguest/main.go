// Command goguest is a pricing plugin in standard Go, built by the tests
// with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared. It checks that
// the Go runtime starts and runs on the host's deterministic WASI subset.
//
// tariff_init reads the config {"multiplier": N}. tariff_price: the price is
// (len(method) + the year of time.Now()) * N; metadata "x-mode: panic"
// panics.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
	"unsafe"
)

//go:wasmimport tariff_v1 input
func input(field int32, buf unsafe.Pointer, bufLen int32) int64

//go:wasmimport tariff_v1 meta
func meta(name unsafe.Pointer, nameLen int32, index int32, buf unsafe.Pointer, bufLen int32) int64

//go:wasmimport tariff_v1 config
func config(buf unsafe.Pointer, bufLen int32) int64

//go:wasmimport tariff_v1 set_price
func setPrice(cogs int64)

// read calls an accessor with a small buffer, then again with the full length.
func read(get func(buf unsafe.Pointer, n int32) int64) (string, bool) {
	buf := make([]byte, 8)
	n := get(unsafe.Pointer(&buf[0]), int32(len(buf)))
	if n < 0 {
		return "", false
	}
	if n > int64(len(buf)) {
		buf = make([]byte, n)
		n = get(unsafe.Pointer(&buf[0]), int32(len(buf)))
	}
	return string(buf[:n]), true
}

var (
	multiplier int64 = 1
	info             = []byte(`{"name":"goguest","version":"0.1.0","abi_minor":0,"kinds":["pricing"],"needs_body":false}`)
	seen             = map[string]int{}
)

//go:wasmexport tariff_abi_v1
func abiMarker() {}

//go:wasmexport tariff_info
func tariffInfo() int64 {
	return int64(uintptr(unsafe.Pointer(&info[0])))<<32 | int64(len(info))
}

//go:wasmexport tariff_init
func tariffInit() int32 {
	raw, ok := read(config)
	if !ok {
		return 0
	}
	var c struct{ Multiplier int64 }
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		fmt.Fprintln(os.Stderr, "bad config:", err)
		return 1
	}
	multiplier = c.Multiplier
	return 0
}

//go:wasmexport tariff_price
func tariffPrice() int32 {
	mode, _ := read(func(buf unsafe.Pointer, n int32) int64 {
		name := "x-mode"
		return meta(unsafe.Pointer(unsafe.StringData(name)), int32(len(name)), 0, buf, n)
	})
	if mode == "panic" {
		panic("asked to panic")
	}
	method, ok := read(func(buf unsafe.Pointer, n int32) int64 { return input(1, buf, n) })
	if !ok {
		return 1
	}
	seen[method]++
	fmt.Println("pricing", strings.ToLower(method), "at", time.Now().UTC().Format(time.RFC3339))
	setPrice((int64(len(method)) + int64(time.Now().Year())) * multiplier)
	return 0
}

func main() {}
