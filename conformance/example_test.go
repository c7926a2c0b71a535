package conformance_test

import (
	"context"
	"fmt"

	"github.com/tariffd/tariff/conformance"
	"github.com/tariffd/tariff/plugins/plugintest"
)

// Check a plugin as tariffd would run it, with the author's vectors.
func ExampleCheck() {
	wasm, err := plugintest.Fixture("good") // a real caller reads the .wasm file
	if err != nil {
		panic(err)
	}
	vectors, err := conformance.ParseVectors([]byte(`{"vectors": [
		{"name": "add", "kind": "pricing",
		 "input": {"method": "/example_service.Calculator/add"},
		 "expect": {"status": "OK", "price": 10}}
	]}`))
	if err != nil {
		panic(err) // the message names the vector and the problem
	}
	report, err := conformance.Check(context.Background(), wasm, conformance.Options{Vectors: vectors})
	if err != nil {
		panic(err) // bad options, or the context ended: never the plugin
	}
	fmt.Println("passed:", report.Passed)
	fmt.Println(report.Check("vectors").Reason)
	fmt.Println(report.Check("static.exports").Reason)
	// Output:
	// passed: true
	// 1 vector gave the expected answers
	// exports memory, tariff_abi_v1, tariff_info, tariff_price, tariff_free_call, tariff_transform
}

// A failed check names the evidence and the fix.
func ExampleReport_Failed() {
	wasm, err := plugintest.Fixture("bad_stateful")
	if err != nil {
		panic(err)
	}
	report, err := conformance.Check(context.Background(), wasm, conformance.Options{})
	if err != nil {
		panic(err)
	}
	for _, name := range report.Failed() {
		c := report.Check(name)
		fmt.Println(c.Name)
		fmt.Println(c.Details[0])
		fmt.Println("fix:", c.Fix)
	}
	// Output:
	// determinism.instances
	// typical pricing request /example_service.Calculator/add with a 2000-byte body: a warm instance answered OK price 2, a fresh instance OK price 1
	// fix: answer from the request alone: keep no state across calls in globals (counters, caches, the last request); tariffd quotes and charges on any instance
}

func ExampleParseVectors() {
	vectors, err := conformance.ParseVectors([]byte(`{"vectors": [
		{"name": "unknown priority", "kind": "pricing",
		 "input": {"method": "/example_service.Calculator/add", "body_len": 2000,
		           "meta": {"x-priority": "urgent", "x-trace-bin": "AAE="}},
		 "expect": {"status": "DENY", "code": "InvalidArgument"}}
	]}`))
	if err != nil {
		panic(err)
	}
	v := vectors[0]
	fmt.Printf("%s: %s, %d-byte body, x-trace-bin %q: want %s, code %d\n",
		v.Name, v.Kind, len(v.Input.Body), v.Input.Meta["x-trace-bin"][0], v.Expect.Status, *v.Expect.Code)
	// Output: unknown priority: pricing, 2000-byte body, x-trace-bin "\x00\x01": want DENY, code 3
}
