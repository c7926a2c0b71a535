// Package tjson reads values from a JSON document without encoding/json: no
// reflection, no allocation beyond the strings it returns, so it suits
// plugins built with standard Go or TinyGo. It is meant for a plugin's
// config (tariff.Config), which tariffd produces from the HCL config block.
//
//	cfg := tariff.Config()
//	base, ok := tjson.Get(cfg, "methods", "/example_service.Calculator/add", "base").Uint()
//
// tjson does not validate a whole document: it scans only as far as a lookup
// needs, and answers "not found" (false) for what it cannot read. It never
// panics on malformed input.
package tjson

import (
	"strconv"
	"unicode/utf8"
)

// Value is the JSON text of one value, without surrounding whitespace. A
// nil Value is a value that is not there: every method answers false or
// zero for it, so lookups chain.
type Value []byte

// Kind is the JSON type of a Value.
type Kind uint8

// Kinds of values.
const (
	Invalid Kind = iota // missing or malformed
	Null
	Bool
	Number
	String
	Array
	Object
)

// maxDepth bounds the nesting tjson follows, so hostile input cannot
// exhaust the stack.
const maxDepth = 256

// Get returns the value at path in the JSON document data: each element of
// path is an object key. With no path it returns the document itself. It
// returns nil when a key is missing or data is malformed on the way. When a
// key occurs more than once in an object, the last one counts, as in
// encoding/json.
func Get(data []byte, path ...string) Value {
	v := trimValue(data)
	for _, key := range path {
		v = v.member(key)
		if v == nil {
			return nil
		}
	}
	return v
}

// Get returns the value at path inside v (see the function Get).
func (v Value) Get(path ...string) Value { return Get(v, path...) }

// trimValue returns the first value in data, or nil.
func trimValue(data []byte) Value {
	i := skipSpace(data, 0)
	end, ok := skip(data, i, 0)
	if !ok {
		return nil
	}
	return Value(data[i:end])
}

func (v Value) member(key string) Value {
	var found Value
	ok := v.Object(func(k string, val Value) bool {
		if k == key {
			found = val
		}
		return true
	})
	if !ok {
		return nil
	}
	return found
}

// Exists reports whether v is a value (it may be null).
func (v Value) Exists() bool { return v.Kind() != Invalid }

// Kind returns the JSON type of v, judged by its first byte.
func (v Value) Kind() Kind {
	if len(v) == 0 {
		return Invalid
	}
	switch c := v[0]; {
	case c == 'n':
		return Null
	case c == 't' || c == 'f':
		return Bool
	case c == '"':
		return String
	case c == '[':
		return Array
	case c == '{':
		return Object
	case c == '-' || '0' <= c && c <= '9':
		return Number
	}
	return Invalid
}

