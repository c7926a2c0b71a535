package pricing

import (
	"errors"
	"math/big"
	"testing"
)

func cogs(n int64) *big.Int { return big.NewInt(n) }

func perMethod(pkg string, def bool) PriceEntry {
	return PriceEntry{
		Model:       ModelFixedPricePerMethod,
		Default:     def,
		PackageName: pkg,
		Details: []ServicePrices{
			{ServiceName: "Calculator", Methods: []MethodPrice{
				{MethodName: "add", PriceInCogs: cogs(2)},
				{MethodName: "mul", PriceInCogs: cogs(5)},
			}},
			{ServiceName: "Other", Methods: []MethodPrice{
				{MethodName: "ping", PriceInCogs: cogs(0)},
			}},
		},
	}
}

func TestTablePrice(t *testing.T) {
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	tests := []struct {
		name    string
		entries []PriceEntry
		method  string
		want    *big.Int
		wantErr error
	}{
		{
			name:    "fixed price applies to every method",
			entries: []PriceEntry{{Model: ModelFixedPrice, PriceInCogs: cogs(7), Default: true}},
			method:  "/anything.Svc/whatever",
			want:    cogs(7),
		},
		{
			name:    "fixed price arbitrary precision",
			entries: []PriceEntry{{Model: ModelFixedPrice, PriceInCogs: huge, Default: true}},
			method:  "/x.Y/z",
			want:    huge,
		},
		{
			name:    "per method with package",
			entries: []PriceEntry{perMethod("example_service", true)},
			method:  "/example_service.Calculator/mul",
			want:    cogs(5),
		},
		{
			name:    "per method zero price",
			entries: []PriceEntry{perMethod("example_service", true)},
			method:  "/example_service.Other/ping",
			want:    cogs(0),
		},
		{
			name:    "per method without package",
			entries: []PriceEntry{perMethod("", true)},
			method:  "/Calculator/add",
			want:    cogs(2),
		},
		{
			name:    "per method unknown method",
			entries: []PriceEntry{perMethod("example_service", true)},
			method:  "/example_service.Calculator/div",
			wantErr: ErrUnknownMethod,
		},
		{
			name:    "per method is case sensitive and needs the package",
			entries: []PriceEntry{perMethod("example_service", true)},
			method:  "/Calculator/add",
			wantErr: ErrUnknownMethod,
		},
		{
			name: "first default entry wins",
			entries: []PriceEntry{
				{Model: ModelFixedPrice, PriceInCogs: cogs(1)},
				perMethod("p", true),
				{Model: ModelFixedPrice, PriceInCogs: cogs(9), Default: true},
			},
			method: "/p.Calculator/add",
			want:   cogs(2),
		},
		{
			name: "duplicate method keeps the last price",
			entries: []PriceEntry{{
				Model: ModelFixedPricePerMethod, Default: true, PackageName: "p",
				Details: []ServicePrices{
					{ServiceName: "S", Methods: []MethodPrice{{MethodName: "m", PriceInCogs: cogs(1)}}},
					{ServiceName: "S", Methods: []MethodPrice{{MethodName: "m", PriceInCogs: cogs(3)}}},
				},
			}},
			method: "/p.S/m",
			want:   cogs(3),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := NewTable(tt.entries)
			if err != nil {
				t.Fatalf("NewTable: %v", err)
			}
			got, err := tab.Price(tt.method)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Price(%q) error = %v, want %v", tt.method, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Price(%q): %v", tt.method, err)
			}
			if got.Cmp(tt.want) != 0 {
				t.Fatalf("Price(%q) = %s, want %s", tt.method, got, tt.want)
			}
		})
	}
}

func TestUnknownMethodMessage(t *testing.T) {
	tab, err := NewTable([]PriceEntry{perMethod("pkg", true)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tab.Price("/pkg.Calculator/div")
	// The text is snet-daemon's; clients may match it.
	const want = "price is not defined for the Method /pkg.Calculator/div"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	var ume *UnknownMethodError
	if !errors.As(err, &ume) || ume.Method != "/pkg.Calculator/div" {
		t.Fatalf("errors.As: %#v", err)
	}
}

func TestNewTableErrors(t *testing.T) {
	tests := []struct {
		name    string
		entries []PriceEntry
		wantErr error
	}{
		{"nil list", nil, ErrNoPricing},
		{"empty list", []PriceEntry{}, ErrNoPricing},
		{"no default", []PriceEntry{{Model: ModelFixedPrice, PriceInCogs: cogs(1)}}, ErrNoDefault},
		{"unknown model", []PriceEntry{{Model: "dynamic", PriceInCogs: cogs(1), Default: true}}, ErrInvalidPrice},
		{"fixed without price", []PriceEntry{{Model: ModelFixedPrice, Default: true}}, ErrInvalidPrice},
		{"fixed negative", []PriceEntry{{Model: ModelFixedPrice, PriceInCogs: cogs(-1), Default: true}}, ErrInvalidPrice},
		{"per method without methods", []PriceEntry{{Model: ModelFixedPricePerMethod, Default: true, PackageName: "p"}}, ErrNoPricing},
		{"per method empty service", []PriceEntry{{Model: ModelFixedPricePerMethod, Default: true,
			Details: []ServicePrices{{ServiceName: "S"}}}}, ErrNoPricing},
		{"per method missing price", []PriceEntry{{Model: ModelFixedPricePerMethod, Default: true,
			Details: []ServicePrices{{ServiceName: "S", Methods: []MethodPrice{{MethodName: "m"}}}}}}, ErrInvalidPrice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := NewTable(tt.entries)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewTable error = %v (table %v), want %v", err, tab, tt.wantErr)
			}
		})
	}
}

func TestTableCopiesInput(t *testing.T) {
	p := cogs(10)
	tab, err := NewTable([]PriceEntry{{Model: ModelFixedPrice, PriceInCogs: p, Default: true}})
	if err != nil {
		t.Fatal(err)
	}
	p.SetInt64(99)
	got, _ := tab.Price("/a.B/c")
	if got.Int64() != 10 {
		t.Fatalf("table changed with its input: %s", got)
	}
	if tab.Model() != ModelFixedPrice {
		t.Fatalf("Model() = %q", tab.Model())
	}
}

func TestPriceDoesNotAllocate(t *testing.T) {
	fixed, _ := NewTable([]PriceEntry{{Model: ModelFixedPrice, PriceInCogs: cogs(1), Default: true}})
	per, _ := NewTable([]PriceEntry{perMethod("example_service", true)})
	method := "/example_service.Calculator/add"
	for name, tab := range map[string]*Table{"fixed": fixed, "per_method": per} {
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := tab.Price(method); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Price allocates %v times per call", name, allocs)
		}
	}
}

func BenchmarkPrice(b *testing.B) {
	entries := []PriceEntry{perMethod("example_service", true)}
	for i := range 200 {
		entries[0].Details = append(entries[0].Details, ServicePrices{
			ServiceName: "Svc" + string(rune('A'+i%26)) + big.NewInt(int64(i)).String(),
			Methods:     []MethodPrice{{MethodName: "m", PriceInCogs: cogs(int64(i))}},
		})
	}
	per, err := NewTable(entries)
	if err != nil {
		b.Fatal(err)
	}
	fixed, _ := NewTable([]PriceEntry{{Model: ModelFixedPrice, PriceInCogs: cogs(1), Default: true}})
	method := "/example_service.Calculator/mul"
	b.Run("fixed_price", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = fixed.Price(method)
		}
	})
	b.Run("fixed_price_per_method", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = per.Price(method)
		}
	})
}
