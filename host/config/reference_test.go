package config

import (
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zclconf/go-cty/cty"
)

// referenceRow is one setting of REFERENCE.md.
type referenceRow struct {
	key, typ, example string
	json              []string
}

var backticked = regexp.MustCompile("`([^`]+)`")

// readReference parses the settings tables (header "| HCL key |") and the
// deprecated keys table of REFERENCE.md.
func readReference(t *testing.T) (rows map[string]referenceRow, deprecated map[string]string) {
	t.Helper()
	rows, deprecated = map[string]referenceRow{}, map[string]string{}
	table := ""
	for _, line := range strings.Split(string(mustRead(t, "REFERENCE.md")), "\n") {
		if !strings.HasPrefix(line, "|") {
			table = ""
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case table == "" && cells[0] == "HCL key":
			require.Len(t, cells, 6, line)
			table = "settings"
		case table == "" && cells[0] == "deprecated JSON key":
			table = "deprecated"
		case strings.HasPrefix(cells[0], "---"):
		case table == "settings":
			require.Len(t, cells, 6, "a row needs 6 cells (no | inside a cell): %s", line)
			key := strings.Trim(cells[0], "`")
			require.NotContains(t, rows, key, "listed twice")
			r := referenceRow{key: key, typ: cells[2], example: strings.Trim(cells[5], "`")}
			for _, m := range backticked.FindAllStringSubmatch(cells[1], -1) {
				r.json = append(r.json, m[1])
			}
			require.True(t, cells[1] == "—" || len(r.json) > 0, "JSON key cell of %s: %q", key, cells[1])
			require.NotEmpty(t, cells[3], "default of %s", key)
			require.NotEmpty(t, r.example, "example of %s", key)
			rows[key] = r
		case table == "deprecated":
			deprecated[strings.Trim(cells[0], "`")] = strings.Trim(cells[1], "`")
		}
	}
	return rows, deprecated
}

// hclSettings returns every HCL setting the decoder knows, by path
// (labelled blocks without their label: "plugin.limits.timeout"), with its
// Go type.
func hclSettings() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(rt reflect.Type, prefix string)
	walk = func(rt reflect.Type, prefix string) {
		for i := 0; i < rt.NumField(); i++ {
			name, kind, ok := hclTag(rt.Field(i))
			if !ok || kind == "label" {
				continue
			}
			ft := rt.Field(i).Type
			if kind == "block" {
				for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
					ft = ft.Elem()
				}
				walk(ft, joinKey(prefix, name))
				continue
			}
			out[joinKey(prefix, name)] = ft
		}
	}
	walk(reflect.TypeOf(userConfig{}), "")
	return out
}

// pathSettings returns the settings resolved as file paths: every string
// setting is set to its own name, and mapPaths reports which it visits.
func pathSettings() map[string]bool {
	u := &userConfig{Plugins: make([]pluginBlock, 1)}
	var fill func(v reflect.Value, prefix string)
	fill = func(v reflect.Value, prefix string) {
		for i := 0; i < v.NumField(); i++ {
			name, kind, ok := hclTag(v.Type().Field(i))
			if !ok || kind == "label" {
				continue
			}
			f, key := v.Field(i), joinKey(prefix, name)
			switch {
			case kind == "block" && f.Kind() == reflect.Pointer:
				f.Set(reflect.New(f.Type().Elem()))
				fill(f.Elem(), key)
			case kind == "block" && f.Kind() == reflect.Slice:
				if f.Len() == 0 {
					f.Set(reflect.MakeSlice(f.Type(), 1, 1))
				}
				fill(f.Index(0), key)
			case f.Type() == reflect.TypeOf((*string)(nil)):
				k := key
				f.Set(reflect.ValueOf(&k))
			}
		}
	}
	fill(reflect.ValueOf(u).Elem(), "")
	out := map[string]bool{}
	u.mapPaths(func(p string) string { out[p] = true; return p })
	return out
}

// snetdJSONKeys maps every snet-daemon JSON key the key tables know to the
// HCL setting it sets.
func snetdJSONKeys() map[string]string {
	out := map[string]string{}
	var walk func(table map[string]jsonKey, prefix string)
	walk = func(table map[string]jsonKey, prefix string) {
		for k, v := range table {
			full := joinKey(prefix, k)
			if v.path != "" {
				out[full] = v.path
			}
			walk(v.sub, full)
		}
	}
	walk(snetdKeys, "")
	walk(logKeys, "log")
	walk(formatterKeys, "log.formatter")
	return out
}

