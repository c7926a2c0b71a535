package conformance

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tariffd/tariff/plugins"
)

// outcome is what one call answered, reduced to what must be the same when
// the same request is asked again: the body is kept as a hash.
type outcome struct {
	isErr     bool
	reason    plugins.Reason // ERROR
	errStatus int32          // ERROR with reason status: the status returned
	detail    string         // ERROR: one line, not compared

	status    plugins.Status
	price     uint64
	freeCall  bool
	remaining uint64
	bodySet   bool
	bodyLen   int
	bodySum   [32]byte
	meta      string // metaKey of Result.Meta
	code      uint32
	message   string

	logs int // lines the call tried to log, not compared
}

func newOutcome(res plugins.Result, err error) outcome {
	if err != nil {
		o := outcome{isErr: true, detail: err.Error()}
		var ce *plugins.CallError
		if errors.As(err, &ce) {
			o.reason, o.errStatus, o.detail = ce.Reason, ce.Status, ce.Detail
		}
		return o
	}
	o := outcome{
		status:   res.Status,
		price:    res.Price,
		freeCall: res.FreeCall, remaining: res.FreeCallsRemaining,
		bodySet: res.BodySet,
		bodyLen: len(res.Body),
		code:    res.Code, message: res.Message,
		logs: res.Logs + res.LogsDropped,
	}
	if res.BodySet {
		o.bodySum = sha256.Sum256(res.Body)
	}
	if len(res.Meta) > 0 {
		o.meta = metaKey(res.Meta)
	}
	return o
}

// same reports whether two outcomes are the same answer. ERRORs are the
// same when their reason (and returned status) are.
func (o outcome) same(p outcome) bool {
	if o.isErr || p.isErr {
		return o.isErr == p.isErr && o.reason == p.reason && o.errStatus == p.errStatus
	}
	o.logs, p.logs = 0, 0
	o.detail, p.detail = "", ""
	return o == p
}

func (o outcome) String() string {
	if o.isErr {
		s := "ERROR"
		if o.reason != 0 {
			s += " " + strings.ReplaceAll(o.reason.String(), "_", " ")
		}
		if o.detail != "" {
			s += ": " + o.detail
		}
		return s
	}
	var b strings.Builder
	b.WriteString(o.status.String())
	switch o.status {
	case plugins.StatusOK:
		var parts []string
		if o.price != 0 {
			parts = append(parts, fmt.Sprintf("price %d", o.price))
		}
		if o.freeCall || o.remaining != 0 {
			parts = append(parts, fmt.Sprintf("free call allowed=%t, %d remaining", o.freeCall, o.remaining))
		}
		if o.bodySet {
			parts = append(parts, fmt.Sprintf("body %d bytes (sha256 %x)", o.bodyLen, o.bodySum[:6]))
		}
		if o.meta != "" {
			parts = append(parts, "meta "+o.meta)
		}
		if len(parts) == 0 {
			parts = append(parts, "price 0")
		}
		b.WriteString(" " + strings.Join(parts, ", "))
	case plugins.StatusDeny:
		fmt.Fprintf(&b, " %s", codeName(o.code))
		if o.message != "" {
			fmt.Fprintf(&b, " %q", cut(o.message, 120))
		}
	}
	return b.String()
}

// metaKey is a canonical, readable form of metadata: keys sorted, values
// quoted.
func metaKey(m map[string][]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		for j, v := range m[k] {
			if j > 0 {
				b.WriteString(" ")
			}
			b.WriteString(k + "=" + strconv.Quote(cut(v, 80)))
		}
	}
	return b.String()
}

// describeBody names a body in a message: short printable text as it is,
// anything else by length and hash.
func describeBody(b []byte) string {
	if len(b) <= 40 && utf8.Valid(b) && strconv.CanBackquote(string(b)) {
		return strconv.Quote(string(b))
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes (sha256 %x)", len(b), sum[:6])
}

// cut shortens s to about n bytes, at a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
