package tariff

import (
	"errors"
	"math"
)

// ABIMinor is the highest minor version of ABI v1 this SDK uses. A plugin's
// tariff_info states it as "abi_minor".
const ABIMinor = 0

// Statuses returned by an entry point (tariff_price, tariff_free_call,
// tariff_transform). They are untyped so that an entry point, whose Wasm
// signature is () -> i32, can return them directly.
const (
	// OK: use the outputs (the price, the free-call decision, the new body
	// and metadata).
	OK = 0
	// Pass: decline; the host applies its fallback (the method or fixed price
	// from the service metadata, the built-in free-call rule, or forwarding
	// the request unchanged).
	Pass = 1
	// Deny: reject the call with the code and message given to Fail
	// (default PermissionDenied).
	Deny = 2
	// Error: something went wrong; the host applies the plugin's on_error.
	// Any negative status is an error.
	Error = -1
)

// Log levels for Log.
const (
	LevelDebug = 0
	LevelInfo  = 1
	LevelWarn  = 2
	LevelError = 3
)

// gRPC status codes commonly given to Fail.
const (
	CodeInvalidArgument    = 3
	CodeNotFound           = 5
	CodePermissionDenied   = 7
	CodeResourceExhausted  = 8
	CodeFailedPrecondition = 9
	CodeOutOfRange         = 11
	CodeUnavailable        = 14
	CodeUnauthenticated    = 16
)

// Field is the id of an input field (ABI v1 §4).
type Field int32

// Input fields of ABI v1. Kinds not listed for a field read it as not
// available.
const (
	FieldMethod            Field = 1  // string, all kinds: "/package.Service/Method"
	FieldServiceID         Field = 2  // string, all kinds
	FieldOrgID             Field = 3  // string, all kinds
	FieldGroupID           Field = 4  // string, all kinds: base64, as in metadata
	FieldCaller            Field = 5  // string, all kinds: payer or free-call user address
	FieldPaymentType       Field = 6  // string, all kinds: escrow, prepaid-call, free-call, train-call
	FieldChannelID         Field = 7  // u64, pricing and transform; absent for free calls
	FieldBodyLen           Field = 8  // u64, all kinds
	FieldFreeCallsUsed     Field = 9  // u64, free_call
	FieldFreeCallsAllowed  Field = 10 // u64, free_call
	FieldRequestTimeUnixMs Field = 11 // u64, all kinds: taken once per request by the host
	FieldFreeCallUserID    Field = 12 // string, free_call; may be empty
)

// Errors of the output functions and of the body reader.
var (
	// ErrUnavailable: the function is not available to this kind or phase
	// (the host answered -2), e.g. the body in a pricing plugin whose
	// tariff_info does not say "needs_body": true.
	ErrUnavailable = errors.New("tariff: not available to this kind or phase")
	// ErrOutputLimit: the new body is over the host's output limit. The host
	// fails the call whatever the entry point returns.
	ErrOutputLimit = errors.New("tariff: output over the host's limit")
	// ErrRefused: SetMeta was refused: a key that is not a lowercase gRPC
	// header name or is reserved (":", "grpc-", "snet-"), or metadata output
	// over the host's cap (then the host fails the call anyway).
	ErrRefused = errors.New("tariff: metadata key refused")
	// ErrTooLarge: an offset or length beyond what 32-bit guest memory can
	// address.
	ErrTooLarge = errors.New("tariff: offset or length too large")
)

const (
	absent      = -1 // the answer of an accessor for a missing value
	unavailable = -2 // the answer for a value this kind or phase may not read
	maxLen      = math.MaxInt32
)

// scratch receives short values; longer ones get a buffer of their own.
// Values are always copied out of it before the next host call.
var scratch [256]byte

// pull runs a read accessor with the ABI's convention: the accessor answers
// the value's full length and writes the value only when it fits, so a value
// longer than the first buffer is read again into a buffer of its full
// length. It returns the value and the accessor's answer (>= 0: the length;
// -1 absent; -2 not available). own tells whether the value is in a buffer
// of its own rather than in scratch.
func pull(get func(buf []byte) int64) (val []byte, n int64, own bool) {
	buf := scratch[:]
	for try := 0; try < 3; try++ {
		n = get(buf)
		switch {
		case n < 0:
			return nil, n, false
		case n <= int64(len(buf)):
			return buf[:n], n, try > 0
		case n > maxLen:
			return nil, absent, false
		}
		buf = make([]byte, n)
	}
	return nil, absent, false // the value keeps growing: not a v1 host
}

