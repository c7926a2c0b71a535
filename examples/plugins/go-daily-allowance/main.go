//go:build wasip1

package main

import "github.com/tariffd/tariff/sdk/go/tariff"

//go:wasmexport tariff_abi_v1
func abiV1() {}

//go:wasmexport tariff_info
func tariffInfo() int64 { return tariff.Info(info) }

//go:wasmexport tariff_init
func tariffInit() int32 { return load() }

//go:wasmexport tariff_free_call
func tariffFreeCall() int32 { return freeCall() }
