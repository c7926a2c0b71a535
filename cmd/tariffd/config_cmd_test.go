package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/host/config"
	"github.com/tariffd/tariff/plugins"
)

// pricingWAT is a pricing-only plugin that always declines (PASS).
const pricingWAT = `(module
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"decline\",\"version\":\"1.2.3\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 89))
  (func (export "tariff_price") (result i32) (i32.const 1)))`

// failInitWAT fails in tariff_init: only loading it shows the problem.
const failInitWAT = `(module
  (memory (export "memory") 1)
  (func (export "tariff_abi_v1"))
  (data (i32.const 0) "{\"name\":\"broken\",\"version\":\"0.1.0\",\"abi_minor\":0,\"kinds\":[\"pricing\"],\"needs_body\":false}")
  (func (export "tariff_info") (result i64) (i64.const 88))
  (func (export "tariff_init") (result i32) (i32.const 7))
  (func (export "tariff_price") (result i32) (i32.const 1)))`

// wasmFile compiles WAT with wabt's wat2wasm (as plugins' fixtures are)
// into dir/name and returns its hex SHA-256.
func wasmFile(t *testing.T, dir, name, wat string) string {
	t.Helper()
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Fatal("wat2wasm is not installed: install wabt (`make deps-apt`, or `apt-get install wabt`)")
	}
	src := filepath.Join(t.TempDir(), "m.wat")
	require.NoError(t, os.WriteFile(src, []byte(wat), 0o600))
	require.NoError(t, os.MkdirAll(dir, 0o700))
	out := filepath.Join(dir, name)
	msg, err := exec.Command(tool, src, "-o", out).CombinedOutput()
	require.NoError(t, err, "%s", msg)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// snetdJSON is a typical unchanged snet-daemon file.
const snetdJSON = `{
	"blockchain_enabled": true,
	"blockchain_network_selected": "sepolia",
	"daemon_endpoint": "0.0.0.0:7000",
	"ethereum_json_rpc_http_endpoint": "https://sepolia.infura.io/v3/0123456789abcdef0123456789abcdef",
	"organization_id": "example-org",
	"service_id": "example-service",
	"service_endpoint": "http://localhost:7003",
	"token_secret_key": "a-prepaid-token-secret-of-at-least-32-bytes",
	"log": {"level": "debug", "output": {"type": "stdout"}}
}`

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	sum := wasmFile(t, filepath.Join(dir, "plugins"), "decline.wasm", pricingWAT)
	snetd := writeFile(t, dir, "snetd.config.json", snetdJSON)
	pluginsHCL := writeFile(t, dir, "plugins.hcl", `
plugin "tiered" {
  kind    = "pricing"
  path    = "plugins/decline.wasm"
  sha256  = "`+sum+`"
  methods = ["/example_service.Calculator/*"]
  limits {
    memory_mib = 16
    instances  = 2
  }
  config = { multiplier = 2 }
}
`)

	code, out, errOut := runCmd("config", "check", snetd, pluginsHCL)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	require.Equal(t, "ok: 2 files, 1 plugin verified\n", out)

	// --config works as for serve, and --json reports the same.
	code, out, _ = runCmd("config", "check", "--json", "--config", snetd, "-c", pluginsHCL)
	require.Equal(t, 0, code)
	var rep checkReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.True(t, rep.OK)
	require.Equal(t, []string{snetd, pluginsHCL}, rep.Files)
	require.Equal(t, []checkedPlugin{{Name: "tiered", Kind: "pricing", Path: filepath.Join(dir, "plugins", "decline.wasm"),
		SHA256: sum, Module: "decline 1.2.3", Kinds: []string{"pricing"}, Methods: []string{"/example_service.Calculator/*"}}}, rep.Plugins)
	require.Empty(t, rep.Errors)

	// Warnings are printed with ok.
	unknown := writeFile(t, dir, "unknown.json", strings.Replace(snetdJSON, `"blockchain_enabled"`, `"colour": "blue", "blockchain_enabled"`, 1))
	code, out, _ = runCmd("config", "check", unknown)
	require.Equal(t, 0, code)
	require.Equal(t, "warning: "+unknown+":2:2: colour: unknown key ignored\nok: 1 file, 0 plugins verified\n", out)
}

