package metadata

import (
	"encoding/base64"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tariffd/tariff/pricing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustB64(t *testing.T, s string) [32]byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad test group id %q", s)
	}
	return [32]byte(b)
}

func TestParseOrg(t *testing.T) {
	org, err := ParseOrg(readTestdata(t, "org.json"))
	if err != nil {
		t.Fatal(err)
	}
	if org.ID != "example-org" || org.Name != "Example Organization" || len(org.Groups) != 3 {
		t.Fatalf("org = %+v", org)
	}
	g, err := org.Group("default_group")
	if err != nil {
		t.Fatal(err)
	}
	wantID := mustB64(t, "XS0JUMw/uCFwMxHkE0EARjraqeLaIWkUxtWmQnsPYuc=")
	if g.ID != wantID || g.IDBase64() != "XS0JUMw/uCFwMxHkE0EARjraqeLaIWkUxtWmQnsPYuc=" {
		t.Errorf("group id = %x", g.ID)
	}
	// Checksummed whatever the case in the document.
	if got := g.PaymentAddress.Hex(); got != "0x3B2b3c2E2e5c83A2C3bA4b4f5c3f3F3a2a1b1C1D" {
		t.Errorf("payment address = %s", got)
	}
	if g.ExpirationThreshold != 40320 {
		t.Errorf("threshold = %d", g.ExpirationThreshold)
	}
	if g.StorageType != "etcd" || g.Storage.ConnectionTimeout != 5*time.Second || g.Storage.RequestTimeout != 3*time.Second {
		t.Errorf("storage = %+v (type %q)", g.Storage, g.StorageType)
	}
	if strings.Join(g.Storage.Endpoints, ",") != "http://127.0.0.1:2379,http://10.0.0.2:2379" {
		t.Errorf("endpoints = %v", g.Storage.Endpoints)
	}

	p, err := org.Group("premium")
	if err != nil {
		t.Fatal(err)
	}
	if p.ExpirationThreshold != 100 { // given as a string
		t.Errorf("premium threshold = %d", p.ExpirationThreshold)
	}

	// A broken group does not stop parsing, only its own selection.
	_, err = org.Group("broken")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `group "broken"`) ||
		!strings.Contains(err.Error(), "decodes to 5 bytes, want 32") ||
		!strings.Contains(err.Error(), `payment.payment_address "not-an-address" is not a hex address`) {
		t.Errorf("broken group error = %v", err)
	}

	_, err = org.Group("gold")
	if !errors.Is(err, ErrGroupNotFound) {
		t.Fatalf("missing group error = %v", err)
	}
	const want = `group "gold" not found in organization metadata (groups: "default_group", "premium", "broken")`
	if err.Error() != want {
		t.Errorf("missing group error\n got %s\nwant %s", err, want)
	}
}

func TestParseService(t *testing.T) {
	svc, err := ParseService(readTestdata(t, "service.json"))
	if err != nil {
		t.Fatal(err)
	}
	if svc.Version != 1 || svc.DisplayName != "Example Calculator" || svc.Encoding != "proto" || svc.ServiceType != "grpc" {
		t.Errorf("service = %+v", svc)
	}
	if svc.MPEAddress.Hex() != "0x042d31F61c598eADcAc729B845406514521db520" {
		t.Errorf("mpe = %s", svc.MPEAddress.Hex())
	}
	if svc.APISource != "ipfs://QmeyrQkEyba8dd4rc3jrLd5pEwsxHutfH2RvsSaeSMqTtQ" {
		t.Errorf("api source = %s", svc.APISource)
	}

	g, err := svc.Group("default_group")
	if err != nil {
		t.Fatal(err)
	}
	if !g.FreeCallsEnabled || g.FreeCalls != 15 || g.FreeCallSigner != common.HexToAddress("0x7DF35C98f41F3Af0df1dc4c7F7D4C19a71Dd059F") {
		t.Errorf("free calls = %v %d %s", g.FreeCallsEnabled, g.FreeCalls, g.FreeCallSigner)
	}
	if g.Pricing.Model() != pricing.ModelFixedPricePerMethod || len(g.PriceEntries) != 2 {
		t.Fatalf("pricing model %s, %d entries", g.Pricing.Model(), len(g.PriceEntries))
	}
	huge, _ := new(big.Int).SetString("100000000000000000000000", 10)
	for method, want := range map[string]*big.Int{
		"/example_service.Calculator/add": big.NewInt(1),
		"/example_service.Calculator/mul": big.NewInt(2),
		"/example_service.Calculator/div": huge,
	} {
		got, err := g.Pricing.Price(method)
		if err != nil || got.Cmp(want) != 0 {
			t.Errorf("Price(%s) = %v, %v; want %s", method, got, err, want)
		}
	}

	p, err := svc.Group("premium")
	if err != nil {
		t.Fatal(err)
	}
	if p.FreeCallsEnabled {
		t.Error("premium: free calls enabled without a signer")
	}
	if price, err := p.Pricing.Price("/x.Y/z"); err != nil || price.Int64() != 250 {
		t.Errorf("premium price = %v, %v", price, err)
	}

	_, err = svc.Group("no_default")
	if !errors.Is(err, pricing.ErrNoDefault) || !errors.Is(err, ErrInvalid) {
		t.Errorf("no_default error = %v", err)
	}
	_, err = svc.Group("gold")
	const want = `group "gold" not found in service metadata (groups: "default_group", "premium", "no_default")`
	if !errors.Is(err, ErrGroupNotFound) || err.Error() != want {
		t.Errorf("missing group error = %v", err)
	}
}

