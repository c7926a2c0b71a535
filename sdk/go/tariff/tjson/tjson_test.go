package tjson_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tariffd/tariff/sdk/go/tariff/tjson"
)

const doc = `{
	"base": 10,
	"name": "tiered \u00e9\n",
	"on": true,
	"neg": -42,
	"nothing": null,
	"methods": {
		"/example_service.Calculator/add": {"base": 5, "tiers": [{"over_bytes": 1024, "price": 25}]},
		"/example_service.Calculator/mul": {"base": 7}
	},
	"list": [1, "two", [3], {"four": 4}],
	"base": 11
}`

func TestGet(t *testing.T) {
	d := []byte(doc)
	if n, ok := tjson.Get(d, "base").Uint(); !ok || n != 11 {
		t.Errorf("base = %d, %v; want 11 (the last duplicate)", n, ok)
	}
	if s, ok := tjson.Get(d, "name").Str(); !ok || s != "tiered é\n" {
		t.Errorf("name = %q, %v", s, ok)
	}
	if b, ok := tjson.Get(d, "on").Bool(); !ok || !b {
		t.Errorf("on = %v, %v", b, ok)
	}
	if n, ok := tjson.Get(d, "neg").Int(); !ok || n != -42 {
		t.Errorf("neg = %d, %v", n, ok)
	}
	if _, ok := tjson.Get(d, "neg").Uint(); ok {
		t.Error("neg read as a Uint")
	}
	if k := tjson.Get(d, "nothing").Kind(); k != tjson.Null {
		t.Errorf("nothing: kind %d", k)
	}
	if v := tjson.Get(d, "missing"); v != nil || v.Exists() {
		t.Errorf("missing = %q", v)
	}
	if _, ok := tjson.Get(d, "missing", "deeper").Uint(); ok {
		t.Error("missing.deeper found")
	}
	add := tjson.Get(d, "methods", "/example_service.Calculator/add")
	if n, ok := add.Get("base").Uint(); !ok || n != 5 {
		t.Errorf("add.base = %d, %v", n, ok)
	}
	var tiers []uint64
	ok := add.Get("tiers").Array(func(i int, v tjson.Value) bool {
		p, _ := v.Get("price").Uint()
		tiers = append(tiers, p)
		return true
	})
	if !ok || !reflect.DeepEqual(tiers, []uint64{25}) {
		t.Errorf("tiers = %v, %v", tiers, ok)
	}
	var keys []string
	tjson.Get(d, "methods").Object(func(k string, _ tjson.Value) bool {
		keys = append(keys, k)
		return true
	})
	if want := []string{"/example_service.Calculator/add", "/example_service.Calculator/mul"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys = %q", keys)
	}
	if n := tjson.Get(d, "list").Len(); n != 4 {
		t.Errorf("len(list) = %d", n)
	}
	if n := tjson.Get(d, "methods").Len(); n != 2 {
		t.Errorf("len(methods) = %d", n)
	}
	if n := tjson.Get(d, "base").Len(); n != -1 {
		t.Errorf("len(base) = %d", n)
	}
}

func TestNumbers(t *testing.T) {
	for _, c := range []struct {
		in   string
		uint uint64
		uok  bool
		int  int64
		iok  bool
	}{
		{"0", 0, true, 0, true},
		{"18446744073709551615", math.MaxUint64, true, 0, false},
		{"18446744073709551616", 0, false, 0, false},
		{"-9223372036854775808", 0, false, math.MinInt64, true},
		{"01", 0, false, 0, false},
		{"1.0", 0, false, 0, false},
		{"1e3", 0, false, 0, false},
		{"-", 0, false, 0, false},
		{`"5"`, 0, false, 0, false},
	} {
		v := tjson.Get([]byte(`{"n":`+c.in+`}`), "n")
		if u, ok := v.Uint(); u != c.uint || ok != c.uok {
			t.Errorf("%s: Uint = %d, %v", c.in, u, ok)
		}
		if i, ok := v.Int(); i != c.int || ok != c.iok {
			t.Errorf("%s: Int = %d, %v", c.in, i, ok)
		}
	}
}

func TestMalformed(t *testing.T) {
	for _, in := range []string{
		``, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,}`, `{a:1}`, `{"a" 1}`, `[1,]`, `"abc`,
		`{"a":"\q"}`, `{"a":tru}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, "{\"a\":\"\x01\"}",
		strings.Repeat("[", 100000), strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	} {
		if _, ok := tjson.Get([]byte(in), "a").Uint(); ok {
			t.Errorf("%q: found a", in)
		}
		if s, ok := tjson.Get([]byte(in), "a").Str(); ok {
			t.Errorf("%q: found a = %q", in, s)
		}
	}
}

// FuzzGet checks tjson against encoding/json on every document both read.
func FuzzGet(f *testing.F) {
	f.Add([]byte(doc))
	f.Add([]byte(`{"a":"\ud83d\ude00 \ud800 \udc00x \u0041"}`))
	f.Add([]byte(`{"a":[1,{"b":null}],"a":"x\"y"}`))
	f.Add([]byte("{\"a\":\"\xff\xfe\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v := tjson.Get(data, "a") // must not panic
		v.Len()
		var m map[string]any
		if json.Unmarshal(data, &m) != nil || m == nil {
			return
		}
		want, found := m["a"]
		if !found {
			// encoding/json matches keys exactly only for maps; tjson too.
			if v != nil {
				t.Fatalf("tjson found %q, encoding/json did not", v)
			}
			return
		}
		switch w := want.(type) {
		case string:
			if s, ok := v.Str(); !ok || s != w {
				t.Fatalf("Str = %q, %v; encoding/json: %q", s, ok, w)
			}
		case bool:
			if b, ok := v.Bool(); !ok || b != w {
				t.Fatalf("Bool = %v, %v; encoding/json: %v", b, ok, w)
			}
		case nil:
			if v.Kind() != tjson.Null {
				t.Fatalf("kind %d, encoding/json: null", v.Kind())
			}
		case float64:
			if n, ok := v.Int(); ok && float64(n) != w && math.Abs(w) < 1<<53 {
				t.Fatalf("Int = %d, encoding/json: %v", n, w)
			}
			if g, err := strconv.ParseFloat(string(v), 64); err != nil || g != w {
				t.Fatalf("number %q, encoding/json: %v", v, w)
			}
		case []any:
			if n := v.Len(); n != len(w) {
				t.Fatalf("Len = %d, encoding/json: %d", n, len(w))
			}
		case map[string]any:
			if n := v.Len(); n < len(w) { // duplicates count in Len
				t.Fatalf("Len = %d, encoding/json: %d", n, len(w))
			}
		}
	})
}
