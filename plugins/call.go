package plugins

import (
	"fmt"
	"math"
)

// Status is a successful outcome of an entry point. ERROR is not a Status:
// it is returned as a *CallError.
type Status int32

// Statuses returned by entry points.
const (
	StatusOK   Status = 0 // use the outputs
	StatusPass Status = 1 // decline: apply the configured fallback
	StatusDeny Status = 2 // reject the call with Result.Code and Result.Message
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "OK"
	case StatusPass:
		return "PASS"
	case StatusDeny:
		return "DENY"
	}
	return fmt.Sprintf("Status(%d)", int32(s))
}

// CodePermissionDenied is the gRPC code of a DENY without a valid code.
const CodePermissionDenied = 7

// MaxMessageBytes is the longest DENY message kept; fail cuts the rest.
const MaxMessageBytes = 1024

// Input is what one call may read. The caller fills it; the plugin reads it
// through the host functions, during the call only. An Input may be reused
// after Reset; it must not change while a call reads it.
type Input struct {
	// Meta is the request metadata: lowercase keys; values of "-bin" keys are
	// the raw (decoded) bytes. Plugins see the keys sorted.
	Meta map[string][]string
	// Body is the request message. Plugins read it only when tariff_info says
	// needs_body or the kind is transform; FieldBodyLen is always len(Body).
	Body []byte

	strs   [maxField + 1]string
	nums   [maxField + 1]uint64
	hasStr uint32 // bit f: strs[f] is set
	hasNum uint32
}

// SetString sets a string field. It panics if f is not a string field.
func (in *Input) SetString(f Field, v string) {
	if !f.known() || fields[f].u64 {
		panic(fmt.Sprintf("plugins: Input.SetString: field %d is not a string field", f))
	}
	in.strs[f] = v
	in.hasStr |= 1 << f
}

// SetU64 sets a numeric field. It panics if f is not a numeric field or is
// FieldBodyLen (always len(Body)). Values above math.MaxInt64 cannot be told
// apart from the -1 and -2 answers of input_u64, so plugins read them as
// absent.
func (in *Input) SetU64(f Field, v uint64) {
	if !f.known() || !fields[f].u64 || f == FieldBodyLen {
		panic(fmt.Sprintf("plugins: Input.SetU64: field %d is not a settable numeric field", f))
	}
	in.nums[f] = v
	in.hasNum |= 1 << f
}

// String returns a string field and whether it is set.
func (in *Input) String(f Field) (string, bool) {
	if !f.known() || in.hasStr&(1<<f) == 0 {
		return "", false
	}
	return in.strs[f], true
}

// U64 returns a numeric field and whether it is set.
func (in *Input) U64(f Field) (uint64, bool) {
	if f == FieldBodyLen {
		return uint64(len(in.Body)), true
	}
	if !f.known() || in.hasNum&(1<<f) == 0 {
		return 0, false
	}
	return in.nums[f], true
}

// Reset clears every field, Meta and Body.
func (in *Input) Reset() { *in = Input{} }

// Result holds the outputs of a call that did not end in ERROR. Outputs are
// set only for StatusOK; Code and Message only for StatusDeny.
type Result struct {
	Status Status

	// Price in cogs (pricing).
	Price uint64
	// FreeCall: whether the free call is allowed, and how many remain
	// (free_call).
	FreeCall           bool
	FreeCallsRemaining uint64
	// Body is the new request body when BodySet (transform: body_write was
	// called at least once, possibly with zero bytes).
	Body    []byte
	BodySet bool
	// Meta holds the metadata keys set by meta_set (transform), each with its
	// values in call order. The caller replaces those keys in the request.
	Meta map[string][]string

	// Code and Message of a DENY: from fail, default PermissionDenied and "".
	Code    uint32
	Message string

	// Logs is the number of log lines emitted, LogsDropped the number dropped
	// by the per-call cap or the per-plugin rate limit.
	Logs, LogsDropped int
}

// readableU64 converts a numeric field value to input_u64's answer.
func readableU64(v uint64) int64 {
	if v > math.MaxInt64 {
		return -1
	}
	return int64(v)
}
