package plugins_test

import (
	"encoding/binary"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/plugins"
)

// probe runs testdata/probe.wat: op and its arguments go in metadata; the
// answer comes back as the price (pricing), the remaining count
// (free_call), or the new body (transform: 8 bytes of answer, then what the
// host wrote into the guest's buffer).
type probe struct {
	t *testing.T
	p *plugins.Plugin
}

func newProbe(t *testing.T, opts plugins.Options) probe {
	rt, _ := newRuntime(t)
	opts.Limits.Instances = 1
	return probe{t, load(t, rt, "probe", opts)}
}

func probeInput(base *plugins.Input, op string, a, b int64, kv ...string) *plugins.Input {
	in := &plugins.Input{}
	if base != nil {
		*in = *base
	}
	meta := map[string][]string{"x-op": {op}, "x-a": {strconv.FormatInt(a, 10)}, "x-b": {strconv.FormatInt(b, 10)}}
	for k, v := range in.Meta {
		meta[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		meta[kv[i]] = append(meta[kv[i]], kv[i+1])
	}
	in.Meta = meta
	return in
}

// answer runs op in kind and returns the accessor's answer and, for
// transform, the bytes the host wrote into the buffer.
func (pr probe) answer(kind plugins.Kind, in *plugins.Input) (int64, []byte) {
	pr.t.Helper()
	res, err := pr.p.Call(ctx, kind, in)
	require.NoError(pr.t, err)
	require.Equal(pr.t, plugins.StatusOK, res.Status)
	switch kind {
	case plugins.KindPricing:
		return int64(res.Price), nil
	case plugins.KindFreeCall:
		require.True(pr.t, res.FreeCall)
		return int64(res.FreeCallsRemaining), nil
	}
	require.GreaterOrEqual(pr.t, len(res.Body), 8)
	return int64(binary.LittleEndian.Uint64(res.Body)), res.Body[8:]
}

func TestAccessors(t *testing.T) {
	pr := newProbe(t, plugins.Options{Config: []byte(`{"multiplier":2}`)})
	base := &plugins.Input{Body: []byte("0123456789")}
	base.SetString(plugins.FieldMethod, "/calc.Calculator/add")
	base.SetString(plugins.FieldCaller, "0xAbC")
	base.SetString(plugins.FieldFreeCallUserID, "")
	base.SetU64(plugins.FieldChannelID, 42)
	base.SetU64(plugins.FieldFreeCallsUsed, 3)
	base.SetU64(plugins.FieldRequestTimeUnixMS, 1_700_000_000_123)
	base.Meta = map[string][]string{
		"x-user":   {"alice", "bob"},
		"data-bin": {"\x00\xff\x01"},
	}
	const (
		pricing   = plugins.KindPricing
		freeCall  = plugins.KindFreeCall
		transform = plugins.KindTransform
	)

	for _, tc := range []struct {
		name  string
		kind  plugins.Kind
		op    string
		a, b  int64
		kv    []string
		want  int64
		bytes string // transform: the buffer's first min(want, b) bytes
	}{
		{"string field", transform, "i", 1, 100, nil, 20, "/calc.Calculator/add"},
		{"exact buffer", transform, "i", 5, 5, nil, 5, "0xAbC"},
		{"absent string", pricing, "i", int64(plugins.FieldOrgID), 100, nil, -1, ""},
		{"empty string is present", freeCall, "i", int64(plugins.FieldFreeCallUserID), 100, nil, 0, ""},
		{"string field of another kind", transform, "i", int64(plugins.FieldFreeCallUserID), 100, nil, -2, ""},
		{"unknown field", transform, "i", 99, 100, nil, -1, ""},
		{"numeric field read as string", transform, "i", int64(plugins.FieldChannelID), 100, nil, -1, ""},
		{"u64 field", pricing, "u", int64(plugins.FieldChannelID), 0, nil, 42, ""},
		{"u64 field of another kind", transform, "u", int64(plugins.FieldFreeCallsUsed), 0, nil, -2, ""},
		{"u64 free_call field", freeCall, "u", int64(plugins.FieldFreeCallsUsed), 0, nil, 3, ""},
		{"channel id hidden from free_call", freeCall, "u", int64(plugins.FieldChannelID), 0, nil, -2, ""},
		{"absent u64", transform, "u", int64(plugins.FieldFreeCallsAllowed), 0, nil, -2, ""},
		{"body length", transform, "u", int64(plugins.FieldBodyLen), 0, nil, 10, ""},
		{"request time", transform, "u", int64(plugins.FieldRequestTimeUnixMS), 0, nil, 1_700_000_000_123, ""},
		{"unknown u64", transform, "u", 0, 0, nil, -1, ""},
		{"meta value 0", transform, "m", 0, 64, []string{"x-name", "x-user"}, 5, "alice"},
		{"meta value 1", transform, "m", 1, 64, []string{"x-name", "x-user"}, 3, "bob"},
		{"meta index out of range", transform, "m", 2, 64, []string{"x-name", "x-user"}, -1, ""},
		{"meta key looked up in lowercase", transform, "m", 0, 64, []string{"x-name", "X-User"}, 5, "alice"},
		{"meta absent key", transform, "m", 0, 64, []string{"x-name", "x-nope"}, -1, ""},
		{"binary meta is raw", transform, "m", 0, 64, []string{"x-name", "data-bin"}, 3, "\x00\xff\x01"},
		{"meta keys, sorted, NUL-separated", transform, "k", 0, 200, nil, 28, "data-bin\x00x-a\x00x-b\x00x-op\x00x-user"},
		{"body from 0", transform, "y", 0, 4, nil, 10, "0123"},
		{"body from offset: returns what remains", transform, "y", 6, 100, nil, 4, "6789"},
		{"body at its end", transform, "y", 10, 100, nil, 0, ""},
		{"body past its end", transform, "y", 50, 100, nil, 0, ""},
		{"body hidden from pricing without needs_body", pricing, "y", 0, 4, nil, -2, ""},
		{"config", transform, "c", 0, 100, nil, 16, `{"multiplier":2}`},
		{"meta_set", transform, "s", 0, 0, []string{"x-name", "x-new", "x-val", "v"}, 0, ""},
		{"meta_set refuses snet-", transform, "s", 0, 0, []string{"x-name", "snet-payment-type", "x-val", "v"}, -1, ""},
		{"meta_set refuses pseudo-headers", transform, "s", 0, 0, []string{"x-name", ":path", "x-val", "v"}, -1, ""},
		{"meta_set refuses grpc-", transform, "s", 0, 0, []string{"x-name", "grpc-timeout", "x-val", "1S"}, -1, ""},
		{"meta_set refuses uppercase", transform, "s", 0, 0, []string{"x-name", "X-New", "x-val", "v"}, -1, ""},
		{"meta_set refuses an empty key", transform, "s", 0, 0, []string{"x-val", "v"}, -1, ""},
		{"meta_set is transform only", pricing, "s", 0, 0, []string{"x-name", "x-new", "x-val", "v"}, -2, ""},
		{"body_write is transform only", freeCall, "w", 1, 0, nil, 0, ""}, // -2, clamped to 0 by set_free_call
		{"zero-length range at the end of memory", pricing, "P", 65536, 0, nil, 20, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr.t = t
			got, buf := pr.answer(tc.kind, probeInput(base, tc.op, tc.a, tc.b, tc.kv...))
			switch tc.kind {
			case pricing: // the answer's bits, as unsigned cogs
				require.Equal(t, tc.want, got)
			case freeCall: // set_free_call clamps a negative count to 0
				require.Equal(t, max(tc.want, 0), got)
			case transform:
				require.Equal(t, tc.want, got)
				require.Equal(t, tc.bytes, string(buf))
			}
		})
	}
}

