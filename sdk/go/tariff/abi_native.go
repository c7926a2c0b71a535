//go:build !wasm && !tinygo.wasm

package tariff

import "github.com/tariffd/tariff/sdk/go/tariff/internal/hostcall"

// On native builds the host is the fake of package tarifftest.

func host() hostcall.Host {
	if h := hostcall.Current; h != nil {
		return h
	}
	panic("tariff: no plugin host: this is a native build; in tests, create one with tarifftest.New")
}

func hostInput(field int32, buf []byte) int64 { return host().Input(field, buf) }

func hostInputU64(field int32) int64 { return host().InputU64(field) }

func hostMeta(name string, index int32, buf []byte) int64 { return host().Meta(name, index, buf) }

func hostMetaKeys(buf []byte) int64 { return host().MetaKeys(buf) }

func hostBody(offset int32, buf []byte) int64 { return host().Body(offset, buf) }

func hostConfig(buf []byte) int64 { return host().Config(buf) }

func hostSetPrice(cogs int64) { host().SetPrice(cogs) }

func hostSetFreeCall(allow int32, remaining int64) { host().SetFreeCall(allow, remaining) }

func hostBodyWrite(b []byte) int32 { return host().BodyWrite(b) }

func hostMetaSet(name, value string) int32 { return host().MetaSet(name, value) }

func hostFail(code int32, msg string) { host().Fail(code, msg) }

func hostLog(level int32, msg string) { host().Log(level, msg) }

// packInfo has no guest memory to point into on a native build: it returns
// the length only. Tests check the document itself (tarifftest.New).
func packInfo(info string) int64 { return int64(len(info)) }
