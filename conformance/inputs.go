package conformance

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/tariffd/tariff/plugins"
)

// probe is one request the suite sends.
type probe struct {
	label string
	kind  plugins.Kind
	in    *plugins.Input
	// atCap: the body is already as large as the transform output cap, so an
	// output-limit ERROR is the only possible answer of a transform that
	// adds to it (tariffd refuses such a call whatever the plugin does).
	atCap bool
}

// req is a request under construction: unlike plugins.Input, a field can be
// unset again.
type req struct {
	str    [13]string
	hasStr [13]bool
	num    [13]uint64
	hasNum [13]bool
	meta   map[string][]string
	body   []byte
}

func (r *req) setStr(f plugins.Field, v string) { r.str[f], r.hasStr[f] = v, true }
func (r *req) setNum(f plugins.Field, v uint64) { r.num[f], r.hasNum[f] = v, true }
func (r *req) unset(f plugins.Field)            { r.hasStr[f], r.hasNum[f] = false, false }

func (r req) input() *plugins.Input {
	in := &plugins.Input{Meta: r.meta, Body: r.body}
	for f := range r.str {
		if r.hasStr[f] {
			in.SetString(plugins.Field(f), r.str[f])
		}
		if r.hasNum[f] {
			in.SetU64(plugins.Field(f), r.num[f])
		}
	}
	return in
}

// withMeta returns a copy of r whose metadata has key set to vals (nil:
// removed).
func (r req) withMeta(key string, vals []string) req {
	m := maps.Clone(r.meta)
	if m == nil {
		m = map[string][]string{}
	}
	if vals == nil {
		delete(m, key)
	} else {
		m[key] = vals
	}
	r.meta = m
	return r
}

// hints are what the vectors and the config say about the requests the
// plugin cares for, so the generated requests reach its real paths.
type hints struct {
	methods  []string
	metaKeys []string
	metaVals map[string][]string
	callers  []string
}

var (
	methodRE = regexp.MustCompile(`^/[A-Za-z0-9_.]+/[A-Za-z0-9_]+$`)
	keyRE    = regexp.MustCompile(`^[a-z][a-z0-9_.]*(-[a-z0-9_.]+)+$`)
	callerRE = regexp.MustCompile(`^0x[0-9a-fA-F]{40}$`)
)

func newHints(vectors []Vector, config []byte) hints {
	h := hints{metaVals: map[string][]string{}}
	add := func(list *[]string, s string, max int) {
		if len(*list) < max && !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	keyOK := func(k string) bool {
		return !strings.HasPrefix(k, "snet-") && !strings.HasPrefix(k, "grpc-") && k != "user-agent"
	}
	for _, v := range vectors {
		if m, ok := v.Input.String(plugins.FieldMethod); ok && m != "" {
			add(&h.methods, m, 8)
		}
		if c, ok := v.Input.String(plugins.FieldCaller); ok && c != "" {
			add(&h.callers, c, 4)
		}
		for _, k := range slices.Sorted(maps.Keys(v.Input.Meta)) {
			if keyOK(k) {
				add(&h.metaKeys, k, 8)
				for _, val := range v.Input.Meta[k] {
					if len(h.metaVals[k]) < 4 && !slices.Contains(h.metaVals[k], val) {
						h.metaVals[k] = append(h.metaVals[k], val)
					}
				}
			}
		}
	}
	var walk func(any)
	see := func(s string) {
		switch {
		case methodRE.MatchString(s):
			add(&h.methods, s, 8)
		case keyRE.MatchString(s) && keyOK(s):
			add(&h.metaKeys, s, 8)
		case callerRE.MatchString(s):
			add(&h.callers, s, 4)
		}
	}
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			see(v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				see(k)
				walk(v[k])
			}
		}
	}
	var cfg any
	if json.Unmarshal(config, &cfg) == nil {
		walk(cfg)
	}
	return h
}

// Values of the typical requests.
const (
	typicalServiceID = "example-service"
	typicalOrgID     = "example-org"
	typicalGroupID   = "m5FKWq4hW0foGW5qSbzGSjgZRuKs7A1ZwbIrJ9e96rc="
	typicalCaller    = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	typicalTimeMS    = 1_700_000_000_000
)

var typicalMethods = []string{"/example_service.Calculator/add", "/example_service.Calculator/mul", "/package.Service/Method"}