// TestBufferTooSmall: the answer is the full length and nothing is written,
// so the guest can retry with a larger buffer.
func TestBufferTooSmall(t *testing.T) {
	pr := newProbe(t, plugins.Options{}) // its buffer is still zero
	in := &plugins.Input{Meta: map[string][]string{"x-user": {"alice"}}}
	in.SetString(plugins.FieldMethod, "/calc.Calculator/add")
	got, buf := pr.answer(plugins.KindTransform, probeInput(in, "i", 1, 3))
	require.EqualValues(t, 20, got)
	require.Equal(t, "\x00\x00\x00", string(buf))
	got, buf = pr.answer(plugins.KindTransform, probeInput(in, "k", 0, 4))
	require.EqualValues(t, 19, got) // "x-a\x00x-b\x00x-op\x00x-user"
	require.Equal(t, "\x00\x00\x00\x00", string(buf))
	got, buf = pr.answer(plugins.KindTransform, probeInput(in, "i", 1, 20))
	require.EqualValues(t, 20, got)
	require.Equal(t, "/calc.Calculator/add", string(buf))
}

func TestAccessorsWithoutConfig(t *testing.T) {
	pr := newProbe(t, plugins.Options{})
	got, _ := pr.answer(plugins.KindTransform, probeInput(nil, "c", 0, 100))
	require.EqualValues(t, -1, got)
}

func TestNeedsBodyAndHugeU64(t *testing.T) {
	pr := newProbe(t, plugins.Options{})
	in := &plugins.Input{}
	in.SetU64(plugins.FieldChannelID, math.MaxUint64-1) // would read as -2
	got, _ := pr.answer(plugins.KindTransform, probeInput(in, "u", int64(plugins.FieldChannelID), 0))
	require.EqualValues(t, -1, got)
	in.SetU64(plugins.FieldChannelID, math.MaxInt64)
	got, _ = pr.answer(plugins.KindTransform, probeInput(in, "u", int64(plugins.FieldChannelID), 0))
	require.EqualValues(t, math.MaxInt64, got)
}

func TestBadPointersInAccessors(t *testing.T) {
	pr := newProbe(t, plugins.Options{})
	for _, tc := range []struct {
		a, b   int64
		detail string
	}{
		{65536 - 2, 4, "input: range [65534, 65534+4) is outside guest memory (65536 bytes)"},
		{65537, 0, "input: range [65537, 65537+0)"},
		{0, -1, "input: range [0, 0+4294967295)"},
	} {
		_, err := pr.p.Call(ctx, plugins.KindPricing, probeInput(nil, "P", tc.a, tc.b))
		require.ErrorIs(t, err, plugins.ErrBadPointer)
		require.ErrorContains(t, err, tc.detail)
	}
	require.EqualValues(t, 3, pr.p.Stats().Discarded)
}

func TestInputSetters(t *testing.T) {
	var in plugins.Input
	require.Panics(t, func() { in.SetString(plugins.FieldChannelID, "x") })
	require.Panics(t, func() { in.SetU64(plugins.FieldMethod, 1) })
	require.Panics(t, func() { in.SetU64(plugins.FieldBodyLen, 1) })
	require.Panics(t, func() { in.SetString(0, "x") })
	in.SetString(plugins.FieldMethod, "/a/b")
	v, ok := in.String(plugins.FieldMethod)
	require.True(t, ok)
	require.Equal(t, "/a/b", v)
	in.Body = []byte("abc")
	n, ok := in.U64(plugins.FieldBodyLen)
	require.True(t, ok)
	require.EqualValues(t, 3, n)
	in.Reset()
	_, ok = in.String(plugins.FieldMethod)
	require.False(t, ok)
}