func TestConfigCheckErrors(t *testing.T) {
	dir := t.TempDir()
	sum := wasmFile(t, dir, "decline.wasm", pricingWAT)
	wasmFile(t, dir, "broken.wasm", failInitWAT)
	snetd := writeFile(t, dir, "snetd.config.json", snetdJSON)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.wasm"), []byte("not wasm"), 0o600))

	tests := []struct {
		name, hcl string
		want      []string
	}{
		{"configuration errors, with positions", `
plugin "tiered" {
  kind   = "pricing"
  path   = "decline.wasm"
  sha256 = "` + strings.Repeat("0", 64) + `"
  limits { timeout = "3s" }
}
`, []string{
			"error: PLUGINS:5:3: plugin.tiered.sha256: invalid value: " + filepath.Join(dir, "decline.wasm") + " has SHA-256 " + sum +
				", the configuration pins " + strings.Repeat("0", 64),
			"error: PLUGINS:6:12: plugin.tiered.limits.timeout: invalid value: 3s is above the maximum of 1s",
		}},
		{"the module implements another kind", `
plugin "daily" {
  kind = "free_call"
  path = "decline.wasm"
}
`, []string{
			`error: PLUGINS:2:1: plugin.daily: invalid plugin "daily": module decline 1.2.3 implements [pricing], not free_call`,
		}},
		{"not a module", `
plugin "junk" {
  kind = "pricing"
  path = "junk.wasm"
}
`, []string{
			`error: PLUGINS:2:1: plugin.junk: invalid plugin "junk": not a valid WebAssembly module`,
		}},
		{"init fails", `
plugin "broken" {
  kind = "pricing"
  path = "broken.wasm"
}
`, []string{
			`error: PLUGINS:2:1: plugin.broken: invalid plugin "broken": `,
		}},
		{"syntax", `plugin "x" {`, []string{"error: PLUGINS:1:12: syntax error: Unclosed configuration block"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, "plugins.hcl", tt.hcl)
			code, out, _ := runCmd("config", "check", snetd, p)
			require.Equal(t, exitFailed, code, out)
			require.NotContains(t, out, "ok:")
			for _, w := range tt.want {
				require.Contains(t, out, strings.ReplaceAll(w, "PLUGINS", p))
			}
		})
	}

	code, out, _ := runCmd("config", "check", filepath.Join(dir, "none.json"))
	require.Equal(t, exitFailed, code)
	require.Contains(t, out, "error: "+filepath.Join(dir, "none.json")+": open ")

	code, _, errOut := runCmd("config", "check", "--nope")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "flag provided but not defined: -nope")
	code, _, _ = runCmd("config")
	require.Equal(t, exitUsage, code)
	code, _, _ = runCmd("config", "lint")
	require.Equal(t, exitUsage, code)
}

func TestConfigMigrate(t *testing.T) {
	dir := t.TempDir()
	snetd := writeFile(t, dir, "snetd.config.json", strings.Replace(snetdJSON,
		`"blockchain_enabled": true,`, `"blockchain_enabled": true, "ipfs_timeout": 45, "metadata": {"org_file": "meta/org.json"},`, 1))

	// To stdout: paths stay relative to the JSON file's directory.
	code, out, errOut := runCmd("config", "migrate", snetd)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, `org_file     = "meta/org.json"`)
	require.Contains(t, out, `ipfs_timeout = "45s"`)

	// To a file elsewhere, flags after the file: paths follow.
	outFile := filepath.Join(dir, "etc", "tariff.hcl")
	require.NoError(t, os.MkdirAll(filepath.Dir(outFile), 0o700))
	code, _, errOut = runCmd("config", "migrate", snetd, "-o", outFile)
	require.Equal(t, 0, code, errOut)
	hcl, err := os.ReadFile(outFile)
	require.NoError(t, err)
	require.Contains(t, string(hcl), `org_file     = "../meta/org.json"`)
	st, err := os.Stat(outFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "it may hold private keys")
	requireSameConfig(t, snetd, outFile)

	code, _, errOut = runCmd("config", "migrate", "-o", outFile, snetd)
	require.Equal(t, exitFailed, code)
	require.Contains(t, errOut, "exists (--force to overwrite it)")
	code, _, errOut = runCmd("config", "migrate", "--force", "-o", outFile, snetd)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runCmd("config", "migrate", "-o", snetd, snetd)
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "is the file being migrated")
	code, _, _ = runCmd("config", "migrate")
	require.Equal(t, exitUsage, code)

	// The golden full and typical snetd files of host/config.
	for _, in := range []string{"../../host/config/testdata/full.json", "../../host/config/testdata/typical.snetd.json"} {
		out := filepath.Join(t.TempDir(), "tariff.hcl")
		code, _, errOut := runCmd("config", "migrate", "-o", out, in)
		require.Equal(t, 0, code, errOut)
		requireSameConfig(t, in, out)
	}

	// A file that does not parse: no HCL, exit 1.
	bad := writeFile(t, dir, "bad.json", `{"daemon_endpoint": }`)
	code, out, errOut = runCmd("config", "migrate", bad)
	require.Equal(t, exitFailed, code)
	require.Empty(t, out)
	require.Contains(t, errOut, bad+":1:21: syntax error")
}

