package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/conformance"
)

// pluginFlatWAT prices every call at 10 cogs a byte of its method; PASS
// without one.
const pluginFlatWAT = `(module
  (import "tariff_v1" "input" (func $input (param i32 i32 i32) (result i64)))
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"flat\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 67))
  (func (export "tariff_price") (result i32)
    (local $n i64)
    (local.set $n (call $input (i32.const 1) (i32.const 1024) (i32.const 0)))
    (if (i64.lt_s (local.get $n) (i64.const 0)) (then (return (i32.const 1))))
    (call $set_price (i64.mul (local.get $n) (i64.const 10)))
    (i32.const 0)))`

// pluginCounterWAT's price is its call count: not deterministic.
const pluginCounterWAT = `(module
  (import "tariff_v1" "set_price" (func $set_price (param i64)))
  (memory (export "memory") 1)
  (global $n (mut i64) (i64.const 0))
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"counter\",\"version\":\"1.0.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"]}")
  (func (export "tariff_info") (result i64) (i64.const 70))
  (func (export "tariff_price") (result i32)
    (global.set $n (i64.add (global.get $n) (i64.const 1)))
    (call $set_price (global.get $n))
    (i32.const 0)))`

const pluginFlatVectors = `{"vectors": [
  {"name": "add", "input": {"method": "/example_service.Calculator/add"}, "expect": {"status": "OK", "price": 310}},
  {"name": "no method", "input": {}, "expect": {"status": "PASS"}}
]}`

// pluginFiles writes the test's plugin modules, vectors and config into a
// temporary directory and returns its path.
func pluginFiles(t *testing.T) string {
	t.Helper()
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm is not installed (make deps-apt)")
	}
	dir := t.TempDir()
	for name, wat := range map[string]string{"flat": pluginFlatWAT, "counter": pluginCounterWAT} {
		src := filepath.Join(dir, name+".wat")
		require.NoError(t, os.WriteFile(src, []byte(wat), 0o644))
		msg, err := exec.Command(tool, src, "-o", filepath.Join(dir, name+".wasm")).CombinedOutput()
		require.NoError(t, err, "%s", msg)
	}
	files := map[string]string{
		"flat.vectors.json":  pluginFlatVectors,
		"wrong.vectors.json": strings.Replace(pluginFlatVectors, "310", "311", 1),
		"bad.vectors.json":   `{"vectors": [{"name": "x", "expect": {"status": "MAYBE"}}]}`,
		"config.json":        `{"multiplier": 2}`,
		"bad-config.json":    `{"multiplier":`,
	}
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	return dir
}

func TestPluginCheckPasses(t *testing.T) {
	dir := pluginFiles(t)
	flat := filepath.Join(dir, "flat.wasm")

	code, out, errOut := opsRun("plugin", "check", flat)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Empty(t, errOut)
	require.True(t, strings.HasPrefix(out, "file     "+flat+"\nplugin   flat 1.0.0: pricing, ABI v1.0\n"), out)
	for _, want := range []string{"\nPASS  static.imports ", "\nPASS  latency ", "\nSKIP  vectors ", "\nPASS: 16 checks passed, 1 skipped"} {
		require.Contains(t, out, want)
	}

	// Flags before or after FILE; vectors and config from files.
	code, out, errOut = opsRun("plugin", "check", "--vectors", filepath.Join(dir, "flat.vectors.json"), flat,
		"--config", filepath.Join(dir, "config.json"), "--kind", "pricing", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var r conformance.Report
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&r))
	require.True(t, r.Passed)
	require.Equal(t, conformance.Pass, r.Check("vectors").Status)
	require.Equal(t, "2 vectors gave the expected answers", r.Check("vectors").Reason)
}

func TestPluginCheckFails(t *testing.T) {
	dir := pluginFiles(t)

	code, out, _ := opsRun("plugin", "check", filepath.Join(dir, "counter.wasm"))
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "\nFAIL  determinism.instances ")
	require.Contains(t, out, "\nFAIL: 1 of 17 checks failed: determinism.instances\n")

	code, out, _ = opsRun("plugin", "check", filepath.Join(dir, "flat.wasm"), "--vectors", filepath.Join(dir, "wrong.vectors.json"))
	require.Equal(t, 1, code, out)
	require.Contains(t, out, `vector "add": got OK price 310; want price 311`)

	// Not a module at all: the plugin fails, it is not a usage error.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "text.wasm"), []byte("hello"), 0o644))
	code, out, _ = opsRun("plugin", "check", "--json", filepath.Join(dir, "text.wasm"))
	require.Equal(t, 1, code, out)
	var r conformance.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Equal(t, []string{"static.valid"}, r.Failed())
}

func TestPluginCheckUsage(t *testing.T) {
	dir := pluginFiles(t)
	flat := filepath.Join(dir, "flat.wasm")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plugin"}, "usage:"},
		{[]string{"plugin", "inspect"}, `unknown command "inspect"`},
		{[]string{"plugin", "check"}, "want one plugin module, got 0 arguments"},
		{[]string{"plugin", "check", flat, flat}, "want one plugin module, got 2 arguments"},
		{[]string{"plugin", "check", filepath.Join(dir, "missing.wasm")}, "no such file or directory"},
		{[]string{"plugin", "check", flat, "--kind", "price"}, `unknown kind "price"`},
		{[]string{"plugin", "check", flat, "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"plugin", "check", flat, "--vectors", filepath.Join(dir, "bad.vectors.json")}, `invalid vectors: vector 1 ("x"): expect: status "MAYBE"`},
		{[]string{"plugin", "check", flat, "--config", filepath.Join(dir, "bad-config.json")}, "invalid options: the config is not valid JSON"},
		{[]string{"plugin", "check", flat, "--memory-mib", "5000"}, "memory_mib 5000 is above the host maximum of 1024"},
		{[]string{"plugin", "check", flat, "--timeout", "-1s"}, "must not be negative"},
	} {
		code, out, errOut := opsRun(tc.args...)
		require.Equal(t, 2, code, "%v: %s", tc.args, out)
		require.Empty(t, out, "%v", tc.args)
		require.Contains(t, errOut, tc.want, "%v", tc.args)
	}

	code, out, _ := opsRun("plugin", "help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "tariffd plugin check FILE")
	var b bytes.Buffer
	require.Equal(t, 2, run([]string{"plugin", "check"}, &b, &b))
}
