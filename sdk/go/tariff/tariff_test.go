package tariff_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/tariffd/tariff/sdk/go/tariff"
	"github.com/tariffd/tariff/sdk/go/tariff/tarifftest"
)

const allKinds = `{"name":"t","version":"0","abi_minor":0,"kinds":["pricing","free_call","transform"],"needs_body":false}`

// run calls fn as an entry point of kind k and fails the test on an ERROR.
func run(t *testing.T, f *tarifftest.Fake, k tarifftest.Kind, fn func()) tarifftest.Result {
	t.Helper()
	res := f.Call(k, func() int32 {
		fn()
		return tariff.Pass
	})
	if res.IsError() {
		t.Fatalf("ERROR: %s", res.Err)
	}
	return res
}

func TestInputs(t *testing.T) {
	f := tarifftest.New(t, allKinds)
	f.Method = "/pkg.Svc/" + strings.Repeat("m", 1000) // longer than the first buffer: the retry path
	f.Body = []byte("12345")
	run(t, f, tarifftest.Pricing, func() {
		check(t, "Method", tariff.Method(), f.Method)
		check(t, "ServiceID", tariff.ServiceID(), tarifftest.DefaultServiceID)
		check(t, "OrgID", tariff.OrgID(), tarifftest.DefaultOrgID)
		check(t, "GroupID", tariff.GroupID(), tarifftest.DefaultGroupID)
		check(t, "Caller", tariff.Caller(), tarifftest.DefaultCaller)
		check(t, "PaymentType", tariff.PaymentType(), "escrow")
		id, ok := tariff.ChannelID()
		check(t, "ChannelID", [2]any{id, ok}, [2]any{uint64(1), true})
		check(t, "BodyLen", tariff.BodyLen(), uint64(5))
		check(t, "RequestTimeUnixMs", tariff.RequestTimeUnixMs(), uint64(tarifftest.DefaultRequestTimeUnixMs))
		// Not available to pricing: zero, and false from the generic accessors.
		check(t, "FreeCallsUsed", tariff.FreeCallsUsed(), uint64(0))
		_, ok = tariff.InputU64(tariff.FieldFreeCallsUsed)
		check(t, "FreeCallsUsed ok", ok, false)
		_, ok = tariff.Input(tariff.FieldFreeCallUserID)
		check(t, "FreeCallUserID ok", ok, false)
		// Unknown fields, and fields of the other type, are absent.
		_, ok = tariff.Input(99)
		check(t, "Input(99)", ok, false)
		_, ok = tariff.InputU64(tariff.FieldMethod)
		check(t, "InputU64(Method)", ok, false)
		_, ok = tariff.Input(tariff.FieldBodyLen)
		check(t, "Input(BodyLen)", ok, false)
	})

	f.PaymentType = "free-call"
	f.FreeCallUserID = "user@example.com"
	f.FreeCallsUsed, f.FreeCallsAllowed = 3, 10
	f.Absent = []tariff.Field{tariff.FieldServiceID}
	run(t, f, tarifftest.FreeCall, func() {
		check(t, "FreeCallsUsed", tariff.FreeCallsUsed(), uint64(3))
		check(t, "FreeCallsAllowed", tariff.FreeCallsAllowed(), uint64(10))
		check(t, "FreeCallUserID", tariff.FreeCallUserID(), "user@example.com")
		_, ok := tariff.ChannelID()
		check(t, "ChannelID ok (free_call)", ok, false)
		_, ok = tariff.Input(tariff.FieldServiceID)
		check(t, "ServiceID ok (absent)", ok, false)
	})
	run(t, f, tarifftest.Transform, func() {
		_, ok := tariff.ChannelID()
		check(t, "ChannelID ok (free call)", ok, false)
	})
}

func TestMeta(t *testing.T) {
	f := tarifftest.New(t, allKinds)
	long := strings.Repeat("v", 5000)
	f.Meta = map[string][]string{
		"X-Tier":      {"gold", "silver"},
		"x-long":      {long},
		"x-empty":     {""},
		"trace-bin":   {"\x00\xff"},
		"snet-caller": {"ignored"},
	}
	run(t, f, tarifftest.Pricing, func() {
		v, ok := tariff.Meta("x-tier")
		check(t, "Meta(x-tier)", [2]any{v, ok}, [2]any{"gold", true})
		check(t, "MetaValues(x-tier)", tariff.MetaValues("x-tier"), []string{"gold", "silver"})
		v, _ = tariff.Meta("x-long")
		check(t, "Meta(x-long)", v, long)
		v, ok = tariff.Meta("x-empty")
		check(t, "Meta(x-empty)", [2]any{v, ok}, [2]any{"", true})
		v, _ = tariff.Meta("trace-bin")
		check(t, "Meta(trace-bin)", v, "\x00\xff")
		_, ok = tariff.Meta("x-missing")
		check(t, "Meta(x-missing) ok", ok, false)
		check(t, "MetaValues(x-missing)", tariff.MetaValues("x-missing"), []string(nil))
		check(t, "MetaKeys", tariff.MetaKeys(), []string{"snet-caller", "trace-bin", "x-empty", "x-long", "x-tier"})
	})
	f.Meta = nil
	run(t, f, tarifftest.Pricing, func() {
		check(t, "MetaKeys (none)", tariff.MetaKeys(), []string(nil))
	})
}