// TestConfigMigrateLocalnet migrates the file a running local network
// (examples/devnet/localnet) wrote and tariffd serves from.
func TestConfigMigrateLocalnet(t *testing.T) {
	n := opsNetwork(t)
	out := filepath.Join(t.TempDir(), "tariff.hcl")
	code, _, errOut := runCmd("config", "migrate", "-o", out, n.ConfigPath)
	require.Equal(t, 0, code, errOut)
	requireSameConfig(t, n.ConfigPath, out)
	code, stdout, _ := runCmd("config", "check", out)
	require.Equal(t, 0, code, stdout)
}

func requireSameConfig(t *testing.T, a, b string) {
	t.Helper()
	none := func(string) (string, bool) { return "", false }
	ca, _, err := config.Load([]string{a}, none)
	require.NoError(t, err)
	cb, _, err := config.Load([]string{b}, none)
	require.NoError(t, err, "%s", mustReadFile(t, b))
	ca.Files, cb.Files = nil, nil
	require.Equal(t, ca, cb, "%s", mustReadFile(t, b))
}

func mustReadFile(t *testing.T, name string) string {
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}

// The configuration's plugin defaults are the plugins package's, and its
// maxima are limits the plugins package accepts.
func TestConfigPluginLimitsFitThePluginsPackage(t *testing.T) {
	dir := t.TempDir()
	wasmFile(t, dir, "decline.wasm", pricingWAT)
	snetd := writeFile(t, dir, "snetd.config.json", snetdJSON)
	load := func(body string) config.Plugin {
		p := writeFile(t, dir, "plugins.hcl", "plugin \"p\" {\n  path = \"decline.wasm\"\n"+body+"\n}\n")
		cfg, _, err := config.Load([]string{snetd, p}, nil)
		require.NoError(t, err)
		return cfg.Plugins[0]
	}
	def := load(`kind = "pricing"`)
	require.Equal(t, config.PluginLimits{MemoryMiB: plugins.DefaultMemoryMiB, Timeout: plugins.DefaultTimeout,
		Instances: plugins.DefaultInstances, InitTimeout: plugins.DefaultInitTimeout}, def.Limits)
	require.Equal(t, plugins.DefaultTransformTimeout, load(`kind = "transform"`).Limits.Timeout)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{})
	require.NoError(t, err)
	defer rt.Close(ctx)
	for _, body := range []string{
		"kind = \"pricing\"\nlimits {\n memory_mib = 1024\n timeout = \"1s\"\n instances = 64\n}",
		"kind = \"transform\"\nlimits {\n timeout = \"5s\"\n}",
	} {
		p := load(body)
		wasm, err := os.ReadFile(p.Path)
		require.NoError(t, err)
		loaded, err := rt.Load(ctx, wasm, pluginOptions(p))
		require.NoError(t, err, body)
		require.Equal(t, p.Limits.Instances, loaded.Limits().Instances)
		require.Equal(t, p.Limits.MemoryMiB, loaded.Limits().MemoryMiB)
		require.NoError(t, loaded.Close(ctx))
	}
}
