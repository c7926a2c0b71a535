package main

import (
	"strings"
	"testing"

	"github.com/tariffd/tariff/sdk/go/tariff"
	"github.com/tariffd/tariff/sdk/go/tariff/tarifftest"
)

// config is the JSON tariffd makes of the HCL config block in README.md.
const config = `{
	"methods": {
		"/example_service.Calculator/add": {
			"base": 10,
			"tiers": [{"over_bytes": 1024, "price": 25}, {"over_bytes": 65536, "price": 100}]
		},
		"/example_service.Calculator/mul": {"base": 20}
	},
	"priority_header": "x-priority",
	"priority_percent": {"low": 50, "high": 300}
}`

func newFake(t *testing.T, cfg string) *tarifftest.Fake {
	t.Helper()
	f := tarifftest.New(t, info)
	f.Config = []byte(cfg)
	if res := f.Init(load); res.IsError() {
		t.Fatalf("tariff_init: %s %v", res.Err, res.Logs)
	}
	return f
}

func TestPrice(t *testing.T) {
	f := newFake(t, config)
	for _, c := range []struct {
		method   string
		size     int
		priority string
		status   int32
		price    uint64
	}{
		{"/example_service.Calculator/add", 0, "", tariff.OK, 10},
		{"/example_service.Calculator/add", 1024, "", tariff.OK, 10},
		{"/example_service.Calculator/add", 1025, "", tariff.OK, 25},
		{"/example_service.Calculator/add", 65537, "", tariff.OK, 100},
		{"/example_service.Calculator/add", 1025, "high", tariff.OK, 75},
		{"/example_service.Calculator/add", 0, "low", tariff.OK, 5},
		{"/example_service.Calculator/mul", 1 << 20, "", tariff.OK, 20},
		{"/example_service.Calculator/mul", 0, "urgent", tariff.Deny, 0},
		{"/example_service.Calculator/div", 0, "", tariff.Pass, 0}, // unknown: the metadata price applies
		{"/example_service.Calculator/div", 0, "urgent", tariff.Pass, 0},
	} {
		f.Method, f.Body, f.Meta = c.method, make([]byte, c.size), nil
		if c.priority != "" {
			f.Meta = map[string][]string{"x-priority": {c.priority}}
		}
		res := f.Call(tarifftest.Pricing, price)
		if res.IsError() || res.Status != c.status || res.Price != c.price {
			t.Errorf("%s, %d bytes, priority %q: got status %d price %d (%s), want %d, %d",
				c.method, c.size, c.priority, res.Status, res.Price, res.Err, c.status, c.price)
		}
		if res.Status == tariff.Deny && (res.Code != tariff.CodeInvalidArgument || !strings.Contains(res.Message, `unknown priority "urgent" (known: low, high)`)) {
			t.Errorf("deny: %d %q", res.Code, res.Message)
		}
	}
}

func TestPriceOverflow(t *testing.T) {
	f := newFake(t, `{"methods": {"/a/b": {"base": 18446744073709551615}}, "priority_header": "x-p", "priority_percent": {"x": 200, "same": 100}}`)
	f.Method = "/a/b"
	f.Meta = map[string][]string{"x-p": {"same"}}
	if res := f.Call(tarifftest.Pricing, price); res.Price != 1<<64-1 {
		t.Errorf("100%%: %+v", res)
	}
	f.Meta = map[string][]string{"x-p": {"x"}}
	if res := f.Call(tarifftest.Pricing, price); !res.IsError() || !res.Logged("overflow") {
		t.Errorf("200%% of the maximum: %+v", res)
	}
}

func TestConfigErrors(t *testing.T) {
	for cfg, want := range map[string]string{
		``:                                     "a config block is required",
		`{}`:                                   "methods: want an object",
		`{"methods": {}}`:                      "methods: want an object",
		`{"methods": {"/a/b": {}}}`:            "methods./a/b.base",
		`{"methods": {"/a/b": {"base": 1.5}}}`: "methods./a/b.base",
		`{"methods": {"/a/b": {"base": 1, "tiers": 3}}}`:                                                                "methods./a/b.tiers: want a list",
		`{"methods": {"/a/b": {"base": 1, "tiers": [{"over_bytes": 10}]}}}`:                                             "tiers[0]: want over_bytes and price",
		`{"methods": {"/a/b": {"base": 1, "tiers": [{"over_bytes": 10, "price": 2}, {"over_bytes": 10, "price": 3}]}}}`: "tiers[1]: over_bytes must grow",
		`{"methods": {"/a/b": {"base": 1}}, "priority_header": 5}`:                                                      "priority_header",
		`{"methods": {"/a/b": {"base": 1}}, "priority_header": "x-p"}`:                                                  "priority_percent: want an object",
		`{"methods": {"/a/b": {"base": 1}}, "priority_header": "x-p", "priority_percent": {"a": -1}}`:                   "priority_percent.a",
	} {
		t.Run(cfg, func(t *testing.T) {
			f := tarifftest.New(t, info)
			if cfg != "" {
				f.Config = []byte(cfg)
			}
			res := f.Init(load)
			if !res.IsError() || !res.Logged(want) {
				t.Errorf("got %q %v, want a log with %q", res.Err, res.Logs, want)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	inf, err := tarifftest.ParseInfo(info)
	if err != nil || inf.Name != "go-tiered" || len(inf.Kinds) != 1 || !inf.Declares(tarifftest.Pricing) || inf.NeedsBody {
		t.Fatalf("info: %+v, %v", inf, err)
	}
}