func TestBody(t *testing.T) {
	const needsBody = `{"name":"t","version":"0","abi_minor":0,"kinds":["pricing"],"needs_body":true}`
	body := bytes.Repeat([]byte("0123456789"), 1000)

	t.Run("needs_body", func(t *testing.T) {
		f := tarifftest.New(t, needsBody)
		f.Body = body
		run(t, f, tarifftest.Pricing, func() {
			b, err := tariff.Body()
			check(t, "Body err", err, nil)
			check(t, "Body", b, body)
			buf := make([]byte, 4096)
			var got []byte
			for off := 0; ; {
				n, rem, err := tariff.ReadBody(off, buf)
				check(t, "ReadBody err", err, nil)
				check(t, "ReadBody remaining", rem, len(body)-off)
				got = append(got, buf[:n]...)
				off += n
				if n == rem {
					break
				}
			}
			check(t, "ReadBody chunks", got, body)
			n, rem, err := tariff.ReadBody(len(body)+5, buf)
			check(t, "ReadBody past the end", [3]any{n, rem, err}, [3]any{0, 0, error(nil)})
		})
		f.Body = nil
		run(t, f, tarifftest.Pricing, func() {
			b, err := tariff.Body()
			check(t, "empty Body", [2]any{len(b), err}, [2]any{0, error(nil)})
		})
	})

	t.Run("not available", func(t *testing.T) {
		f := tarifftest.New(t, allKinds)
		f.Body = body
		run(t, f, tarifftest.Pricing, func() {
			_, err := tariff.Body()
			check(t, "Body err", err, tariff.ErrUnavailable)
			check(t, "BodyLen", tariff.BodyLen(), uint64(len(body)))
		})
		run(t, f, tarifftest.Transform, func() {
			b, _ := tariff.Body()
			check(t, "Body (transform)", b, body)
		})
	})
}

func TestConfig(t *testing.T) {
	f := tarifftest.New(t, allKinds)
	res := f.Init(func() int32 {
		check(t, "Config (absent)", tariff.Config(), []byte(nil))
		check(t, "Method in init", tariff.Method(), "")
		_, ok := tariff.Meta("x")
		check(t, "Meta in init", ok, false)
		return 0
	})
	check(t, "Init err", res.Err, "")
	small, large := []byte(`{"a":1}`), []byte(`{"a":"`+strings.Repeat("x", 1000)+`"}`)
	for _, cfg := range [][]byte{small, large} {
		f.Config = cfg
		run(t, f, tarifftest.Pricing, func() {
			c := tariff.Config()
			check(t, "Config", c, cfg)
			c[0] = 'X' // a copy: the next call is unchanged
			check(t, "Config again", tariff.Config(), cfg)
		})
	}
	res = f.Init(func() int32 { return 3 })
	check(t, "Init err", res.Err, "tariff_init returned 3")
}

