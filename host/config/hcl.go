package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// decodeHCL reads a native HCL configuration. Errors carry HCL's own
// diagnostics (file:line:col, summary and detail).
func decodeHCL(name string, src []byte) (*userConfig, []Warning, Errors) {
	file, diags := hclsyntax.ParseConfig(src, name, hcl.Pos{Line: 1, Column: 1, Byte: 0})
	warnings, errs := fromDiagnostics(diags)
	if errs != nil {
		return nil, warnings, errs
	}
	u := &userConfig{}
	diags = gohcl.DecodeBody(file.Body, nil, u)
	w, errs := fromDiagnostics(diags)
	warnings = append(warnings, w...)
	if errs != nil {
		return nil, warnings, errs
	}
	if body, ok := file.Body.(*hclsyntax.Body); ok {
		u.origins = make(map[string]Origin)
		recordHCLOrigins(u.origins, body, "")
		if errs := recordPluginOrigins(u, body); errs != nil {
			return nil, warnings, errs
		}
	}
	return u, warnings, nil
}

// recordPluginOrigins gives each plugin block its positions, and refuses
// two blocks with the same name in one file: across files a later block
// replaces an earlier one, but within a file that is always a mistake.
func recordPluginOrigins(u *userConfig, body *hclsyntax.Body) Errors {
	var errs Errors
	seen := map[string]Origin{}
	i := 0
	for _, b := range body.Blocks {
		if b.Type != "plugin" || len(b.Labels) != 1 || i >= len(u.Plugins) {
			continue
		}
		p := &u.Plugins[i]
		i++
		key := "plugin." + p.Name
		p.origin = originAt(b.TypeRange, key)
		p.origins = make(map[string]Origin)
		recordHCLOrigins(p.origins, b.Body, "")
		for k, o := range p.origins {
			o.Key = key + "." + k
			p.origins[k] = o
		}
		if first, dup := seen[p.Name]; dup {
			errs = append(errs, &Error{Origin: p.origin, Err: fmt.Errorf("%w: duplicate plugin %q: also defined at %s; "+
				"names must be unique within a file (a later file's block replaces an earlier file's)",
				ErrInvalid, p.Name, first.Position())})
			continue
		}
		seen[p.Name] = p.origin
	}
	return errs
}

func recordHCLOrigins(out map[string]Origin, body *hclsyntax.Body, prefix string) {
	for name, attr := range body.Attributes {
		path := joinKey(prefix, name)
		out[path] = originAt(attr.NameRange, path)
	}
	for _, b := range body.Blocks {
		path := joinKey(prefix, b.Type)
		if _, seen := out[path]; !seen { // repeated blocks: the first one
			out[path] = originAt(b.TypeRange, path)
		}
		if len(b.Labels) == 0 {
			recordHCLOrigins(out, b.Body, path)
		}
	}
}

func originAt(r hcl.Range, key string) Origin {
	return Origin{Source: r.Filename, Line: r.Start.Line, Column: r.Start.Column, Key: key}
}

// fromDiagnostics splits HCL diagnostics into warnings and errors.
func fromDiagnostics(diags hcl.Diagnostics) ([]Warning, Errors) {
	var warnings []Warning
	var errs Errors
	for _, d := range diags {
		var o Origin
		if d.Subject != nil {
			o = Origin{Source: d.Subject.Filename, Line: d.Subject.Start.Line, Column: d.Subject.Start.Column}
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += "; " + strings.TrimSpace(d.Detail)
		}
		if d.Severity == hcl.DiagWarning {
			warnings = append(warnings, Warning{Origin: o, Message: msg})
			continue
		}
		errs = append(errs, &Error{Origin: o, Err: fmt.Errorf("%w: %s", ErrSyntax, msg)})
	}
	return warnings, errs
}
