package metadata_test

import (
	"context"
	"fmt"

	"github.com/tariffd/tariff/host/metadata"
)

func ExampleParseService() {
	doc := []byte(`{
	  "mpe_address": "0x042d31f61c598eadcac729b845406514521db520",
	  "groups": [{
	    "group_name": "default_group",
	    "group_id": "XS0JUMw/uCFwMxHkE0EARjraqeLaIWkUxtWmQnsPYuc=",
	    "free_calls": 10,
	    "free_call_signer_address": "0x7df35c98f41f3af0df1dc4c7f7d4c19a71dd059f",
	    "pricing": [{"price_model": "fixed_price", "price_in_cogs": 12, "default": true}]
	  }]
	}`)
	svc, err := metadata.ParseService(doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	g, err := svc.Group("default_group")
	if err != nil {
		fmt.Println(err)
		return
	}
	price, _ := g.Pricing.Price("/example_service.Calculator/add")
	fmt.Println(svc.MPEAddress.Hex())
	fmt.Println(g.FreeCallsEnabled, g.FreeCalls, price)

	_, err = svc.Group("premium")
	fmt.Println(err)
	// Output:
	// 0x042d31F61c598eADcAc729B845406514521db520
	// true 10 12
	// group "premium" not found in service metadata (groups: "default_group")
}

func ExampleParseURI() {
	// Registry values are NUL-padded byte strings.
	u, _ := metadata.ParseURI([]byte("filecoin://bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq\x00\x00"))
	fmt.Println(u.Scheme, u.CID)
	// Output: filecoin bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq
}

func ExampleLoader() {
	// Offline metadata: no Registry, no IPFS.
	l := metadata.Loader{
		OrgID: "example-org", ServiceID: "calculator", Group: "default_group",
		OrgFile: "testdata/org.json", ServiceFile: "testdata/service.json",
	}
	org, svc, err := l.Load(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	og, _ := org.Group("default_group")
	sg, _ := svc.Group("default_group")
	fmt.Println(og.IDBase64(), og.PaymentAddress.Hex(), og.ExpirationThreshold)
	fmt.Println(sg.Pricing.Model())
	// Output:
	// XS0JUMw/uCFwMxHkE0EARjraqeLaIWkUxtWmQnsPYuc= 0x3B2b3c2E2e5c83A2C3bA4b4f5c3f3F3a2a1b1C1D 40320
	// fixed_price_per_method
}
