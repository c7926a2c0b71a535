package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkLoad runs the whole pipeline on untrusted bytes: it must not panic,
// and must return either a Config or errors.
func checkLoad(t *testing.T, name string, src []byte) {
	env := func(k string) (string, bool) {
		if k == "SNET_LOG" {
			return string(src), true // the env JSON path parses bytes too
		}
		return "", false
	}
	cfg, _, err := load([]source{{name: name, src: src}}, env)
	if err == nil && cfg.Listen == "" {
		t.Fatalf("valid configuration without a listen address")
	}
	if err != nil && err.Error() == "" {
		t.Fatalf("empty error")
	}
	checkPlugins(t, cfg.Plugins)

	// What loads migrates to HCL that loads to the same Config (migrate
	// checks it and says ErrMigrate otherwise).
	if _, _, err := migrate(source{name: name, src: src}, ""); errors.Is(err, ErrMigrate) {
		t.Fatalf("%v", err)
	}
}

// checkPlugins: a valid configuration only holds plugins the host can load
// as they are.
func checkPlugins(t *testing.T, ps []Plugin) {
	names := map[string]bool{}
	for _, p := range ps {
		switch {
		case names[p.Name]:
			t.Fatalf("plugin %q twice", p.Name)
		case p.Kind != PluginPricing && p.Kind != PluginFreeCall && p.Kind != PluginTransform:
			t.Fatalf("plugin %q: kind %q", p.Name, p.Kind)
		case !filepath.IsAbs(p.Path) || len(p.SHA256) != 64:
			t.Fatalf("plugin %q: path %q, sha256 %q", p.Name, p.Path, p.SHA256)
		case len(p.Methods) == 0 || p.OnError != OnErrorDeny && p.OnError != OnErrorFallback:
			t.Fatalf("plugin %q: methods %q, on_error %q", p.Name, p.Methods, p.OnError)
		case p.Limits.MemoryMiB < 1 || p.Limits.MemoryMiB > maxPluginMemoryMiB ||
			p.Limits.Instances < 1 || p.Limits.Instances > maxPluginInstances ||
			p.Limits.Timeout <= 0 || p.Limits.Timeout > maxPluginTransformTimeout:
			t.Fatalf("plugin %q: limits %+v", p.Name, p.Limits)
		case p.Config != nil && !json.Valid(p.Config):
			t.Fatalf("plugin %q: config %q is not JSON", p.Name, p.Config)
		}
		for _, m := range p.Methods {
			if err := checkMethodPattern(m); err != nil {
				t.Fatalf("plugin %q: pattern %q: %v", p.Name, m, err)
			}
		}
		names[p.Name] = true
	}
}

func FuzzLoadJSON(f *testing.F) {
	addSeeds(f, "testdata/*.json")
	f.Add([]byte(`{"log": {"hooks": ["a", "A"], "a": {"type": "email", "levels": "error"}}}`))
	f.Add([]byte(`{"service_credentials": [{"key": "k", "value": [1, {"a": null}], "location": "body"}]}`))
	f.Add([]byte(strings.Repeat("[", 100)))
	// snetd's format has no plugins: the keys are warned about, never loaded.
	f.Add([]byte(`{"plugins": {"p": {"kind": "pricing", "path": "testdata/plugins/pass.wasm"}}}`))
	f.Add([]byte(`{"plugin": [{"name": "p"}], "Plugins": null}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		checkLoad(t, "fuzz.json", src)
	})
}

func FuzzLoadHCL(f *testing.F) {
	addSeeds(f, "testdata/*.hcl")
	f.Add([]byte("log {\n hook \"x\" {\n settings = { a = [1] }\n }\n}\n"))
	f.Add([]byte("backend {\n credential {\n value = { a = [true, null] }\n }\n}\n"))
	// Plugin blocks: the seeds under testdata/plugins name their module
	// relative to their own directory, these relative to the package's.
	addSeeds(f, "testdata/plugins/*.hcl")
	const rpc = "blockchain {\n rpc_endpoint = \"http://127.0.0.1:8545\"\n}\n"
	f.Add([]byte(rpc + "plugin \"p\" {\n kind = \"pricing\"\n path = \"testdata/plugins/pass.wasm\"\n" +
		" sha256 = \"fdebfd3da0f0eaf6bbe2ee185cbbf669ab29e8257571ca27e0b511aef4a9c9bb\"\n" +
		" methods = [\"/a.B/*\"]\n limits {\n timeout = \"1s\"\n memory_mib = 1\n instances = 64\n }\n" +
		" config = { a = [1, \"x\", null, { b = true }] }\n}\n"))
	f.Add([]byte(rpc + "plugin \"p\" {\n kind = \"transform\"\n path = \"testdata/plugins/pass.wasm\"\n}\n" +
		"plugin \"q\" {\n kind = \"free_call\"\n path = \"testdata/plugins/pass.wasm\"\n on_error = \"fallback\"\n}\n"))
	f.Add([]byte("plugin \"p\" {\n path = \"/dev/zero\"\n methods = [\"/[\"]\n config = 1e999\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		checkLoad(t, "fuzz.hcl", src)
	})
}