// Uint returns v as an unsigned integer: a JSON number written with digits
// only (no sign, fraction or exponent) that fits in 64 bits.
func (v Value) Uint() (uint64, bool) {
	if len(v) == 0 || !isDigits(v) || len(v) > 1 && v[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// Int returns v as a signed integer: digits with an optional minus sign,
// fitting in 64 bits.
func (v Value) Int() (int64, bool) {
	d := v
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || !isDigits(d) || len(d) > 1 && d[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Bool returns v as a boolean.
func (v Value) Bool() (bool, bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Str returns v as a string, unescaped. Invalid UTF-8 becomes U+FFFD, as in
// encoding/json.
func (v Value) Str() (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	return unquote(v[1 : len(v)-1])
}

// Object calls fn for each member of the object v, in order, until fn
// returns false. It returns false if v is not an object or is malformed
// before fn stopped.
func (v Value) Object(fn func(key string, val Value) bool) bool {
	if v.Kind() != Object {
		return false
	}
	data := []byte(v)
	i := skipSpace(data, 1)
	if i < len(data) && data[i] == '}' {
		return true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		end, ok := skipString(data, i)
		if !ok {
			return false
		}
		key, ok := unquote(data[i+1 : end-1])
		if !ok {
			return false
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		end, ok = skip(data, i, 1)
		if !ok {
			return false
		}
		if !fn(key, Value(data[i:end])) {
			return true
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return true
		default:
			return false
		}
	}
}

// Array calls fn for each element of the array v, in order, until fn
// returns false. It returns false if v is not an array or is malformed
// before fn stopped.
func (v Value) Array(fn func(i int, val Value) bool) bool {
	if v.Kind() != Array {
		return false
	}
	data := []byte(v)
	i := skipSpace(data, 1)
	if i < len(data) && data[i] == ']' {
		return true
	}
	for n := 0; ; n++ {
		end, ok := skip(data, i, 1)
		if !ok {
			return false
		}
		if !fn(n, Value(data[i:end])) {
			return true
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return true
		default:
			return false
		}
	}
}

// Len returns the number of elements of an array or members of an object,
// or -1 if v is neither or is malformed.
func (v Value) Len() int {
	n := 0
	count := func() bool { n++; return true }
	var ok bool
	switch v.Kind() {
	case Array:
		ok = v.Array(func(int, Value) bool { return count() })
	case Object:
		ok = v.Object(func(string, Value) bool { return count() })
	}
	if !ok {
		return -1
	}
	return n
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skip returns the end of the value starting at data[i].
func skip(data []byte, i, depth int) (int, bool) {
	if i >= len(data) || depth > maxDepth {
		return 0, false
	}
	switch c := data[i]; {
	case c == '"':
		return skipString(data, i)
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == closing {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i >= len(data) || data[i] != '"' {
					return 0, false
				}
				end, ok := skipString(data, i)
				if !ok {
					return 0, false
				}
				i = skipSpace(data, end)
				if i >= len(data) || data[i] != ':' {
					return 0, false
				}
				i = skipSpace(data, i+1)
			}
			end, ok := skip(data, i, depth+1)
			if !ok {
				return 0, false
			}
			i = skipSpace(data, end)
			if i >= len(data) {
				return 0, false
			}
			switch data[i] {
			case ',':
				i = skipSpace(data, i+1)
			case closing:
				return i + 1, true
			default:
				return 0, false
			}
		}
	case c == 't':
		return skipLiteral(data, i, "true")
	case c == 'f':
		return skipLiteral(data, i, "false")
	case c == 'n':
		return skipLiteral(data, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return skipNumber(data, i)
	}
	return 0, false
}

func skipLiteral(data []byte, i int, lit string) (int, bool) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// skipNumber checks the JSON number grammar.
func skipNumber(data []byte, i int) (int, bool) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = digits(data, i)
	default:
		return 0, false
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}

// skipString returns the end of the string starting at data[i] == '"'.
func skipString(data []byte, i int) (int, bool) {
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
		case c < 0x20:
			return 0, false
		}
	}
	return 0, false
}

// unquote decodes the inside of a JSON string.
func unquote(s []byte) (string, bool) {
	simple := true
	for _, c := range s {
		if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
			simple = false
			break
		}
	}
	if simple {
		return string(s), true
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(s[i:])
			out = utf8.AppendRune(out, r) // RuneError for invalid bytes
			i += size
		case c != '\\':
			out = append(out, c)
			i++
		default:
			if i+1 >= len(s) {
				return "", false
			}
			e := s[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(s, i)
				if !ok {
					return "", false
				}
				i += 4
				if 0xD800 <= r && r < 0xDC00 {
					// A high surrogate: a low one must follow, or the
					// character is U+FFFD (as in encoding/json).
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if lo, ok := hex4(s, i+2); ok && 0xDC00 <= lo && lo < 0xE000 {
							r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
							i += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				} else if 0xDC00 <= r && r < 0xE000 {
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", false
			}
		}
	}
	return string(out), true
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