func TestOutputs(t *testing.T) {
	f := tarifftest.New(t, allKinds)

	res := f.Call(tarifftest.Pricing, func() int32 {
		tariff.SetFreeCall(true, 1) // ignored: not this kind
		check(t, "WriteBody (pricing)", tariff.WriteBody([]byte("x")), tariff.ErrUnavailable)
		check(t, "SetMeta (pricing)", tariff.SetMeta("x-a", "b"), tariff.ErrUnavailable)
		tariff.SetPrice(1 << 63)
		return tariff.OK
	})
	check(t, "price", [3]any{res.Err, res.Price, res.FreeCallSet}, [3]any{"", uint64(1 << 63), false})

	res = f.Call(tarifftest.FreeCall, func() int32 {
		tariff.SetPrice(5) // ignored
		tariff.SetFreeCall(true, 1<<64-1)
		return tariff.OK
	})
	check(t, "free call", [4]any{res.Err, res.Allow, res.Remaining, res.PriceSet}, [4]any{"", true, uint64(1<<63 - 1), false})

	res = f.Call(tarifftest.Transform, func() int32 {
		check(t, "WriteBody", tariff.WriteBody([]byte("ab")), nil)
		check(t, "WriteBody", tariff.WriteBody([]byte("c")), nil)
		check(t, "SetMeta", tariff.SetMeta("x-tariff-tier", "gold"), nil)
		check(t, "SetMeta", tariff.SetMeta("x-tariff-tier", "silver"), nil)
		for _, k := range []string{"snet-payment-type", "grpc-timeout", ":path", "X-Upper", ""} {
			check(t, "SetMeta "+k, tariff.SetMeta(k, "v"), tariff.ErrRefused)
		}
		return tariff.OK
	})
	check(t, "transform err", res.Err, "")
	check(t, "transform body", string(res.Body), "abc")
	check(t, "transform meta", res.Meta, map[string][]string{"x-tariff-tier": {"gold", "silver"}})

	res = f.Call(tarifftest.Transform, func() int32 {
		check(t, "empty WriteBody", tariff.WriteBody(nil), nil)
		return tariff.OK
	})
	check(t, "empty new body", [2]any{res.BodySet, len(res.Body)}, [2]any{true, 0})

	f.BodyLimit = 4
	res = f.Call(tarifftest.Transform, func() int32 {
		check(t, "WriteBody", tariff.WriteBody([]byte("1234")), nil)
		check(t, "WriteBody over", tariff.WriteBody([]byte("5")), tariff.ErrOutputLimit)
		return tariff.OK
	})
	check(t, "over the limit", res.Err, "body_write: new body over the limit of 4 bytes")
}

func TestStatuses(t *testing.T) {
	f := tarifftest.New(t, allKinds)
	for _, c := range []struct {
		name string
		k    tarifftest.Kind
		fn   func() int32
		err  string
	}{
		{"pass", tarifftest.Pricing, func() int32 { return tariff.Pass }, ""},
		{"no price", tarifftest.Pricing, func() int32 { return tariff.OK }, "tariff_price returned OK without calling set_price"},
		{"no decision", tarifftest.FreeCall, func() int32 { return tariff.OK }, "tariff_free_call returned OK without calling set_free_call"},
		{"transform ok", tarifftest.Transform, func() int32 { return tariff.OK }, ""},
		{"error", tarifftest.Pricing, func() int32 { return tariff.Error }, "tariff_price returned -1"},
		{"unknown", tarifftest.Transform, func() int32 { return 3 }, "tariff_transform returned 3"},
	} {
		res := f.Call(c.k, c.fn)
		check(t, c.name, res.Err, c.err)
	}

	res := f.Call(tarifftest.Pricing, func() int32 {
		tariff.SetPrice(10)
		return tariff.Denied(tariff.CodeResourceExhausted, "too big")
	})
	check(t, "deny", [4]any{res.Status, res.Code, res.Message, res.Price}, [4]any{int32(tariff.Deny), int32(8), "too big", uint64(0)})
	res = f.Call(tarifftest.Pricing, func() int32 { return tariff.Deny })
	check(t, "deny default", [2]any{res.Code, res.Message}, [2]any{int32(7), ""})
	res = f.Call(tarifftest.Pricing, func() int32 { return tariff.Denied(99, strings.Repeat("é", 1000)) })
	check(t, "deny bad code", [2]any{res.Code, len(res.Message)}, [2]any{int32(7), 1024})

	res = f.Call(tarifftest.Pricing, func() int32 {
		tariff.Log(tariff.LevelInfo, "hello")
		var m map[string]int
		m["x"] = 1 // a nil map: panic, an ERROR
		return tariff.OK
	})
	if !strings.Contains(res.Err, "panic") || !res.Logged("hello") {
		t.Errorf("panic: %+v", res)
	}

	res = f.Call(tarifftest.Pricing, func() int32 {
		for i := 0; i < 30; i++ {
			tariff.Log(tariff.LevelDebug, "line")
		}
		return tariff.Pass
	})
	check(t, "logs", [2]any{len(res.Logs), res.LogsDropped}, [2]any{tarifftest.DefaultLogLines, 10})
}

func TestInfo(t *testing.T) {
	const doc = `{"name":"x","version":"1","abi_minor":0,"kinds":["pricing"]}`
	if got := tariff.Info(doc); got != int64(len(doc)) {
		t.Errorf("Info on a native build = %d", got)
	}
}

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}
