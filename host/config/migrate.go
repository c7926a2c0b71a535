package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// ErrMigrate: the HCL written by Migrate would not load to the same Config
// as its source. It is a bug in tariffd, never the operator's mistake.
var ErrMigrate = errors.New("migrated configuration differs from its source")

// durationKeys are the settings read as durations (HCL paths, plugin and
// hook labels left out). Migrate writes their bare numbers of seconds
// (snet-daemon's ipfs_timeout: 30) as "30s".
var durationKeys = map[string]bool{
	"backend.timeout":                  true,
	"blockchain.poll_interval":         true,
	"metadata.ipfs_timeout":            true,
	"storage.embedded.startup_timeout": true,
	"storage.etcd.connection_timeout":  true,
	"storage.etcd.request_timeout":     true,
	"tokens.expiry":                    true,
	"plugin.limits.timeout":            true,
	"plugin.limits.init_timeout":       true,
}

// Migrate returns the HCL equivalent of the configuration file at path:
// snet-daemon's JSON, or an HCL file (which comes out normalized). It
// writes only what the file sets, so defaults stay defaults.
//
// Relative file paths keep pointing at the same files from dir, the
// directory the HCL file will be written to ("": path's own directory,
// where relative paths stay as they were written).
//
// Deprecated and unknown keys are Warnings (an unknown key is not
// migrated). A file that cannot be parsed returns its Errors and no HCL. A
// file that parses but does not validate returns the HCL and its Errors,
// so it can be fixed in its new form. Otherwise the HCL is checked to load
// to the same Config as the file (ErrMigrate if not). The environment is
// not read: SNET_ variables keep overriding the new file as they did the
// old one.
func Migrate(path, dir string) ([]byte, []Warning, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, Errors{{Origin: Origin{Source: path}, Err: err}}
	}
	return migrate(source{name: path, src: src}, dir)
}

func migrate(from source, dir string) ([]byte, []Warning, error) {
	path := from.name
	u, warnings, errs := decodeSource(from)
	if errs != nil {
		return nil, sortWarnings(warnings), sortErrors(errs)
	}
	if dir == "" {
		dir = filepath.Dir(path)
	}
	u.resolvePaths(filepath.Dir(path))
	if abs, err := filepath.Abs(dir); err == nil {
		u.mapPaths(func(p string) string {
			if rel, err := filepath.Rel(abs, p); err == nil {
				return filepath.ToSlash(rel)
			}
			return p
		})
	}
	out := writeHCL(u, filepath.Base(path))

	want, _, err := load([]source{from}, nil)
	if err != nil {
		return out, sortWarnings(warnings), err
	}
	got, _, err := load([]source{{name: filepath.Join(dir, "migrated.hcl"), src: out}}, nil)
	if err != nil {
		return nil, warnings, fmt.Errorf("%w: %w", ErrMigrate, err)
	}
	if diff := firstDifference(reflect.ValueOf(withoutOrigins(want)), reflect.ValueOf(withoutOrigins(got)), "Config"); diff != "" {
		return nil, warnings, fmt.Errorf("%w: %s", ErrMigrate, diff)
	}
	return out, sortWarnings(warnings), nil
}

// withoutOrigins clears what says where a Config came from rather than what it
// is.
func withoutOrigins(c Config) Config {
	c.Files = nil
	ps := make([]Plugin, len(c.Plugins))
	for i, p := range c.Plugins {
		p.Origin = Origin{}
		ps[i] = p
	}
	if c.Plugins == nil {
		ps = nil
	}
	c.Plugins = ps
	return c
}

