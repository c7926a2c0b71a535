// Package conformance is the conformance suite for tariffd plugins (ABI v1,
// plugins/ABI.md; the specification's section 8): operators run it to judge
// a plugin they did not write before loading it, authors to prove theirs
// fit. The command line is `tariffd plugin check FILE`; README.md explains
// the checks, the vectors format and the report.
//
// Check loads the module with package plugins exactly as tariffd does (the
// same verification, limits, restricted WASI, deadlines and instance pools),
// so a pass means tariffd will load the plugin and run it as the suite did,
// and a failure names the check, the evidence and the fix:
//
//	report, err := conformance.Check(ctx, wasm, conformance.Options{
//		Config:  cfgJSON,  // the HCL config block, as JSON; nil if none
//		Vectors: vectors,  // from ParseVectors; none is fine
//	})
//	if err != nil { ... }  // bad options, or ctx done: never the plugin
//	report.WriteText(os.Stdout)
//	if !report.Passed { ... }
//
// The checks, in order: static (nothing runs: a valid module within the size
// cap, no shared memory, the ABI's exports and imports with their exact
// signatures, no _start, initial memory within memory_mib); init (the
// instance starts within the init deadline; tariff_info is valid and its
// kinds and abi_minor are supported); the author's golden vectors;
// adversarial requests the suite makes up (absent, empty, huge and invalid
// UTF-8 values, lengths around buffer sizes, odd metadata, empty and
// maximal bodies), which must each get a status, never a trap or timeout;
// resource ceilings (memory over 10,000 calls, output and log caps);
// determinism (the same answers on fresh, warm, shuffled and parallel
// instances, and with other WASI random bytes and clocks); latency (p50,
// p99 and max per call against a budget, judged on the median of rounds).
//
// A hostile plugin cannot hang or crash the suite: every call has its
// deadline, every start the init deadline, memory its limit, and the run as
// a whole a time budget; a plugin that keeps failing stops the run early.
// The plugins package exposes what the suite needs beyond a daemon's use in
// plugins/conformance_hooks.go.
package conformance
