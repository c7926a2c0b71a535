package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/tariffd/tariff/plugins"
)

// Vector is a golden test case from the plugin's author: a request and what
// the plugin must answer. README.md describes the JSON form ParseVectors
// reads.
type Vector struct {
	Name string
	// Kind is the entry point to call. Zero: the plugin's only kind.
	Kind   plugins.Kind
	Input  plugins.Input
	Expect Expect
}

// Expect is the answer a Vector requires. Nil fields are not checked.
type Expect struct {
	// Error: the call must end in ERROR (a negative status, a trap, ...).
	// Otherwise Status is the status it must return.
	Error  bool
	Status plugins.Status

	Price     *uint64 // pricing, OK
	FreeCall  *bool   // free_call, OK: allowed or not
	Remaining *uint64 // free_call, OK: free calls left

	// Body, when not nil, is the new body a transform must write (an empty,
	// non-nil Body: it must write an empty one). BodyUnchanged: it must not
	// call body_write, so the request body is forwarded as is.
	Body          []byte
	BodyUnchanged bool
	// Meta, when not nil, is exactly the metadata a transform must set.
	Meta map[string][]string

	Code    *uint32 // DENY: the gRPC code
	Message *string // DENY: the message, exactly
}

// ErrVectors wraps every error of ParseVectors.
var ErrVectors = errors.New("invalid vectors")

type vectorsFile struct {
	Vectors []vectorJSON `json:"vectors"`
}

type vectorJSON struct {
	Name   string      `json:"name"`
	Kind   string      `json:"kind"`
	Input  inputJSON   `json:"input"`
	Expect *expectJSON `json:"expect"`
}

type inputJSON struct {
	Method            *string                    `json:"method"`
	ServiceID         *string                    `json:"service_id"`
	OrgID             *string                    `json:"org_id"`
	GroupID           *string                    `json:"group_id"`
	Caller            *string                    `json:"caller"`
	PaymentType       *string                    `json:"payment_type"`
	ChannelID         *uint64                    `json:"channel_id"`
	FreeCallsUsed     *uint64                    `json:"free_calls_used"`
	FreeCallsAllowed  *uint64                    `json:"free_calls_allowed"`
	RequestTimeUnixMS *uint64                    `json:"request_time_unix_ms"`
	FreeCallUserID    *string                    `json:"free_call_user_id"`
	Meta              map[string]json.RawMessage `json:"meta"`
	Body              *string                    `json:"body"`
	BodyBase64        *string                    `json:"body_base64"`
	BodyLen           *int                       `json:"body_len"`
}

type expectJSON struct {
	Status        string                     `json:"status"`
	Price         *uint64                    `json:"price"`
	FreeCall      *bool                      `json:"free_call"`
	Remaining     *uint64                    `json:"remaining"`
	Body          *string                    `json:"body"`
	BodyBase64    *string                    `json:"body_base64"`
	BodyUnchanged bool                       `json:"body_unchanged"`
	Meta          map[string]json.RawMessage `json:"meta"`
	Code          json.RawMessage            `json:"code"`
	Message       *string                    `json:"message"`
}

// maxVectorBody bounds body_len. It is the host maximum of the body output
// cap.
const maxVectorBody = 64 << 20

var (
	zerosMu  sync.Mutex
	zeroBody []byte
)

// zeros returns n zero bytes, shared by every body_len body (no one writes
// to a request body), so a vectors file costs at most maxVectorBody bytes of
// bodies however many vectors it has.
func zeros(n int) []byte {
	zerosMu.Lock()
	defer zerosMu.Unlock()
	if len(zeroBody) < n {
		zeroBody = make([]byte, n)
	}
	return zeroBody[:n:n]
}

// ParseVectors reads a vectors file: {"vectors": [...]}, each with a name,
// an optional kind, an input and an expect object (README.md). Unknown keys
// are refused, so a typo is not silently ignored. Errors wrap ErrVectors and
// name the vector.
func ParseVectors(data []byte) ([]Vector, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f vectorsFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVectors, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrVectors)
	}
	if f.Vectors == nil {
		return nil, fmt.Errorf(`%w: no "vectors" array`, ErrVectors)
	}
	out := make([]Vector, 0, len(f.Vectors))
	seen := map[string]bool{}
	for i, vj := range f.Vectors {
		v, err := vj.vector()
		where := fmt.Sprintf("vector %d", i+1)
		if vj.Name != "" {
			where += fmt.Sprintf(" (%q)", vj.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrVectors, where, err)
		}
		if seen[v.Name] {
			return nil, fmt.Errorf("%w: %s: the name is used twice", ErrVectors, where)
		}
		seen[v.Name] = true
		out = append(out, v)
	}
	return out, nil
}

