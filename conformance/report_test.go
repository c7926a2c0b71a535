package conformance_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/conformance"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

// sampleReport is a report with every kind of line, with fixed numbers.
func sampleReport() *conformance.Report {
	ms := func(f float64) conformance.Duration { return conformance.Duration(f * float64(time.Millisecond)) }
	return &conformance.Report{
		Plugin: conformance.PluginInfo{Name: "go-tiered", Version: "0.1.0", Kinds: []string{"pricing"},
			SHA256: "84f770aa90dc93cd32a9bd953200c1475cd8b049d17d6801a0e5d79e14563135", ModuleBytes: 1953546},
		Checks: []conformance.CheckResult{
			{Name: "static.valid", Status: conformance.Pass, Reason: "a valid WebAssembly module; compiled in 544ms"},
			{Name: "vectors", Status: conformance.Skip, Reason: "no vectors given (--vectors): only the generated requests were checked"},
			{Name: "adversarial", Status: conformance.Fail,
				Reason:  "1 of 237 requests ended in a trap, timeout or other failure instead of a status",
				Fix:     "bound the work of a call by the size of its input: the call deadline is pricing 20ms",
				Details: []string{"pricing: metadata x-priority: 64 KiB: ERROR timeout: did not return within 20ms"}},
			{Name: "determinism.environment", Status: conformance.Pass, Reason: "8 requests got the same answers with other random_get bytes and clocks",
				Warnings: []string{"1 answer changed with the WASI clock"}},
		},
		Metrics: conformance.Metrics{
			ModuleBytes: 1953546, Compile: ms(544.2), Init: ms(3.84),
			InitialMemoryBytes: 2162688, PeakMemoryBytes: 3670016, MemoryLimitBytes: 32 << 20,
			Calls: []conformance.CallMetrics{{Kind: "pricing", P50: ms(0.0043), P99: ms(0.0226), Max: ms(0.0508),
				Budget: ms(5), Deadline: ms(20), Calls: 1000}},
			TotalCalls: 11650, Elapsed: ms(890.33),
		},
	}
}

func TestReportGolden(t *testing.T) {
	r := sampleReport()
	var text, js bytes.Buffer
	require.NoError(t, r.WriteText(&text))
	golden(t, "report.txt.golden", text.Bytes())
	require.NoError(t, r.WriteJSON(&js))
	golden(t, "report.json.golden", js.Bytes())

	r.Checks[2] = conformance.CheckResult{Name: "adversarial", Status: conformance.Pass, Reason: "all got a status"}
	r.Passed = true
	text.Reset()
	require.NoError(t, r.WriteText(&text))
	golden(t, "report_pass.txt.golden", text.Bytes())
}
