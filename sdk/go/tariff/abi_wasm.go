//go:build wasm || tinygo.wasm

package tariff

import "unsafe"

// The tariff_v1 imports (ABI v1 §3). Pointers and lengths are offsets into
// this module's linear memory.

//go:wasmimport tariff_v1 input
func abiInput(field int32, buf unsafe.Pointer, bufLen int32) int64

//go:wasmimport tariff_v1 input_u64
func abiInputU64(field int32) int64

//go:wasmimport tariff_v1 meta
func abiMeta(name unsafe.Pointer, nameLen int32, index int32, buf unsafe.Pointer, bufLen int32) int64

//go:wasmimport tariff_v1 meta_keys
func abiMetaKeys(buf unsafe.Pointer, bufLen int32) int64

//go:wasmimport tariff_v1 body
func abiBody(offset int32, buf unsafe.Pointer, bufLen int32) int64

//go:wasmimport tariff_v1 config
func abiConfig(buf unsafe.Pointer, bufLen int32) int64

//go:wasmimport tariff_v1 set_price
func abiSetPrice(cogs int64)

//go:wasmimport tariff_v1 set_free_call
func abiSetFreeCall(allow int32, remaining int64)

//go:wasmimport tariff_v1 body_write
func abiBodyWrite(ptr unsafe.Pointer, n int32) int32

//go:wasmimport tariff_v1 meta_set
func abiMetaSet(name unsafe.Pointer, nameLen int32, val unsafe.Pointer, valLen int32) int32

//go:wasmimport tariff_v1 fail
func abiFail(code int32, msg unsafe.Pointer, msgLen int32)

//go:wasmimport tariff_v1 log
func abiLog(level int32, msg unsafe.Pointer, msgLen int32)

// Callers keep every length within int32 (see maxLen).

func bytesPtr(b []byte) unsafe.Pointer  { return unsafe.Pointer(unsafe.SliceData(b)) }
func stringPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

func hostInput(field int32, buf []byte) int64 {
	return abiInput(field, bytesPtr(buf), int32(len(buf)))
}

func hostInputU64(field int32) int64 { return abiInputU64(field) }

func hostMeta(name string, index int32, buf []byte) int64 {
	return abiMeta(stringPtr(name), int32(len(name)), index, bytesPtr(buf), int32(len(buf)))
}

func hostMetaKeys(buf []byte) int64 { return abiMetaKeys(bytesPtr(buf), int32(len(buf))) }

func hostBody(offset int32, buf []byte) int64 {
	return abiBody(offset, bytesPtr(buf), int32(len(buf)))
}

func hostConfig(buf []byte) int64 { return abiConfig(bytesPtr(buf), int32(len(buf))) }

func hostSetPrice(cogs int64) { abiSetPrice(cogs) }

func hostSetFreeCall(allow int32, remaining int64) { abiSetFreeCall(allow, remaining) }

func hostBodyWrite(b []byte) int32 { return abiBodyWrite(bytesPtr(b), int32(len(b))) }

func hostMetaSet(name, value string) int32 {
	return abiMetaSet(stringPtr(name), int32(len(name)), stringPtr(value), int32(len(value)))
}

func hostFail(code int32, msg string) { abiFail(code, stringPtr(msg), int32(len(msg))) }

func hostLog(level int32, msg string) { abiLog(level, stringPtr(msg), int32(len(msg))) }

// infoKept keeps the document given to Info reachable, so the memory the
// host reads after tariff_info returns is never reused.
var infoKept string

func packInfo(info string) int64 {
	infoKept = info
	if len(info) == 0 {
		return 0
	}
	return int64(uintptr(stringPtr(info)))<<32 | int64(len(info))
}