// base returns the i-th typical request of kind k.
func (h hints) base(k plugins.Kind, i int) req {
	var r req
	methods := append(slices.Clone(h.methods), typicalMethods...)
	callers := append(slices.Clone(h.callers), typicalCaller)
	r.setStr(plugins.FieldMethod, methods[i%len(methods)])
	r.setStr(plugins.FieldServiceID, typicalServiceID)
	r.setStr(plugins.FieldOrgID, typicalOrgID)
	r.setStr(plugins.FieldGroupID, typicalGroupID)
	r.setStr(plugins.FieldCaller, callers[i%len(callers)])
	pt := "escrow"
	switch {
	case k == plugins.KindFreeCall:
		pt = "free-call"
	case k == plugins.KindPricing && i%3 == 2:
		pt = "prepaid-call"
	case k == plugins.KindTransform && i%2 == 1:
		pt = "free-call"
	}
	r.setStr(plugins.FieldPaymentType, pt)
	if pt != "free-call" {
		r.setNum(plugins.FieldChannelID, uint64(1+i))
	}
	r.setNum(plugins.FieldRequestTimeUnixMS, typicalTimeMS+uint64(i)*7_000_000)
	if k == plugins.KindFreeCall {
		r.setNum(plugins.FieldFreeCallsUsed, uint64(i%4))
		r.setNum(plugins.FieldFreeCallsAllowed, 10)
		r.setStr(plugins.FieldFreeCallUserID, []string{"", "user-1"}[i%2])
	}
	r.meta = map[string][]string{"user-agent": {"grpc-go/1.70.0"}, "snet-payment-type": {pt}}
	r.body = typicalBodies[i%len(typicalBodies)]
	return r
}

var typicalBodies = [][]byte{nil, pattern(16), pattern(2000)}

// pattern returns n bytes that look like a protobuf message.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 8)
	}
	return b
}

// typical returns plausible requests of each kind: for every method hinted
// (and a few examples), a plain one and one with a body and the hinted
// metadata.
func typical(kinds []plugins.Kind, h hints) []probe {
	var out []probe
	for _, k := range kinds {
		n := len(h.methods) + len(typicalMethods)
		for i := 0; i < n; i++ {
			r := h.base(k, i)
			m := r.str[plugins.FieldMethod]
			out = append(out, probe{label: fmt.Sprintf("typical %s request %s", k, m), kind: k, in: r.input()})
			rich := h.base(k, i+1)
			rich.setStr(plugins.FieldMethod, m)
			for _, key := range h.metaKeys {
				if vals := h.metaVals[key]; len(vals) > 0 {
					rich = rich.withMeta(key, []string{vals[i%len(vals)]})
				}
			}
			rich.body = pattern(2000 + i)
			label := fmt.Sprintf("typical %s request %s with a %d-byte body", k, m, len(rich.body))
			if len(h.metaKeys) > 0 {
				label += " and metadata " + strings.Join(h.metaKeys, ", ")
			}
			out = append(out, probe{label: label, kind: k, in: rich.input()})
		}
	}
	return out
}

// retryLengths exercise the buffer-too-small retry path of read accessors:
// around every power of two a guest might choose for its first buffer.
var retryLengths = []int{1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257,
	511, 512, 513, 1023, 1024, 1025, 4095, 4096, 4097, 16385, 65535, 65536}

const invalidUTF8 = "\xff\xfe\xc0\x80/bad\xed\xa0\x80"

var (
	fill64K = fillString(64 << 10)
	rawBin  = "\x00\xff\x00tariff\x80"
)

func fillString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[i%len(alphabet)]
	}
	return string(b)
}

var stringFields = []struct {
	f    plugins.Field
	name string
}{
	{plugins.FieldMethod, "METHOD"}, {plugins.FieldServiceID, "SERVICE_ID"}, {plugins.FieldOrgID, "ORG_ID"},
	{plugins.FieldGroupID, "GROUP_ID"}, {plugins.FieldCaller, "CALLER"}, {plugins.FieldPaymentType, "PAYMENT_TYPE"},
	{plugins.FieldFreeCallUserID, "FREE_CALL_USER_ID"},
}