// Input returns a string field and whether it is present and available to
// this kind. Use the named accessors (Method, Caller, ...) for the fields of
// ABI v1.0; Input reads fields added by later minor versions.
func Input(f Field) (string, bool) {
	v, n, _ := pull(func(buf []byte) int64 { return hostInput(int32(f), buf) })
	if n < 0 {
		return "", false
	}
	return string(v), true
}

// InputU64 returns a numeric field and whether it is present and available
// to this kind.
func InputU64(f Field) (uint64, bool) {
	n := hostInputU64(int32(f))
	if n < 0 {
		return 0, false
	}
	return uint64(n), true
}

func inputString(f Field) string {
	s, _ := Input(f)
	return s
}

func inputU64(f Field) uint64 {
	v, _ := InputU64(f)
	return v
}

// Method returns the full gRPC method name, "/package.Service/Method".
func Method() string { return inputString(FieldMethod) }

// ServiceID returns the service id of the daemon's configuration.
func ServiceID() string { return inputString(FieldServiceID) }

// OrgID returns the organization id.
func OrgID() string { return inputString(FieldOrgID) }

// GroupID returns the payment group id, base64 as in the metadata.
func GroupID() string { return inputString(FieldGroupID) }

// Caller returns the payer's address (checksummed), or the free-call user's
// address for a free call.
func Caller() string { return inputString(FieldCaller) }

// PaymentType returns "escrow", "prepaid-call", "free-call" or "train-call".
func PaymentType() string { return inputString(FieldPaymentType) }

// ChannelID returns the payment channel id. It is absent for free calls and
// not available to free_call plugins.
func ChannelID() (uint64, bool) { return InputU64(FieldChannelID) }

// BodyLen returns the length of the request message in bytes. Every kind
// may read it, even without access to the body itself.
func BodyLen() uint64 { return inputU64(FieldBodyLen) }

// FreeCallsUsed returns how many free calls the user has made so far, as
// counted by the host (free_call plugins; 0 elsewhere).
func FreeCallsUsed() uint64 { return inputU64(FieldFreeCallsUsed) }

// FreeCallsAllowed returns how many free calls the service allows per user,
// from the configuration or the service metadata (free_call plugins; 0
// elsewhere).
func FreeCallsAllowed() uint64 { return inputU64(FieldFreeCallsAllowed) }

// RequestTimeUnixMs returns the time of the request in milliseconds since
// the Unix epoch, taken once per request by the host. It is the only clock
// a plugin has: time.Now is a constant inside a plugin.
func RequestTimeUnixMs() uint64 { return inputU64(FieldRequestTimeUnixMs) }

// FreeCallUserID returns the free-call user id of the request (free_call
// plugins; may be empty).
func FreeCallUserID() string { return inputString(FieldFreeCallUserID) }

// Meta returns the first value of a request metadata key and whether the
// key is present. Keys are lowercase; values of "-bin" keys are the raw
// (decoded) bytes.
func Meta(name string) (string, bool) { return metaValue(name, 0) }

func metaValue(name string, index int32) (string, bool) {
	v, n, _ := pull(func(buf []byte) int64 { return hostMeta(name, index, buf) })
	if n < 0 {
		return "", false
	}
	return string(v), true
}

// MetaValues returns every value of a request metadata key, in order.
func MetaValues(name string) []string {
	var vals []string
	for i := int32(0); i >= 0; i++ {
		v, ok := metaValue(name, i)
		if !ok {
			break
		}
		vals = append(vals, v)
	}
	return vals
}

// MetaKeys returns the request's metadata keys, sorted.
func MetaKeys() []string {
	v, n, _ := pull(hostMetaKeys)
	if n <= 0 {
		return nil
	}
	var keys []string
	start := 0
	for i, c := range v {
		if c == 0 {
			keys = append(keys, string(v[start:i]))
			start = i + 1
		}
	}
	return append(keys, string(v[start:]))
}

