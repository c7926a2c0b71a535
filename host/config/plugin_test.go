package config

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGoldenMerge loads the files each testdata/merge/*.files lists (paths
// relative to testdata, in order, as several --config flags) and compares
// the result with <case>.files.golden. Run with -update to regenerate.
func TestGoldenMerge(t *testing.T) {
	cases, _ := filepath.Glob("testdata/merge/*.files")
	sort.Strings(cases)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(c), ".files"), func(t *testing.T) {
			var paths []string
			for _, line := range strings.Split(strings.TrimSpace(string(mustRead(t, c))), "\n") {
				paths = append(paths, filepath.Join("testdata", strings.TrimSpace(line)))
			}
			cfg, warnings, err := Load(paths, nil)
			got := goldenDump(cfg, warnings, err)
			golden := c + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
				return
			}
			want, rerr := os.ReadFile(golden)
			require.NoError(t, rerr, "run go test -update")
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s (run go test -update and review the diff):\n%s", c, golden, got)
			}
			require.Equal(t, strings.HasPrefix(filepath.Base(c), "err_"), err != nil, "error = %v", err)
		})
	}
}

// An unchanged snetd.config.json plus an HCL file with only plugin blocks:
// the JSON says everything else, the HCL file needs no other key.
func TestPluginsNextToSnetdJSON(t *testing.T) {
	alone, _, err := Load([]string{"testdata/typical.snetd.json"}, nil)
	require.NoError(t, err)
	cfg, warnings, err := Load([]string{"testdata/typical.snetd.json", "testdata/plugins/plugins.hcl"}, nil)
	require.NoError(t, err)
	for _, w := range warnings {
		require.NotContains(t, w.Origin.Source, "plugins.hcl", "warning about the plugins file: %s", w)
	}
	require.Len(t, cfg.Plugins, 3)
	plugins := cfg.Plugins
	cfg.Plugins, cfg.Files, alone.Files = nil, nil, nil
	require.Equal(t, alone, cfg, "the plugins file changes nothing but the plugins")

	wasm := mustAbs(t, "testdata/plugins/pass.wasm")
	tiered := plugins[0]
	require.Equal(t, "tiered", tiered.Name)
	require.Equal(t, PluginPricing, tiered.Kind)
	require.Equal(t, wasm, tiered.Path, "relative to the HCL file, made absolute")
	require.Equal(t, "fdebfd3da0f0eaf6bbe2ee185cbbf669ab29e8257571ca27e0b511aef4a9c9bb", tiered.SHA256, "lowercase")
	require.Equal(t, PluginLimits{MemoryMiB: 16, Timeout: 20 * time.Millisecond, Instances: 4, InitTimeout: time.Second}, tiered.Limits)
	require.JSONEq(t, `{"header":"x-priority","multiplier":2,"tiers":[{"over_bytes":1024,"price":25}]}`, string(tiered.Config))
	require.Equal(t, "testdata/plugins/plugins.hcl:4:1", tiered.Origin.Position())
	require.Equal(t, "plugin.tiered", tiered.Origin.Key)

	daily := plugins[1]
	require.Equal(t, wasm, daily.Path, "./pass.wasm is the same file")
	require.Equal(t, tiered.SHA256, daily.SHA256, "unpinned: the hash of the file as read")
	require.Equal(t, []string{AllMethods}, daily.Methods)
	require.Equal(t, OnErrorFallback, daily.OnError)
	require.Equal(t, PluginLimits{MemoryMiB: 32, Timeout: 20 * time.Millisecond, Instances: 4, InitTimeout: time.Second}, daily.Limits)
	require.Nil(t, daily.Config, "no config: the plugin's config call answers absent")

	transform := plugins[2]
	require.Equal(t, OnErrorDeny, transform.OnError)
	require.Equal(t, 2*time.Second, transform.Limits.Timeout, "a transform may take longer")
	require.Equal(t, `"plain string"`, string(transform.Config))
}

func TestPluginDefaultTimeouts(t *testing.T) {
	for kind, want := range map[string]time.Duration{
		PluginPricing: 20 * time.Millisecond, PluginFreeCall: 20 * time.Millisecond, PluginTransform: 100 * time.Millisecond,
	} {
		cfg := loadPlugin(t, `kind = "`+kind+`"`)
		require.Equal(t, want, cfg.Limits.Timeout, kind)
		require.Equal(t, uint32(32), cfg.Limits.MemoryMiB, kind)
		require.Equal(t, 4, cfg.Limits.Instances, kind)
	}
}

func TestPluginLimitsAtTheMaxima(t *testing.T) {
	p := loadPlugin(t, `kind = "pricing"
		limits {
		  memory_mib   = 1024
		  timeout      = "1s"
		  instances    = 64
		  init_timeout = "30s"
		}`)
	require.Equal(t, PluginLimits{MemoryMiB: 1024, Timeout: time.Second, Instances: 64, InitTimeout: 30 * time.Second}, p.Limits)
	p = loadPlugin(t, `kind = "transform"
		limits { timeout = 5 }`)
	require.Equal(t, 5*time.Second, p.Limits.Timeout, "a bare number is seconds, as elsewhere")
}

// loadPlugin loads one plugin block (body without path) next to the typical
// snetd file.
func loadPlugin(t *testing.T, body string) Plugin {
	t.Helper()
	src := "plugin \"p\" {\n  path = \"testdata/plugins/pass.wasm\"\n" + body + "\n}\n"
	cfg, _, err := load([]source{
		{name: "testdata/typical.snetd.json", src: mustRead(t, "testdata/typical.snetd.json")},
		{name: "p.hcl", src: []byte(src)},
	}, nil)
	require.NoError(t, err, src)
	require.Len(t, cfg.Plugins, 1)
	return cfg.Plugins[0]
}

// TestPluginErrors checks the messages operators read; the golden files
// hold the complete output.
func TestPluginErrors(t *testing.T) {
	_, _, err := Load([]string{"testdata/typical.snetd.json", "testdata/plugins/err_validation.hcl"}, nil)
	require.Error(t, err)
	require.ErrorIs(t, err, ErrInvalid)
	abs := mustAbs(t, "testdata/plugins")
	for _, want := range []string{
		`testdata/plugins/err_validation.hcl:4:3: plugin.missing-file.path: invalid value: ` + abs + `/no-such.wasm: no such file`,
		`testdata/plugins/err_validation.hcl:10:3: plugin.wrong-hash.sha256: invalid value: ` + abs + `/pass.wasm has SHA-256 fdebfd3da0f0eaf6bbe2ee185cbbf669ab29e8257571ca27e0b511aef4a9c9bb, the configuration pins 0000000000000000000000000000000000000000000000000000000000000000`,
		`testdata/plugins/err_validation.hcl:16:3: plugin.bad-hash.sha256: invalid value: "sha256:fdebfd3d" is not a SHA-256 in hex`,
		`testdata/plugins/err_validation.hcl:22:3: plugin.bad-patterns.methods: invalid value: "/example_service.Calculator/[add": invalid pattern syntax`,
		`plugin.bad-patterns.methods: invalid value: "example_service.Calculator/*": want a full method name pattern`,
		`plugin.bad-patterns.methods: invalid value: "/a/b/c": want a full method name pattern`,
		`plugin.bad-patterns.methods: invalid value: "/*": want a full method name pattern`,
		`testdata/plugins/err_validation.hcl:28:3: plugin.no-methods.methods: invalid value: must list at least one pattern`,
		`testdata/plugins/err_validation.hcl:35:5: plugin.over-limits.limits.memory_mib: invalid value: 2048 MiB is out of range: must be 1 to 1024`,
		`testdata/plugins/err_validation.hcl:36:5: plugin.over-limits.limits.timeout: invalid value: 2s is above the maximum of 1s for a pricing or free_call plugin`,
		`testdata/plugins/err_validation.hcl:37:5: plugin.over-limits.limits.instances: invalid value: 0 is out of range: must be 1 to 64`,
		`plugin.slow-transform.limits.timeout: invalid value: 6s is above the maximum of 5s for a transform plugin`,
		`plugin.bad-timeout.limits.timeout: invalid value: "soon" is not a duration`,
		`plugin.zero-timeout.limits.timeout: invalid value: must be greater than zero`,
		`plugin.bad-kind.kind: invalid value: unknown kind "pricer" (want pricing, free_call or transform)`,
		`plugin.bad-kind.on_error: invalid value: "ignore" (want deny or fallback)`,
		`testdata/plugins/err_validation.hcl:71:1: plugin.bad name!: invalid value: plugin name "bad name!"`,
		`testdata/plugins/err_validation.hcl:71:1: plugin.bad name!.kind: invalid value: must be set`,
		`testdata/plugins/err_validation.hcl:71:1: plugin.bad name!.path: invalid value: must be set`,
		`plugin.directory.path: invalid value: ` + abs + ` is not a regular file`,
	} {
		require.Contains(t, err.Error(), want)
	}

	_, _, err = Load([]string{"testdata/typical.snetd.json", "testdata/plugins/err_duplicate.hcl"}, nil)
	require.ErrorIs(t, err, ErrInvalid)
	require.EqualError(t, err, `testdata/plugins/err_duplicate.hcl:13:1: plugin.tiered: invalid value: duplicate plugin "tiered": `+
		`also defined at testdata/plugins/err_duplicate.hcl:3:1; names must be unique within a file (a later file's block replaces an earlier file's)`)

	_, _, err = Load([]string{"testdata/typical.snetd.json", "testdata/plugins/err_schema.hcl"}, nil)
	require.ErrorIs(t, err, ErrSyntax)
	for _, want := range []string{
		`testdata/plugins/err_schema.hcl:6:3: syntax error: Unsupported argument; An argument named "memory_mib" is not expected here.`,
		`testdata/plugins/err_schema.hcl:7:18: syntax error: Unsuitable value type; Unsuitable value: list of string required`,
		`testdata/plugins/err_schema.hcl:9:19: syntax error: Unsuitable value type; Unsuitable value: a number is required`,
		`testdata/plugins/err_schema.hcl:10:5: syntax error: Unsupported argument; An argument named "cpu" is not expected here.`,
		`testdata/plugins/err_schema.hcl:14:8: syntax error: Missing name for plugin; All plugin blocks must have 1 labels (name).`,
	} {
		require.Contains(t, err.Error(), want)
	}
}

func TestPluginMergeByName(t *testing.T) {
	cfg, _, err := Load([]string{"testdata/typical.snetd.json", "testdata/plugins/plugins.hcl", "testdata/plugins/override.hcl"}, nil)
	require.NoError(t, err)
	var names []string
	for _, p := range cfg.Plugins {
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"tiered", "daily", "tier-header", "extra"}, names, "a replaced block keeps its place")
	tiered := cfg.Plugins[0]
	require.Equal(t, "testdata/plugins/override.hcl:4:1", tiered.Origin.Position())
	require.Equal(t, []string{"/example_service.Calculator/mul"}, tiered.Methods)
	require.Equal(t, PluginLimits{MemoryMiB: 64, Timeout: 20 * time.Millisecond, Instances: 8, InitTimeout: time.Second}, tiered.Limits,
		"replaced whole: the timeout is the default again")
	require.Nil(t, tiered.Config, "replaced whole: the earlier config is gone")
	require.Equal(t, OnErrorDeny, tiered.OnError)
	require.Equal(t, `[1,2.5,true,null]`, string(cfg.Plugins[3].Config))

	// An error in a replaced block still counts: each file must be valid.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	require.NoError(t, os.WriteFile(bad, []byte("plugin \"tiered\" {\n  kind = \"pricing\"\n  path = \"nope.wasm\"\n}\n"), 0o600))
	_, _, err = Load([]string{"testdata/typical.snetd.json", bad, "testdata/plugins/plugins.hcl"}, nil)
	require.NoError(t, err, "a later block replaces the bad one before validation")
	_, _, err = Load([]string{"testdata/typical.snetd.json", "testdata/plugins/plugins.hcl", bad}, nil)
	require.ErrorContains(t, err, bad+":3:3: plugin.tiered.path: invalid value: "+filepath.Join(dir, "nope.wasm")+": no such file")
}

func TestPluginMatches(t *testing.T) {
	p := Plugin{Methods: []string{"/example_service.Calculator/*", "/example_service.Admin/[gs]et?", "/other.S/exact"}}
	for method, want := range map[string]bool{
		"/example_service.Calculator/add":  true,
		"/example_service.Calculator/":     true, // path.Match: * matches the empty string
		"/example_service.Calculator2/add": false,
		"/example_service.Admin/getX":      true,
		"/example_service.Admin/delete":    false,
		"/other.S/exact":                   true,
		"/other.S/exactly":                 false,
		"example_service.Calculator/add":   false,
	} {
		require.Equal(t, want, p.Matches(method), method)
	}
	require.True(t, Plugin{Methods: []string{AllMethods}}.Matches("/any.Service/Method"))
	require.False(t, Plugin{}.Matches("/any.Service/Method"), "no patterns, no match")
}

func TestPluginFileChecks(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.wasm")
	f, err := os.Create(big)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(maxPluginFileBytes+1)) // sparse
	require.NoError(t, f.Close())
	_, err = hashFile(big)
	require.ErrorContains(t, err, "more than the largest module a plugin may be (64 MiB)")

	_, err = hashFile("/dev/zero")
	require.ErrorContains(t, err, "is not a regular file", "never read a device")

	ok := filepath.Join(dir, "ok.wasm")
	require.NoError(t, os.WriteFile(ok, []byte("test"), 0o600))
	sum, err := hashFile(ok)
	require.NoError(t, err)
	require.Equal(t, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", sum)

	_, err = hashFile(filepath.Join(dir, "none.wasm"))
	require.ErrorContains(t, err, "none.wasm: no such file")
}

func TestPluginsInJSONAreAWarning(t *testing.T) {
	cfg, warnings, err := Load([]string{"testdata/plugins_in_json.snetd.json"}, nil)
	require.NoError(t, err)
	require.Empty(t, cfg.Plugins)
	var found bool
	for _, w := range warnings {
		if w.Origin.Key == "plugins" {
			found = true
			require.Contains(t, w.Message, "plugins are configured in HCL")
		}
	}
	require.True(t, found, "%v", warnings)
}
