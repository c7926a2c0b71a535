// Package plugintest builds test plugins from WebAssembly text, for the
// tests of tariff's packages and of plugin authors' hosts.
package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

var (
	fixtureMu sync.Mutex
	fixtures  = map[string][]byte{}
)

// Fixture returns testdata/NAME.wat, relative to the working directory (a
// test's package directory), assembled with WAT once per process.
func Fixture(name string) ([]byte, error) {
	src, err := filepath.Abs(filepath.Join("testdata", name+".wat"))
	if err != nil {
		return nil, err
	}
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	if b, ok := fixtures[src]; ok {
		return b, nil
	}
	b, err := WAT(src)
	if err != nil {
		return nil, err
	}
	fixtures[src] = b
	return b, nil
}

// WAT assembles the WAT source file src with wat2wasm (Debian's wabt, which
// `make deps` installs). Lines ";; wat2wasm: FLAGS" in the source add flags,
// e.g. --enable-threads for a fixture that must be refused for using them.
func WAT(src string) ([]byte, error) {
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		return nil, fmt.Errorf("wat2wasm is not installed: test plugins are WAT sources built by the tests; " +
			"install wabt (`make deps-apt`, or `apt-get install wabt`)")
	}
	text, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	var flags []string
	for _, line := range strings.Split(string(text), "\n") {
		if rest, ok := strings.CutPrefix(line, ";; wat2wasm: "); ok {
			flags = append(flags, strings.Fields(rest)...)
		}
	}
	dir, err := os.MkdirTemp("", "tariff-wat")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out.wasm")
	if msg, err := exec.Command(tool, append(flags, src, "-o", out)...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("wat2wasm %s: %v\n%s", src, err, msg)
	}
	return os.ReadFile(out)
}
