package config

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Load reads the configuration files in order, applies the SNET_
// environment overrides through env (nil: none; os.LookupEnv in
// production), applies defaults and validates.
//
// Each file is parsed by its extension: ".json" is snet-daemon's format,
// ".hcl" tariff's. A later file overrides the keys it sets; the environment
// overrides every file. Warnings (deprecated or unknown keys, insecure
// defaults) are returned even when the configuration is valid. The error,
// if any, is an Errors listing every problem found, each with its file,
// line and column.
func Load(paths []string, env func(string) (string, bool)) (Config, []Warning, error) {
	srcs := make([]source, 0, len(paths))
	var errs Errors
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, &Error{Origin: Origin{Source: p}, Err: err})
			continue
		}
		srcs = append(srcs, source{name: p, src: b})
	}
	if errs != nil {
		return Config{}, nil, errs
	}
	return load(srcs, env)
}

type source struct {
	name string
	src  []byte
}

func load(srcs []source, env func(string) (string, bool)) (Config, []Warning, error) {
	merged := &userConfig{}
	var warnings []Warning
	var errs Errors
	add := func(u *userConfig, w []Warning, e Errors, dir string) {
		warnings = append(warnings, w...)
		errs = append(errs, e...)
		if u != nil && e == nil {
			u.resolvePaths(dir)
			merge(merged, u)
		}
	}
	files := make([]string, 0, len(srcs))
	for _, s := range srcs {
		files = append(files, s.name)
		u, w, e := decodeSource(s)
		add(u, w, e, filepath.Dir(s.name))
	}
	if env != nil {
		u, w, e := decodeEnv(env)
		add(u, w, e, "")
	}
	if errs != nil {
		return Config{}, sortWarnings(warnings), sortErrors(errs)
	}
	cfg, w, e := build(merged)
	warnings = sortWarnings(append(warnings, w...))
	if e != nil {
		return Config{}, warnings, sortErrors(e)
	}
	cfg.Files = files
	return cfg, warnings, nil
}

// decodeSource decodes one file by its extension.
func decodeSource(s source) (*userConfig, []Warning, Errors) {
	switch strings.ToLower(filepath.Ext(s.name)) {
	case ".json":
		return decodeJSON(s.name, s.src)
	case ".hcl":
		return decodeHCL(s.name, s.src)
	}
	return nil, nil, Errors{{Origin: Origin{Source: s.name},
		Err: fmt.Errorf("%w: want a .json (snet-daemon) or .hcl (tariff) file", ErrFormat)}}
}

// Problems are reported in file order, then those of the environment, then
// those of settings no source set.
func sortErrors(es Errors) Errors {
	slices.SortStableFunc(es, func(a, b *Error) int { return compareOrigins(a.Origin, b.Origin) })
	return es
}

func sortWarnings(ws []Warning) []Warning {
	slices.SortStableFunc(ws, func(a, b Warning) int { return compareOrigins(a.Origin, b.Origin) })
	return ws
}

func compareOrigins(a, b Origin) int {
	rank := func(o Origin) int {
		switch o.Source {
		case "":
			return 2
		case "env":
			return 1
		}
		return 0
	}
	if c := cmp.Compare(rank(a), rank(b)); c != 0 {
		return c
	}
	// Files keep their load order: only positions within one file sort.
	if a.Source != b.Source {
		return 0
	}
	if c := cmp.Compare(a.Line, b.Line); c != 0 {
		return c
	}
	return cmp.Compare(a.Column, b.Column)
}
