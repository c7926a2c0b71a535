package tarifftest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tariffd/tariff/sdk/go/tariff"
	"github.com/tariffd/tariff/sdk/go/tariff/tarifftest"
)

func TestParseInfo(t *testing.T) {
	good := `{"name":"n","version":"1.0.0","abi_minor":0,"kinds":["pricing","transform","pricing"],"needs_body":true}`
	inf, err := tarifftest.ParseInfo(good)
	if err != nil {
		t.Fatal(err)
	}
	if inf.Name != "n" || inf.Version != "1.0.0" || !inf.NeedsBody || len(inf.Kinds) != 2 ||
		!inf.Declares(tarifftest.Pricing) || !inf.Declares(tarifftest.Transform) || inf.Declares(tarifftest.FreeCall) {
		t.Errorf("ParseInfo = %+v", inf)
	}
	for doc, want := range map[string]string{
		`{`: "not valid JSON",
		`{"version":"1","abi_minor":0,"kinds":["pricing"]}`:            `missing "name"`,
		`{"name":"","version":"1","abi_minor":0,"kinds":["pricing"]}`:  `missing "name"`,
		`{"name":"n","kinds":["pricing"]}`:                             `missing "version", "abi_minor"`,
		`{"name":"n","version":"1","abi_minor":0,"kinds":[]}`:          `missing "kinds"`,
		`{"name":"n","version":"1","abi_minor":1,"kinds":["pricing"]}`: "abi_minor 1",
		`{"name":"n","version":"1","abi_minor":0,"kinds":["price"]}`:   `unknown kind "price"`,
		"{\"name\":\"\xff\"}":                                          "UTF-8",
	} {
		if _, err := tarifftest.ParseInfo(doc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", doc, err, want)
		}
	}
}

// panics runs fn and returns its panic value as text.
func panics(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	fn()
	return ""
}

func TestMisuse(t *testing.T) {
	const info = `{"name":"n","version":"1","abi_minor":0,"kinds":["pricing"]}`
	if msg := panics(func() { tariff.Method() }); !strings.Contains(msg, "tarifftest.New") {
		t.Errorf("no fake: %q", msg)
	}
	f := tarifftest.New(nil, info)
	if msg := panics(func() { tarifftest.New(nil, info) }); !strings.Contains(msg, "another Fake is active") {
		t.Errorf("second fake: %q", msg)
	}
	if msg := panics(func() { f.Call(tarifftest.Transform, func() int32 { return 0 }) }); !strings.Contains(msg, "transform is not among the kinds") {
		t.Errorf("undeclared kind: %q", msg)
	}
	if msg := panics(func() { tariff.Method() }); !strings.Contains(msg, "outside Fake.Call") {
		t.Errorf("outside a call: %q", msg)
	}
	if msg := panics(func() { tarifftest.New(nil, `{}`) }); !strings.Contains(msg, "tariff_info: missing") {
		t.Errorf("bad info: %q", msg)
	}
	f.Close()
	f.Close()
	tarifftest.New(nil, info).Close() // free again
}

func Example() {
	const info = `{"name":"flat","version":"0.1.0","abi_minor":0,"kinds":["pricing"],"needs_body":false}`
	price := func() int32 {
		if tariff.Method() != "/example_service.Calculator/add" {
			return tariff.Pass
		}
		if tier, _ := tariff.Meta("x-tier"); tier == "gold" {
			tariff.SetPrice(5)
		} else {
			tariff.SetPrice(10)
		}
		return tariff.OK
	}

	f := tarifftest.New(nil, info) // in a test: tarifftest.New(t, info)
	defer f.Close()
	res := f.Call(tarifftest.Pricing, price)
	fmt.Println(res.Status, res.Price)
	f.Meta = map[string][]string{"x-tier": {"gold"}}
	res = f.Call(tarifftest.Pricing, price)
	fmt.Println(res.Status, res.Price)
	f.Method = "/example_service.Calculator/div"
	res = f.Call(tarifftest.Pricing, price)
	fmt.Println(res.Status, res.Price)
	// Output:
	// 0 10
	// 0 5
	// 1 0
}
