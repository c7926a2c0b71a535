package conformance_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/conformance"
	"github.com/tariffd/tariff/plugins"
)

func TestParseVectors(t *testing.T) {
	vs := vectors(t, "good.vectors.json")
	require.Len(t, vs, 9)

	v := vs[0]
	require.Equal(t, "add is 10 cogs", v.Name)
	require.Equal(t, plugins.KindPricing, v.Kind)
	m, ok := v.Input.String(plugins.FieldMethod)
	require.True(t, ok)
	require.Equal(t, "/example_service.Calculator/add", m)
	ch, ok := v.Input.U64(plugins.FieldChannelID)
	require.True(t, ok)
	require.EqualValues(t, 7, ch)
	_, ok = v.Input.String(plugins.FieldCaller)
	require.False(t, ok, "fields not given are absent")
	require.Equal(t, plugins.StatusOK, v.Expect.Status)
	require.EqualValues(t, 10, *v.Expect.Price)

	require.Len(t, vs[1].Input.Body, 2000) // body_len: zero bytes
	require.Equal(t, map[string][]string{"x-units": {"42"}}, vs[2].Input.Meta)
	require.EqualValues(t, 3, *vs[3].Expect.Code) // "InvalidArgument"
	require.Equal(t, "x-units: not a number", *vs[3].Expect.Message)
	require.Equal(t, []byte("hello"), vs[7].Input.Body)
	require.True(t, vs[7].Expect.BodyUnchanged)
	require.Equal(t, map[string][]string{"x-plan": {"free"}}, vs[7].Expect.Meta)
	require.Equal(t, []byte("\n\x05hello"), vs[8].Input.Body) // body_base64
	require.Nil(t, vs[8].Expect.Body, "no body expected: not checked")

	// -bin metadata values are base64, padded or not.
	vs, err := conformance.ParseVectors([]byte(`{"vectors": [{"name": "bin", "input": {"meta": {"x-sig-bin": ["AP8A", "AP8="]}},
		"expect": {"status": "ERROR"}}]}`))
	require.NoError(t, err)
	require.Equal(t, []string{"\x00\xff\x00", "\x00\xff"}, vs[0].Input.Meta["x-sig-bin"])
	require.True(t, vs[0].Expect.Error)
}

func TestParseVectorsErrors(t *testing.T) {
	one := func(v string) string { return `{"vectors": [` + v + `]}` }
	for _, tc := range []struct{ in, want string }{
		{``, "invalid vectors: EOF"},
		{`[]`, "invalid vectors: json: cannot unmarshal array"},
		{`{}`, `invalid vectors: no "vectors" array`},
		{`{"vectors": []} {}`, "invalid vectors: data after the JSON object"},
		{`{"vector": []}`, `invalid vectors: json: unknown field "vector"`},
		{one(`{"input": {}, "expect": {"status": "OK"}}`), `vector 1: "name" is required`},
		{one(`{"name": "a", "input": {}}`), `vector 1 ("a"): "expect" is required`},
		{one(`{"name": "a", "kind": "price", "input": {}, "expect": {"status": "OK"}}`), `unknown kind "price"`},
		{one(`{"name": "a", "input": {"methd": "/a/b"}, "expect": {"status": "OK"}}`), `unknown field "methd"`},
		{one(`{"name": "a", "input": {"channel_id": -1}, "expect": {"status": "OK"}}`), "cannot unmarshal number -1"},
		{one(`{"name": "a", "input": {"meta": {"X-Up": "v"}}, "expect": {"status": "OK"}}`), `input: meta: key "X-Up": keys are lowercase`},
		{one(`{"name": "a", "input": {"meta": {"k": 1}}, "expect": {"status": "OK"}}`), `key "k": want a string or an array of strings`},
		{one(`{"name": "a", "input": {"meta": {"k-bin": "!!"}}, "expect": {"status": "OK"}}`), `values of -bin keys are base64`},
		{one(`{"name": "a", "input": {"body": "x", "body_len": 3}, "expect": {"status": "OK"}}`), `at most one of "body", "body_base64" and "body_len"`},
		{one(`{"name": "a", "input": {"body_len": 100000000}, "expect": {"status": "OK"}}`), `body_len 100000000: want 0 to 67108864`},
		{one(`{"name": "a", "input": {"body_base64": "%"}, "expect": {"status": "OK"}}`), `body_base64: illegal base64`},
		{one(`{"name": "a", "input": {}, "expect": {}}`), `"status" is required: OK, PASS, DENY or ERROR`},
		{one(`{"name": "a", "input": {}, "expect": {"status": "MAYBE"}}`), `status "MAYBE": want OK, PASS, DENY or ERROR`},
		{one(`{"name": "a", "input": {}, "expect": {"status": "PASS", "price": 1}}`), `outputs (price, free_call, remaining, body, meta) are only given with status OK`},
		{one(`{"name": "a", "input": {}, "expect": {"status": "OK", "code": 3}}`), `code and message are only given with status DENY`},
		{one(`{"name": "a", "input": {}, "expect": {"status": "DENY", "code": 0}}`), `code 0: want 1 to 16`},
		{one(`{"name": "a", "input": {}, "expect": {"status": "DENY", "code": "Nope"}}`), `code "Nope": want a gRPC code`},
		{one(`{"name": "a", "input": {}, "expect": {"status": "OK", "body": "", "body_unchanged": true}}`), `give "body" or "body_unchanged", not both`},
		{one(`{"name": "a", "input": {}, "expect": {"status": "OK"}}, {"name": "a", "input": {}, "expect": {"status": "OK"}}`), `vector 2 ("a"): the name is used twice`},
	} {
		_, err := conformance.ParseVectors([]byte(tc.in))
		require.ErrorIs(t, err, conformance.ErrVectors, tc.in)
		require.ErrorContains(t, err, tc.want, tc.in)
	}
}

// FuzzParseVectors: vectors files come from plugin authors; no input may
// crash the parser, and what it accepts is complete.
func FuzzParseVectors(f *testing.F) {
	for _, name := range []string{"good.vectors.json", "good_wrong.vectors.json", "../../examples/plugins/go-tiered/vectors.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"vectors": [{"name": "a", "input": {"meta": {"k-bin": ["AA"]}, "body_len": 3}, "expect": {"status": "DENY", "code": "internal"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		vs, err := conformance.ParseVectors(b)
		if err != nil {
			require.ErrorIs(t, err, conformance.ErrVectors)
			return
		}
		for _, v := range vs {
			require.NotEmpty(t, v.Name)
			require.True(t, v.Expect.Error || v.Expect.Status <= plugins.StatusDeny)
		}
	})
}