// ReadBody copies request message bytes, from offset on, into buf. It
// returns how many bytes it copied and how many were left from offset to
// the end (so n == remaining at the end of the message). The body is
// available to transform plugins, and to the other kinds when tariff_info
// says "needs_body": true; otherwise the error is ErrUnavailable.
func ReadBody(offset int, buf []byte) (n, remaining int, err error) {
	if offset < 0 || offset > maxLen {
		return 0, 0, ErrTooLarge
	}
	if len(buf) > maxLen {
		buf = buf[:maxLen]
	}
	r := hostBody(int32(offset), buf)
	if r < 0 {
		return 0, 0, ErrUnavailable
	}
	if r > maxLen {
		return 0, 0, ErrTooLarge
	}
	return min(int(r), len(buf)), int(r), nil
}

// Body returns the whole request message (see ReadBody). To process a large
// message without holding all of it, read it in chunks with ReadBody.
func Body() ([]byte, error) {
	size := BodyLen()
	if size > maxLen {
		return nil, ErrTooLarge
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			_, rem, err := ReadBody(len(b), nil)
			if err != nil {
				return nil, err
			}
			if rem == 0 {
				return b, nil
			}
			nb := make([]byte, len(b), len(b)+rem)
			copy(nb, b)
			b = nb
		}
		n, rem, err := ReadBody(len(b), b[len(b):cap(b)])
		if err != nil {
			return nil, err
		}
		b = b[:len(b)+n]
		if n == rem {
			return b, nil
		}
	}
}

// Config returns the plugin's HCL config block as JSON, or nil when the
// block is absent. Read it in tariff_init and keep what you need in
// package variables: every call of Config copies the whole document. Package
// tjson reads values from it without encoding/json.
func Config() []byte {
	v, n, own := pull(hostConfig)
	if n < 0 {
		return nil
	}
	if own {
		return v
	}
	return append([]byte{}, v...)
}

// SetPrice sets the price of the call in cogs (pricing). Return OK after it.
func SetPrice(cogs uint64) { hostSetPrice(int64(cogs)) }

// SetFreeCall sets the free-call decision (free_call): whether this free
// call is allowed, and how many free calls remain for the user after it.
// Return OK after it.
func SetFreeCall(allow bool, remaining uint64) {
	var a int32
	if allow {
		a = 1
	}
	hostSetFreeCall(a, int64(min(remaining, math.MaxInt64)))
}

// WriteBody appends b to the new request message (transform). The first
// call replaces the message: a transform that changes the body writes all
// of it. Return OK after it.
func WriteBody(b []byte) error {
	for {
		chunk := b[:min(len(b), maxLen)]
		switch hostBodyWrite(chunk) {
		case 0:
		case unavailable:
			return ErrUnavailable
		default:
			return ErrOutputLimit
		}
		b = b[len(chunk):]
		if len(b) == 0 {
			return nil
		}
	}
}

// SetMeta adds a value to a metadata key of the forwarded request
// (transform); the keys set replace the request's own values of those keys.
// Keys must be lowercase gRPC header names (a-z, 0-9, '-', '_', '.'), not
// starting with "grpc-" or "snet-" (the payment headers); others are
// refused with ErrRefused.
func SetMeta(key, value string) error {
	if !settableKey(key) {
		return ErrRefused
	}
	switch hostMetaSet(key, value) {
	case 0:
		return nil
	case unavailable:
		return ErrUnavailable
	default:
		return ErrRefused
	}
}

func settableKey(key string) bool {
	if key == "" || hasPrefix(key, "grpc-") || hasPrefix(key, "snet-") {
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

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// Fail sets the gRPC status code and message of a Deny. The host keeps the
// first 1 KiB of the message; a code outside 1..16 becomes
// PermissionDenied.
func Fail(code int32, msg string) { hostFail(code, msg) }

// Denied calls Fail and returns Deny: return tariff.Denied(code, msg).
func Denied(code int32, msg string) int32 {
	Fail(code, msg)
	return Deny
}

// Log writes a line to tariffd's log at a level (LevelDebug ... LevelError).
// The host caps the lines per call and rate-limits them per plugin.
func Log(level int32, msg string) { hostLog(level, msg) }

// Info returns what tariff_info must return for the JSON document info: its
// address and length in guest memory, packed as (ptr << 32) | len. The SDK
// keeps the document reachable. The document is
//
//	{"name":"NAME","version":"1.0.0","abi_minor":0,"kinds":["pricing"],"needs_body":false}
//
// with the kinds the module exports entry points for. On a native build
// there is no guest memory and Info returns only the length.
func Info(info string) int64 { return packInfo(info) }
