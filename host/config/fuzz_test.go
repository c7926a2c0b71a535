package config

import (
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
}

func FuzzLoadJSON(f *testing.F) {
	addSeeds(f, "testdata/*.json")
	f.Add([]byte(`{"log": {"hooks": ["a", "A"], "a": {"type": "email", "levels": "error"}}}`))
	f.Add([]byte(`{"service_credentials": [{"key": "k", "value": [1, {"a": null}], "location": "body"}]}`))
	f.Add([]byte(strings.Repeat("[", 100)))
	f.Fuzz(func(t *testing.T, src []byte) {
		checkLoad(t, "fuzz.json", src)
	})
}

func FuzzLoadHCL(f *testing.F) {
	addSeeds(f, "testdata/*.hcl")
	f.Add([]byte("log {\n hook \"x\" {\n settings = { a = [1] }\n }\n}\n"))
	f.Add([]byte("backend {\n credential {\n value = { a = [true, null] }\n }\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		checkLoad(t, "fuzz.hcl", src)
	})
}
