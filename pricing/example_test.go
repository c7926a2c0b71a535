package pricing_test

import (
	"fmt"
	"math/big"

	"github.com/tariffd/tariff/pricing"
)

func ExampleNewTable() {
	table, err := pricing.NewTable([]pricing.PriceEntry{{
		Model:       pricing.ModelFixedPricePerMethod,
		Default:     true,
		PackageName: "example_service",
		Details: []pricing.ServicePrices{{
			ServiceName: "Calculator",
			Methods: []pricing.MethodPrice{
				{MethodName: "add", PriceInCogs: big.NewInt(2)},
				{MethodName: "mul", PriceInCogs: big.NewInt(5)},
			},
		}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range []string{"/example_service.Calculator/mul", "/example_service.Calculator/div"} {
		price, err := table.Price(m)
		if err != nil {
			fmt.Println(err)
			continue
		}
		// price is shared: copy before arithmetic in place.
		total := new(big.Int).Mul(price, big.NewInt(3))
		fmt.Println(m, price, total)
	}
	// Output:
	// /example_service.Calculator/mul 5 15
	// price is not defined for the Method /example_service.Calculator/div
}

func ExampleTable_Price_fixed() {
	table, _ := pricing.NewTable([]pricing.PriceEntry{
		{Model: pricing.ModelFixedPrice, PriceInCogs: big.NewInt(10), Default: true},
	})
	price, _ := table.Price("/any.Service/method")
	fmt.Println(table.Model(), price)
	// Output: fixed_price 10
}
