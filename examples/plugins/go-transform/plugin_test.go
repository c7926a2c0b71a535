package main

import (
	"bytes"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/sdk/go/tariff"
	"github.com/tariffd/tariff/sdk/go/tariff/tarifftest"
)

const config = `{
	"tiers": {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed": "gold"},
	"body_field": 15
}`

func newFake(t *testing.T, cfg string) *tarifftest.Fake {
	t.Helper()
	f := tarifftest.New(t, info)
	if cfg != "" {
		f.Config = []byte(cfg)
	}
	if res := f.Init(load); res.IsError() {
		t.Fatalf("tariff_init: %s %v", res.Err, res.Logs)
	}
	return f
}

func TestTransform(t *testing.T) {
	f := newFake(t, config)
	in, err := proto.Marshal(&calculatorpb.Numbers{A: 6, B: 7})
	if err != nil {
		t.Fatal(err)
	}
	f.Body = in
	f.Meta = map[string][]string{"x-tariff-tier": {"forged-by-the-client"}}

	for _, c := range []struct {
		caller, payment, tier string
	}{
		{"0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", "escrow", "gold"}, // addresses match in any case
		{"0x0000000000000000000000000000000000000001", "prepaid-call", "standard"},
		{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "free-call", "free"},
	} {
		f.Caller, f.PaymentType = c.caller, c.payment
		res := f.Call(tarifftest.Transform, transform)
		if res.IsError() || res.Status != tariff.OK {
			t.Fatalf("%s: %+v", c.tier, res)
		}
		if want := map[string][]string{"x-tariff-tier": {c.tier}}; !reflect.DeepEqual(res.Meta, want) {
			t.Errorf("meta = %v, want %v", res.Meta, want)
		}

		// The new body is the old one and field 15, a valid Numbers message.
		if !res.BodySet || !bytes.HasPrefix(res.Body, in) {
			t.Fatalf("body %x does not start with the request %x", res.Body, in)
		}
		var out calculatorpb.Numbers
		if err := proto.Unmarshal(res.Body, &out); err != nil || out.A != 6 || out.B != 7 {
			t.Fatalf("new body: %v, %v", &out, err)
		}
		num, typ, n := protowire.ConsumeTag(out.ProtoReflect().GetUnknown())
		v, m := protowire.ConsumeVarint(out.ProtoReflect().GetUnknown()[n:])
		if num != 15 || typ != protowire.VarintType || m < 0 || v != tarifftest.DefaultRequestTimeUnixMs {
			t.Errorf("unknown field %d type %d = %d, want 15 varint %d", num, typ, v, tarifftest.DefaultRequestTimeUnixMs)
		}
	}
}

func TestLargeBody(t *testing.T) {
	f := newFake(t, `{"body_field": 536870911}`)
	f.Body = bytes.Repeat([]byte{0x0d, 0, 0, 0x80, 0x3f}, 100_000) // field 1 = 1.0, repeated: 500 kB
	res := f.Call(tarifftest.Transform, transform)
	if res.IsError() || !bytes.Equal(res.Body[:len(f.Body)], f.Body) {
		t.Fatalf("%s: body of %d bytes", res.Err, len(res.Body))
	}
	num, typ, n := protowire.ConsumeTag(res.Body[len(f.Body):])
	if num != 536870911 || typ != protowire.VarintType || n != 5 {
		t.Errorf("tag %d %d (%d bytes)", num, typ, n)
	}

	f.BodyLimit = len(f.Body) // no room for the field: the host fails the call
	if res := f.Call(tarifftest.Transform, transform); !res.IsError() {
		t.Errorf("over the limit: %+v", res)
	}
}

func TestNoBodyField(t *testing.T) {
	f := newFake(t, `{"body_field": 0, "header": "x-plan", "default_tier": "basic"}`)
	f.Body = []byte{8, 1}
	res := f.Call(tarifftest.Transform, transform)
	if res.Status != tariff.OK || res.BodySet || !reflect.DeepEqual(res.Meta, map[string][]string{"x-plan": {"basic"}}) {
		t.Errorf("%+v", res)
	}
}

func TestDefaults(t *testing.T) {
	f := newFake(t, "") // no config block
	f.Body = nil
	res := f.Call(tarifftest.Transform, transform)
	want := protowire.AppendVarint(protowire.AppendTag(nil, 15, protowire.VarintType), tarifftest.DefaultRequestTimeUnixMs)
	if res.Status != tariff.OK || !bytes.Equal(res.Body, want) || res.Meta["x-tariff-tier"][0] != "standard" {
		t.Errorf("%+v", res)
	}
}

func TestConfigErrors(t *testing.T) {
	for cfg, want := range map[string]string{
		`{"header": "X-Tier"}`:      "header",
		`{"header": "snet-tier"}`:   "header",
		`{"header": 1}`:             "header: want a non-empty string",
		`{"free_tier": ""}`:         "free_tier",
		`{"tiers": {"0xa": 1}}`:     "tiers.0xa: want a string",
		`{"tiers": []}`:             "tiers: want an object",
		`{"body_field": 19500}`:     "body_field",
		`{"body_field": 536870912}`: "body_field",
		`{"body_field": -1}`:        "body_field",
	} {
		f := tarifftest.New(t, info)
		f.Config = []byte(cfg)
		if res := f.Init(load); !res.IsError() || !res.Logged(want) {
			t.Errorf("%s: got %q %v, want a log with %q", cfg, res.Err, res.Logs, want)
		}
		f.Close()
	}
}
