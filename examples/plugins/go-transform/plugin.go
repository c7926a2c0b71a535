// Command go-transform is a tariffd transform plugin. Before a call is
// forwarded to the service it
//
//   - sets a metadata header (default x-tariff-tier) to the caller's tier:
//     free for free calls, the tier configured for the payer's address, or a
//     default; the header replaces any the client sent, so it can be trusted
//     by the service;
//   - appends a field to the request message: the request time in
//     milliseconds (REQUEST_TIME_UNIX_MS), as a varint with the configured
//     field number.
//
// Appending a field keeps the message valid protobuf (a message is a
// sequence of fields, and a parser keeps the last value of a scalar field).
// A service that declares `uint64 request_time_ms = 15;` reads it; one that
// does not keeps it as an unknown field. Use a field number the message
// does not use for something else.
//
// Config (HCL, in the plugin block; every key is optional):
//
//	config = {
//	  header       = "x-tariff-tier"
//	  tiers        = { "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" = "gold" }
//	  default_tier = "standard"
//	  free_tier    = "free"
//	  body_field   = 15    # 0: leave the body unchanged
//	}
package main

import (
	"strconv"

	"github.com/tariffd/tariff/sdk/go/tariff"
	"github.com/tariffd/tariff/sdk/go/tariff/tjson"
)

const info = `{"name":"go-transform","version":"0.1.0","abi_minor":0,"kinds":["transform"],"needs_body":false}`

// Set once per instance by load (tariff_init).
var (
	header      = "x-tariff-tier"
	tiers       = map[string]string{} // lowercase address -> tier
	defaultTier = "standard"
	freeTier    = "free"
	bodyField   uint64 // 0: no field
	fieldTag    []byte // the field's key, varint((field << 3) | wire type 0)
)

// load reads the config; it runs as tariff_init.
func load() int32 {
	cfg := tariff.Config()
	h, dt, ft := "x-tariff-tier", "standard", "free"
	var field uint64 = 15
	for _, o := range []struct {
		key string
		dst *string
	}{{"header", &h}, {"default_tier", &dt}, {"free_tier", &ft}} {
		if v := tjson.Get(cfg, o.key); v.Exists() {
			s, ok := v.Str()
			if !ok || s == "" {
				return initError(o.key + ": want a non-empty string")
			}
			*o.dst = s
		}
	}
	if !validHeader(h) {
		return initError("header: " + strconv.Quote(h) + " is not a lowercase metadata key, or is reserved (grpc-, snet-)")
	}
	ts := map[string]string{}
	problem := ""
	if v := tjson.Get(cfg, "tiers"); v.Exists() {
		ok := v.Object(func(addr string, t tjson.Value) bool {
			s, ok := t.Str()
			if !ok {
				problem = "tiers." + addr + ": want a string"
				return false
			}
			ts[lower(addr)] = s
			return true
		})
		if problem != "" || !ok {
			return initError(problem + " (tiers: want an object of address = tier)")
		}
	}
	if v := tjson.Get(cfg, "body_field"); v.Exists() {
		n, ok := v.Uint()
		if !ok || n > 1<<29-1 || 19000 <= n && n <= 19999 {
			return initError("body_field: want 0 or a protobuf field number (1 to 536870911, not 19000-19999)")
		}
		field = n
	}
	header, defaultTier, freeTier, tiers, bodyField = h, dt, ft, ts, field
	fieldTag = appendVarint(nil, field<<3)
	return 0
}

func initError(msg string) int32 {
	tariff.Log(tariff.LevelError, "go-transform: config: "+msg)
	return 1
}

// buf holds one chunk of the body as it is copied.
var buf [32 << 10]byte

// transform is tariff_transform.
func transform() int32 {
	tier := defaultTier
	if tariff.PaymentType() == "free-call" {
		tier = freeTier
	} else if t, ok := tiers[lower(tariff.Caller())]; ok {
		tier = t
	}
	if err := tariff.SetMeta(header, tier); err != nil {
		tariff.Log(tariff.LevelError, "go-transform: set "+header+": "+err.Error())
		return tariff.Error
	}
	if bodyField == 0 {
		return tariff.OK // the body is forwarded unchanged
	}
	ms, ok := tariff.InputU64(tariff.FieldRequestTimeUnixMs)
	if !ok {
		tariff.Log(tariff.LevelError, "go-transform: no request time")
		return tariff.Error
	}
	// Copy the message in chunks, then append the field.
	for off := 0; ; {
		n, rem, err := tariff.ReadBody(off, buf[:])
		if err == nil && n > 0 {
			err = tariff.WriteBody(buf[:n])
		}
		if err != nil {
			tariff.Log(tariff.LevelError, "go-transform: copy the body: "+err.Error())
			return tariff.Error
		}
		off += n
		if n == rem {
			break
		}
	}
	var field [20]byte
	if err := tariff.WriteBody(appendVarint(append(field[:0], fieldTag...), ms)); err != nil {
		tariff.Log(tariff.LevelError, "go-transform: append the field: "+err.Error())
		return tariff.Error
	}
	return tariff.OK
}

// appendVarint appends v in protobuf's base-128 varint encoding.
func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// validHeader reports whether tariffd lets a plugin set key.
func validHeader(key string) bool {
	if key == "" || len(key) >= 5 && (key[:5] == "grpc-" || key[:5] == "snet-") {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// lower returns s with ASCII letters lowercased (addresses are hex).
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// main is never called: a c-shared (reactor) module runs only _initialize
// and its exports. It is here so that the package also builds natively.
func main() {}