func (vj vectorJSON) vector() (Vector, error) {
	v := Vector{Name: vj.Name}
	if v.Name == "" {
		return v, errors.New(`"name" is required`)
	}
	if vj.Kind != "" {
		k, ok := plugins.ParseKind(vj.Kind)
		if !ok {
			return v, fmt.Errorf("unknown kind %q (pricing, free_call or transform)", vj.Kind)
		}
		v.Kind = k
	}
	if err := vj.Input.fill(&v.Input); err != nil {
		return v, fmt.Errorf("input: %v", err)
	}
	if vj.Expect == nil {
		return v, errors.New(`"expect" is required`)
	}
	e, err := vj.Expect.expect()
	if err != nil {
		return v, fmt.Errorf("expect: %v", err)
	}
	v.Expect = e
	return v, nil
}

func (ij inputJSON) fill(in *plugins.Input) error {
	for _, s := range []struct {
		f plugins.Field
		v *string
	}{
		{plugins.FieldMethod, ij.Method},
		{plugins.FieldServiceID, ij.ServiceID},
		{plugins.FieldOrgID, ij.OrgID},
		{plugins.FieldGroupID, ij.GroupID},
		{plugins.FieldCaller, ij.Caller},
		{plugins.FieldPaymentType, ij.PaymentType},
		{plugins.FieldFreeCallUserID, ij.FreeCallUserID},
	} {
		if s.v != nil {
			in.SetString(s.f, *s.v)
		}
	}
	for _, n := range []struct {
		f plugins.Field
		v *uint64
	}{
		{plugins.FieldChannelID, ij.ChannelID},
		{plugins.FieldFreeCallsUsed, ij.FreeCallsUsed},
		{plugins.FieldFreeCallsAllowed, ij.FreeCallsAllowed},
		{plugins.FieldRequestTimeUnixMS, ij.RequestTimeUnixMS},
	} {
		if n.v != nil {
			in.SetU64(n.f, *n.v)
		}
	}
	meta, err := parseMeta(ij.Meta)
	if err != nil {
		return fmt.Errorf("meta: %v", err)
	}
	in.Meta = meta
	body, err := parseBody(ij.Body, ij.BodyBase64, ij.BodyLen)
	if err != nil {
		return err
	}
	in.Body = body
	return nil
}

func parseBody(text, b64 *string, n *int) ([]byte, error) {
	given := 0
	for _, set := range []bool{text != nil, b64 != nil, n != nil} {
		if set {
			given++
		}
	}
	switch {
	case given > 1:
		return nil, errors.New(`give at most one of "body", "body_base64" and "body_len"`)
	case text != nil:
		return []byte(*text), nil
	case b64 != nil:
		b, err := decodeBase64(*b64)
		if err != nil {
			return nil, fmt.Errorf("body_base64: %v", err)
		}
		return b, nil
	case n != nil:
		if *n < 0 || *n > maxVectorBody {
			return nil, fmt.Errorf("body_len %d: want 0 to %d", *n, maxVectorBody)
		}
		return zeros(*n), nil
	}
	return nil, nil
}

// parseMeta reads metadata: each key a string or an array of strings;
// values of "-bin" keys in base64.
func parseMeta(raw map[string]json.RawMessage) (map[string][]string, error) {
	if raw == nil {
		return nil, nil
	}
	meta := make(map[string][]string, len(raw))
	for k, r := range raw {
		if k == "" || strings.ToLower(k) != k {
			return nil, fmt.Errorf("key %q: keys are lowercase, as tariffd passes them", k)
		}
		var vals []string
		var one string
		if err := json.Unmarshal(r, &one); err == nil {
			vals = []string{one}
		} else if err := json.Unmarshal(r, &vals); err != nil || vals == nil {
			return nil, fmt.Errorf("key %q: want a string or an array of strings", k)
		}
		if strings.HasSuffix(k, "-bin") {
			for i, v := range vals {
				b, err := decodeBase64(v)
				if err != nil {
					return nil, fmt.Errorf("key %q: values of -bin keys are base64: %v", k, err)
				}
				vals[i] = string(b)
			}
		}
		meta[k] = vals
	}
	return meta, nil
}