// TestReference keeps REFERENCE.md in step with the decoder: the same
// settings, each with its snet-daemon JSON keys, a type that matches the
// decoder's, and an example that decodes.
func TestReference(t *testing.T) {
	rows, deprecated := readReference(t)
	settings := hclSettings()

	var missing, extra []string
	for k := range settings {
		if _, ok := rows[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range rows {
		if _, ok := settings[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	require.Empty(t, missing, "settings the decoder knows that REFERENCE.md does not list")
	require.Empty(t, extra, "settings REFERENCE.md lists that the decoder does not know")

	// JSON keys: every key a row names sets that row's setting, and every
	// key of the snetd tables that sets a setting is named by its row.
	jsonKeys := snetdJSONKeys()
	handwritten := map[string]string{ // decoded by setters, not by the tables
		"service_credentials[].key":      "backend.credential.key",
		"service_credentials[].value":    "backend.credential.value",
		"service_credentials[].location": "backend.credential.location",
		"log.hooks":                      "log.hook.type",
		"log.<hook>.type":                "log.hook.type",
		"log.<hook>.levels":              "log.hook.levels",
		"log.<hook>.<key>":               "log.hook.settings",
	}
	for key, r := range rows {
		for _, j := range r.json {
			want, ok := jsonKeys[j]
			if !ok {
				want, ok = handwritten[j]
			}
			require.True(t, ok, "%s: JSON key %q is not one the decoder reads", key, j)
			require.Equal(t, want, key, "JSON key %q", j)
		}
	}
	for j, key := range jsonKeys {
		if _, isSetting := settings[key]; isSetting {
			require.Contains(t, rows[key].json, j, "%s: JSON key %q is not listed", key, j)
		}
	}
	require.Equal(t, deprecatedKeys, deprecated, "the deprecated keys table")

	// Types.
	paths := pathSettings()
	for key, r := range rows {
		var want []string
		switch settings[key] {
		case reflect.TypeOf((*string)(nil)):
			switch {
			case durationKeys[key]:
				want = []string{"duration"}
			case paths[key]:
				want = []string{"path"}
			default:
				want = []string{"string", "secret", "address"}
			}
		case reflect.TypeOf((*int)(nil)), reflect.TypeOf((*int64)(nil)):
			want = []string{"int"}
		case reflect.TypeOf((*float64)(nil)):
			want = []string{"number"}
		case reflect.TypeOf((*bool)(nil)):
			want = []string{"bool"}
		case reflect.TypeOf((*[]string)(nil)):
			want = []string{"list(string)", "list(address)"}
		case reflect.TypeOf((*map[string]string)(nil)):
			want = []string{"map(string)"}
		case reflect.TypeOf(cty.Value{}):
			want = []string{"any"}
		default:
			t.Fatalf("%s: no reference type for %s", key, settings[key])
		}
		require.Contains(t, want, r.typ, "type of %s", key)
	}
	for key := range durationKeys {
		require.Contains(t, settings, key, "durationKeys names an unknown setting")
	}

	// Examples decode (syntax and type) where they would be written.
	for key, r := range rows {
		src := exampleHCL(key, r.example)
		_, _, errs := decodeHCL("REFERENCE.md", []byte(src))
		require.Nil(t, errs, "example of %s:\n%s", key, src)
	}
}

// exampleHCL wraps "value" as the HCL that sets key to it, giving labelled
// blocks a label.
func exampleHCL(key, value string) string {
	parts := strings.Split(key, ".")
	var open, closing []string
	rt := reflect.TypeOf(userConfig{})
	for _, p := range parts[:len(parts)-1] {
		for i := 0; i < rt.NumField(); i++ {
			name, _, ok := hclTag(rt.Field(i))
			if !ok || name != p {
				continue
			}
			ft := rt.Field(i).Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			header := p
			if len(blockLabels(reflect.New(ft).Elem())) > 0 {
				header += ` "example"`
			}
			open = append(open, header+" {")
			closing = append(closing, "}")
			rt = ft
			break
		}
	}
	return strings.Join(open, "\n") + "\n" + parts[len(parts)-1] + " = " + value + "\n" + strings.Join(closing, "\n") + "\n"
}

// The reference's example plugin block is valid too.
func TestReferencePluginExample(t *testing.T) {
	doc := string(mustRead(t, "REFERENCE.md"))
	start := strings.Index(doc, "```hcl\nplugin ")
	require.GreaterOrEqual(t, start, 0)
	block := doc[start+len("```hcl\n"):]
	block = block[:strings.Index(block, "```")]
	_, _, errs := decodeHCL("REFERENCE.md", []byte(block))
	require.Nil(t, errs, block)
}
