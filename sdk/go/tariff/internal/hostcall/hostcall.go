// Package hostcall is the seam between the SDK and a host on native builds.
//
// On wasm the SDK calls the tariff_v1 imports directly. On native builds it
// calls Current, which tarifftest.Fake sets for the duration of a test. The
// methods mirror the tariff_v1 imports one for one, with Go slices and
// strings in place of guest pointers, and the same answers (full length,
// -1 absent, -2 not available), so the SDK runs the same code, including its
// buffer-too-small retries, on both.
package hostcall

// Host is the tariff_v1 import module.
type Host interface {
	Input(field int32, buf []byte) int64
	InputU64(field int32) int64
	Meta(name string, index int32, buf []byte) int64
	MetaKeys(buf []byte) int64
	Body(offset int32, buf []byte) int64
	Config(buf []byte) int64
	SetPrice(cogs int64)
	SetFreeCall(allow int32, remaining int64)
	BodyWrite(b []byte) int32
	MetaSet(name, value string) int32
	Fail(code int32, msg string)
	Log(level int32, msg string)
}

// Current is the host of native builds; nil outside tests.
var Current Host