var numFields = []struct {
	f    plugins.Field
	name string
}{
	{plugins.FieldChannelID, "CHANNEL_ID"}, {plugins.FieldFreeCallsUsed, "FREE_CALLS_USED"},
	{plugins.FieldFreeCallsAllowed, "FREE_CALLS_ALLOWED"}, {plugins.FieldRequestTimeUnixMS, "REQUEST_TIME_UNIX_MS"},
}

// readable reports whether kind k may read field f (ABI §4); the others
// answer -2 whatever the input holds, so varying them tests nothing.
func readable(k plugins.Kind, f plugins.Field) bool {
	switch f {
	case plugins.FieldChannelID:
		return k != plugins.KindFreeCall
	case plugins.FieldFreeCallsUsed, plugins.FieldFreeCallsAllowed, plugins.FieldFreeCallUserID:
		return k == plugins.KindFreeCall
	}
	return true
}

// adversarial returns the hostile requests of each kind: absent, empty,
// huge and invalid UTF-8 values, lengths around buffer sizes, odd metadata,
// empty and maximal bodies. maxBody is the largest body tariffd forwards
// (the transform output cap).
func adversarial(kinds []plugins.Kind, h hints, maxBody int) []probe {
	var out []probe
	big := pattern(maxBody)
	for _, k := range kinds {
		add := func(label string, r req) {
			out = append(out, probe{label: fmt.Sprintf("%s: %s", k, label), kind: k, in: r.input(), atCap: len(r.body) >= maxBody})
		}
		add("no fields, metadata or body", req{})
		for _, sf := range stringFields {
			if !readable(k, sf.f) {
				continue
			}
			r := h.base(k, 0)
			r.unset(sf.f)
			add(sf.name+" absent", r)
			r.setStr(sf.f, "")
			add(sf.name+" empty", r)
			r.setStr(sf.f, invalidUTF8)
			add(sf.name+" invalid UTF-8", r)
			for _, n := range retryLengths {
				s := fill64K[:n]
				if sf.f == plugins.FieldMethod && n > 2 {
					s = "/" + s[:n-2] + "/" // still shaped like a method
				}
				r.setStr(sf.f, s)
				add(fmt.Sprintf("%s of %d bytes", sf.name, n), r)
			}
		}
		for _, nf := range numFields {
			if !readable(k, nf.f) {
				continue
			}
			r := h.base(k, 0)
			r.unset(nf.f)
			add(nf.name+" absent", r)
			for _, v := range []uint64{0, 1<<63 - 1, 1<<64 - 1} {
				r.setNum(nf.f, v)
				add(fmt.Sprintf("%s = %d", nf.name, v), r)
			}
		}
		r := h.base(k, 0)
		add("no metadata", r.withMeta("user-agent", nil).withMeta("snet-payment-type", nil))
		for _, key := range h.metaKeys {
			for _, c := range []struct {
				label string
				vals  []string
			}{
				{"empty", []string{""}},
				{"invalid UTF-8", []string{invalidUTF8}},
				{"64 KiB", []string{fill64K}},
				{"3 values", []string{"a", "b", "c"}},
				{"17 bytes", []string{fill64K[:17]}},
				{"257 bytes", []string{fill64K[:257]}},
				{"4097 bytes", []string{fill64K[:4097]}},
			} {
				add(fmt.Sprintf("metadata %s: %s", key, c.label), r.withMeta(key, c.vals))
			}
		}
		add("a -bin metadata key with raw bytes", r.withMeta("x-raw-bin", []string{rawBin}))
		add("a metadata key with 100 values", r.withMeta("x-many", slices.Repeat([]string{"v"}, 100)))
		many := maps.Clone(r.meta)
		for i := 0; i < 1000; i++ {
			many[fmt.Sprintf("x-key-%04d", i)] = []string{"v"}
		}
		rm := r
		rm.meta = many
		add("1000 metadata keys", rm)
		for _, b := range []struct {
			label string
			body  []byte
		}{
			{"empty body", nil},
			{"1-byte body", []byte{0x08}},
			{"body that is not protobuf", []byte(invalidUTF8 + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")},
			{fmt.Sprintf("maximal body (%d bytes)", maxBody), big},
		} {
			rb := r
			rb.body = b.body
			add(b.label, rb)
		}
		all := h.base(k, 0)
		for _, sf := range stringFields {
			all.setStr(sf.f, fill64K)
		}
		all.meta = many
		all.body = big
		add("everything at once: 64 KiB strings, 1000 metadata keys, maximal body", all)
	}
	return out
}