const validGroupID = "XS0JUMw/uCFwMxHkE0EARjraqeLaIWkUxtWmQnsPYuc="

func TestParseServiceErrors(t *testing.T) {
	tests := []struct {
		name, doc string
		wantErr   error
		wantText  string
	}{
		{"not json", `{"version":`, ErrSyntax, "service metadata: malformed metadata"},
		{"array", `[]`, ErrSyntax, "not a JSON object"},
		{"empty", ``, ErrSyntax, "not a JSON object"},
		{"wrong type", `{"mpe_address": 5}`, ErrSyntax, "mpe_address"},
		{"no mpe", `{"groups": []}`, ErrInvalid, "mpe_address is missing"},
		{"bad mpe", `{"mpe_address": "0x12"}`, ErrInvalid, `mpe_address "0x12" is not a hex address`},
		{"bad encoding", `{"mpe_address": "0x042d31f61c598eadcac729b845406514521db520", "encoding": "xml"}`, ErrInvalid, `encoding "xml"`},
		{"bad service type", `{"mpe_address": "0x042d31f61c598eadcac729b845406514521db520", "service_type": "soap"}`, ErrInvalid, `service_type "soap"`},
		{"bad version", `{"mpe_address": "0x042d31f61c598eadcac729b845406514521db520", "version": "one"}`, ErrInvalid, `version one is not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseService([]byte(tt.doc))
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("error = %v, want %v containing %q", err, tt.wantErr, tt.wantText)
			}
		})
	}
}

func TestServiceGroupErrors(t *testing.T) {
	price := `"pricing": [{"price_model": "fixed_price", "price_in_cogs": 1, "default": true}]`
	tests := []struct {
		name, group string
		wantText    string
	}{
		{"ok", `{"group_name": "g", "group_id": "` + validGroupID + `", ` + price + `}`, ""},
		{"missing id", `{"group_name": "g", ` + price + `}`, "group_id is missing"},
		{"short id", `{"group_name": "g", "group_id": "AAAA", ` + price + `}`, `group_id "AAAA" decodes to 3 bytes, want 32`},
		{"long id", `{"group_name": "g", "group_id": "` + base64.StdEncoding.EncodeToString(make([]byte, 33)) + `", ` + price + `}`, "decodes to 33 bytes"},
		{"url base64", `{"group_name": "g", "group_id": "XS0JUMw_uCFwMxHkE0EARjraqeLaIWkUxtWmQnsPYuc=", ` + price + `}`, "not standard base64"},
		{"bad signer", `{"group_name": "g", "group_id": "` + validGroupID + `", "free_call_signer_address": "0xnope", ` + price + `}`, `free_call_signer_address "0xnope" is not a hex address`},
		{"empty signer", `{"group_name": "g", "group_id": "` + validGroupID + `", "free_call_signer_address": "", ` + price + `}`, `free_call_signer_address "" is not a hex address`},
		{"negative free calls", `{"group_name": "g", "group_id": "` + validGroupID + `", "free_calls": -1, ` + price + `}`, "free_calls -1 is out of range"},
		{"fractional price", `{"group_name": "g", "group_id": "` + validGroupID + `", "pricing": [{"price_model": "fixed_price", "price_in_cogs": 1.5, "default": true}]}`, "pricing[0].price_in_cogs 1.5 is not an integer"},
		{"no pricing", `{"group_name": "g", "group_id": "` + validGroupID + `"}`, "pricing list is empty"},
		{"method price missing", `{"group_name": "g", "group_id": "` + validGroupID + `", "pricing": [{"price_model": "fixed_price_per_method", "default": true, "details": [{"service_name": "S", "method_pricing": [{"method_name": "m"}]}]}]}`, "method_pricing[0].price_in_cogs is missing"},
		{"group wrong shape", `{"group_name": "g", "endpoints": "x"}`, "groups[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := ParseService([]byte(`{"mpe_address": "0x042d31f61c598eadcac729b845406514521db520", "groups": [` + tt.group + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			_, err = svc.Group("g")
			if tt.wantText == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), `group "g"`) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantText)
			}
		})
	}
}

func TestOrgGroupErrors(t *testing.T) {
	pay := func(extra string) string {
		return `{"group_name": "g", "group_id": "` + validGroupID + `", "payment": {"payment_address": "0x46EF7d49aaA68B29C227442BDbD18356415f8304"` + extra + `}}`
	}
	tests := []struct {
		name, group, wantText string
	}{
		{"ok", pay(""), ""},
		{"zero address", `{"group_name": "g", "group_id": "` + validGroupID + `", "payment": {"payment_address": "0x0000000000000000000000000000000000000000"}}`, "zero address"},
		{"no address", `{"group_name": "g", "group_id": "` + validGroupID + `"}`, `payment.payment_address "" is not a hex address`},
		{"bad timeout", pay(`, "payment_channel_storage_client": {"request_timeout": "3"}`), `request_timeout "3" is not a duration`},
		{"endpoint without scheme", pay(`, "payment_channel_storage_client": {"endpoints": ["127.0.0.1:2379"]}`), `"127.0.0.1:2379" has no scheme`},
		{"bad threshold", pay(`, "payment_expiration_threshold": -5`), "payment_expiration_threshold -5 is out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org, err := ParseOrg([]byte(`{"org_id": "o", "groups": [` + tt.group + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			_, err = org.Group("g")
			if tt.wantText == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantText)
			}
		})
	}
}

func TestParseURI(t *testing.T) {
	tests := []struct {
		raw    string
		want   URI
		errors bool
	}{
		{"ipfs://QmeyrQkEyba8dd4rc3jrLd5pEwsxHutfH2RvsSaeSMqTtQ", URI{SchemeIPFS, "QmeyrQkEyba8dd4rc3jrLd5pEwsxHutfH2RvsSaeSMqTtQ"}, false},
		{"QmeyrQkEyba8dd4rc3jrLd5pEwsxHutfH2RvsSaeSMqTtQ", URI{SchemeIPFS, "QmeyrQkEyba8dd4rc3jrLd5pEwsxHutfH2RvsSaeSMqTtQ"}, false},
		{"ipfs://Qmabc\x00\x00\x00\x00", URI{SchemeIPFS, "Qmabc"}, false},
		{"filecoin://bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq\x00", URI{SchemeFilecoin, "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"}, false},
		{" ipfs://Qm-a_b/c.d=\n", URI{SchemeIPFS, "Qmabcd="}, false},
		{"\x00\x00\x00", URI{}, true},
		{"ipfs://", URI{}, true},
		{"", URI{}, true},
	}
	for _, tt := range tests {
		got, err := ParseURI([]byte(tt.raw))
		if tt.errors {
			if !errors.Is(err, ErrEmptyURI) {
				t.Errorf("ParseURI(%q) = %v, %v; want ErrEmptyURI", tt.raw, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseURI(%q) = %v, %v; want %v", tt.raw, got, err, tt.want)
		}
	}
	if s := (URI{SchemeFilecoin, "baf"}).String(); s != "filecoin://baf" {
		t.Errorf("String() = %s", s)
	}
}

func FuzzParseOrg(f *testing.F) {
	f.Add(readTestdata(f, "org.json"))
	f.Add([]byte(`{"groups":[{"group_name":"default_group","group_id":"` + validGroupID + `","payment":{"payment_expiration_threshold":"1e999"}}]}`))
	f.Add([]byte(`{"groups":[null, 1, "x", {"group_name": 5}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		org, err := ParseOrg(b)
		if err != nil {
			return
		}
		for _, g := range org.Groups {
			if got, err := org.Group(g.Name); err == nil {
				_ = got.IDBase64()
				_ = got.PaymentAddress.Hex()
			}
		}
		_, _ = org.Group("default_group")
	})
}

func FuzzParseService(f *testing.F) {
	f.Add(readTestdata(f, "service.json"))
	f.Add([]byte(`{"mpe_address":"0x042d31f61c598eadcac729b845406514521db520","groups":[{"group_name":"g","group_id":"` + validGroupID + `","pricing":[{"price_model":"fixed_price_per_method","default":true,"details":[{"service_name":"S","method_pricing":[{"method_name":"m","price_in_cogs":"12"}]}]}]}]}`))
	f.Add([]byte(`{"mpe_address":"0x042d31f61c598eadcac729b845406514521db520","groups":[{"pricing":[{"price_in_cogs":{}}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		svc, err := ParseService(b)
		if err != nil {
			return
		}
		for _, g := range svc.Groups {
			got, err := svc.Group(g.Name)
			if err != nil {
				continue
			}
			if got.Pricing == nil {
				t.Fatalf("usable group %q without a pricing table", g.Name)
			}
			_, _ = got.Pricing.Price("/example_service.Calculator/add")
		}
	})
}