// decodeBase64 accepts standard base64, padded or not, as gRPC does.
func decodeBase64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (ej expectJSON) expect() (Expect, error) {
	var e Expect
	switch strings.ToUpper(ej.Status) {
	case "OK":
		e.Status = plugins.StatusOK
	case "PASS":
		e.Status = plugins.StatusPass
	case "DENY":
		e.Status = plugins.StatusDeny
	case "ERROR":
		e.Error = true
	case "":
		return e, errors.New(`"status" is required: OK, PASS, DENY or ERROR`)
	default:
		return e, fmt.Errorf("status %q: want OK, PASS, DENY or ERROR", ej.Status)
	}
	ok, deny := !e.Error && e.Status == plugins.StatusOK, !e.Error && e.Status == plugins.StatusDeny
	e.Price, e.FreeCall, e.Remaining = ej.Price, ej.FreeCall, ej.Remaining
	if !ok && (e.Price != nil || e.FreeCall != nil || e.Remaining != nil || ej.Body != nil ||
		ej.BodyBase64 != nil || ej.BodyUnchanged || ej.Meta != nil) {
		return e, errors.New("outputs (price, free_call, remaining, body, meta) are only given with status OK")
	}
	if !deny && (ej.Code != nil || ej.Message != nil) {
		return e, errors.New("code and message are only given with status DENY")
	}
	body, err := parseBody(ej.Body, ej.BodyBase64, nil)
	if err != nil {
		return e, err
	}
	if body != nil && ej.BodyUnchanged {
		return e, errors.New(`give "body" or "body_unchanged", not both`)
	}
	e.Body, e.BodyUnchanged = body, ej.BodyUnchanged
	if ej.Meta != nil {
		meta, err := parseMeta(ej.Meta)
		if err != nil {
			return e, fmt.Errorf("meta: %v", err)
		}
		e.Meta = meta
	}
	if ej.Code != nil {
		c, err := parseCode(ej.Code)
		if err != nil {
			return e, err
		}
		e.Code = &c
	}
	e.Message = ej.Message
	return e, nil
}

// codeNames are the gRPC status codes by name.
var codeNames = []string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
	"OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

func parseCode(raw json.RawMessage) (uint32, error) {
	var n uint32
	if err := json.Unmarshal(raw, &n); err == nil {
		if n < 1 || n > 16 {
			return 0, fmt.Errorf("code %d: want 1 to 16 (a DENY is never OK)", n)
		}
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if i := slices.IndexFunc(codeNames, func(c string) bool { return strings.EqualFold(c, s) }); i > 0 {
			return uint32(i), nil
		}
	}
	return 0, fmt.Errorf("code %s: want a gRPC code, 1 to 16 or its name (InvalidArgument, ...)", raw)
}

func codeName(c uint32) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code %d", c)
}

// mismatch compares an outcome with what v expects and says how they
// differ, or returns "".
func (e Expect) mismatch(o outcome) string {
	want := func(format string, args ...any) string { return "want " + fmt.Sprintf(format, args...) }
	if e.Error {
		if !o.isErr {
			return want("ERROR")
		}
		return ""
	}
	if o.isErr || o.status != e.Status {
		return want("%s", e.Status)
	}
	var diffs []string
	if e.Price != nil && o.price != *e.Price {
		diffs = append(diffs, want("price %d", *e.Price))
	}
	if e.FreeCall != nil && o.freeCall != *e.FreeCall {
		diffs = append(diffs, want("free call allowed=%t", *e.FreeCall))
	}
	if e.Remaining != nil && o.remaining != *e.Remaining {
		diffs = append(diffs, want("%d remaining", *e.Remaining))
	}
	if e.BodyUnchanged && o.bodySet {
		diffs = append(diffs, want("the body unchanged (no body_write)"))
	}
	if e.Body != nil && (!o.bodySet || o.bodySum != sha256.Sum256(e.Body)) {
		diffs = append(diffs, want("body %s", describeBody(e.Body)))
	}
	if e.Meta != nil && metaKey(e.Meta) != o.meta {
		diffs = append(diffs, want("meta %s", metaKey(e.Meta)))
	}
	if e.Code != nil && o.code != *e.Code {
		diffs = append(diffs, want("code %s", codeName(*e.Code)))
	}
	if e.Message != nil && o.message != *e.Message {
		diffs = append(diffs, want("message %q", *e.Message))
	}
	return strings.Join(diffs, ", ")
}