// firstDifference names the first field where a and b differ, "" if none.
func firstDifference(a, b reflect.Value, path string) string {
	if a.Kind() == reflect.Struct && a.Type().NumField() > 0 && a.Type().Field(0).IsExported() {
		for i := 0; i < a.NumField(); i++ {
			if d := firstDifference(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%s: %v in the source, %v migrated", path, a.Interface(), b.Interface())
	}
	return ""
}

// writeHCL writes the settings u sets, in the order of the format's
// documentation.
func writeHCL(u *userConfig, from string) []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment,
		Bytes: []byte("# Migrated from " + from + " by tariffd config migrate: the settings it sets, in\n")}})
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment,
		Bytes: []byte("# tariff's format. Everything else keeps its default (see tariffd's configuration reference).\n")}})
	body.AppendNewline()
	writeBody(body, reflect.ValueOf(u).Elem(), "", true)
	return hclwrite.Format(f.Bytes())
}

func writeBody(body *hclwrite.Body, v reflect.Value, prefix string, top bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, kind, ok := hclTag(t.Field(i))
		if !ok || kind == "label" {
			continue
		}
		fv := v.Field(i)
		path := joinKey(prefix, name)
		if kind != "block" {
			if val, ok := attrValue(fv, path); ok {
				body.SetAttributeValue(name, val)
			}
			continue
		}
		blocks := []reflect.Value{}
		switch fv.Kind() {
		case reflect.Pointer:
			if !fv.IsNil() {
				blocks = append(blocks, fv.Elem())
			}
		case reflect.Slice:
			for j := 0; j < fv.Len(); j++ {
				blocks = append(blocks, fv.Index(j))
			}
		}
		for _, bv := range blocks {
			if top || len(blocks) > 1 {
				body.AppendNewline()
			}
			blk := body.AppendNewBlock(name, blockLabels(bv))
			writeBody(blk.Body(), bv, path, false)
		}
	}
}

// hclTag returns the name and kind of a field's hcl tag.
func hclTag(f reflect.StructField) (name, kind string, ok bool) {
	tag, ok := f.Tag.Lookup("hcl")
	if !ok || !f.IsExported() {
		return "", "", false
	}
	name, kind, _ = strings.Cut(tag, ",")
	return name, kind, true
}

func blockLabels(v reflect.Value) []string {
	var labels []string
	for i := 0; i < v.NumField(); i++ {
		if _, kind, ok := hclTag(v.Type().Field(i)); ok && kind == "label" {
			labels = append(labels, v.Field(i).String())
		}
	}
	return labels
}

// attrValue converts a set user setting to the cty value to write.
func attrValue(fv reflect.Value, path string) (cty.Value, bool) {
	if c, ok := fv.Interface().(cty.Value); ok {
		if c == cty.NilVal || c.IsNull() {
			return cty.NilVal, false
		}
		return c, true
	}
	if fv.Kind() != reflect.Pointer || fv.IsNil() {
		return cty.NilVal, false
	}
	switch x := fv.Elem().Interface().(type) {
	case string:
		if durationKeys[path] {
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil && f >= 0 && f <= float64(1<<62)/float64(time.Second) {
				x = time.Duration(f * float64(time.Second)).String()
			}
		}
		return cty.StringVal(x), true
	case int:
		return cty.NumberIntVal(int64(x)), true
	case int64:
		return cty.NumberIntVal(x), true
	case float64:
		return cty.NumberFloatVal(x), true
	case bool:
		return cty.BoolVal(x), true
	case []string:
		if len(x) == 0 {
			return cty.ListValEmpty(cty.String), true
		}
		l := make([]cty.Value, len(x))
		for i, s := range x {
			l[i] = cty.StringVal(s)
		}
		return cty.ListVal(l), true
	case map[string]string:
		if len(x) == 0 {
			return cty.EmptyObjectVal, true
		}
		m := make(map[string]cty.Value, len(x))
		for k, s := range x {
			// free_calls.per_address = { "0x…" = 500 } reads better than "500".
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(n, 10) == s {
				m[k] = cty.NumberIntVal(n)
			} else {
				m[k] = cty.StringVal(s)
			}
		}
		return cty.ObjectVal(m), true
	}
	panic(fmt.Sprintf("config: no HCL form for %s (%s)", path, fv.Type()))
}
