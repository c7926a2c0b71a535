package config

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Sentinels wrapped by the errors Load returns; match with errors.Is.
var (
	// ErrSyntax: a file cannot be parsed (JSON or HCL syntax, wrong value
	// type for a key).
	ErrSyntax = errors.New("syntax error")
	// ErrInvalid: a value parses but cannot be used.
	ErrInvalid = errors.New("invalid value")
	// ErrFormat: a file's extension is neither .json nor .hcl.
	ErrFormat = errors.New("unknown configuration format")
)

// Origin says where a setting came from.
type Origin struct {
	// Source is the file name, "env" for an environment variable, or ""
	// for a default.
	Source string
	// Line and Column are 1-based; 0 when unknown (env, defaults).
	Line, Column int
	// Key is the setting as spelled in its source: "daemon_end_point",
	// "backend.endpoint", "SNET_DAEMON_ENDPOINT". For defaults, the HCL path.
	Key string
}

// Position returns "file:line:col", "file", "env" or "default".
func (o Origin) Position() string {
	switch {
	case o.Source == "":
		return "default"
	case o.Line > 0:
		return fmt.Sprintf("%s:%d:%d", o.Source, o.Line, o.Column)
	default:
		return o.Source
	}
}

// String returns the position followed by the key; for a setting that no
// source set, only the key.
func (o Origin) String() string {
	switch {
	case o.Key == "":
		return o.Position()
	case o.Source == "":
		return o.Key
	}
	return o.Position() + ": " + o.Key
}

// Error is one problem with one setting.
type Error struct {
	Origin Origin
	Err    error // wraps ErrSyntax or ErrInvalid
}

func (e *Error) Error() string { return e.Origin.String() + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem Load found; it never stops at the first one.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap lets errors.Is and errors.As look at each problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Warning is a problem that does not stop the daemon: a deprecated or
// unknown key, a setting that is ignored, an insecure default.
type Warning struct {
	Origin  Origin
	Message string
}

func (w Warning) String() string { return w.Origin.String() + ": " + w.Message }

// Secret is a sensitive string (a private key, a token secret). It prints
// and marshals redacted so that dumping or logging a Config leaks nothing;
// Reveal returns the value.
type Secret string

const redacted = "(redacted)"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// MarshalText redacts the value (it also covers encoding/json).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue redacts the value in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// GoString redacts the value in %#v output.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }
