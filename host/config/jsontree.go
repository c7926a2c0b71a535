package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// jnode is a JSON value with its position, so that every key of a snetd
// JSON file can be reported as file:line:col. encoding/json alone loses
// positions once a value is decoded.
type jnode struct {
	kind    jkind
	text    string // string value, or number literal
	boolean bool
	members []jmember // objects, in file order
	elems   []*jnode
	off     int64 // offset of the value's first byte
}

type jmember struct {
	key string
	off int64 // offset of the key
	val *jnode
}

type jkind uint8

const (
	jnull jkind = iota
	jstring
	jnumber
	jbool
	jobject
	jarray
)

func (k jkind) String() string {
	return [...]string{"null", "string", "number", "boolean", "object", "array"}[k]
}

// maxJSONDepth bounds nesting; no configuration is deeper than a few levels,
// and the bound keeps hostile input from exhausting the stack.
const maxJSONDepth = 64

// jsonSyntaxError is a JSON parse failure at a byte offset.
type jsonSyntaxError struct {
	off int64
	msg string
}

func (e *jsonSyntaxError) Error() string { return e.msg }

// parseJSON parses one JSON object (the whole input).
func parseJSON(src []byte) (*jnode, error) {
	n, err := parseJSONValue(src)
	if err != nil {
		return nil, err
	}
	if n.kind != jobject {
		return nil, &jsonSyntaxError{n.off, fmt.Sprintf("the configuration must be a JSON object, not %s", n.kind)}
	}
	return n, nil
}

// parseJSONValue parses one JSON value (the whole input).
func parseJSONValue(src []byte) (*jnode, error) {
	p := &jparser{src: src, dec: json.NewDecoder(bytes.NewReader(src))}
	p.dec.UseNumber()
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &jsonSyntaxError{p.start(), "unexpected data after the JSON value"}
	}
	return n, nil
}

type jparser struct {
	src []byte
	dec *json.Decoder
}

// start returns the offset of the next token: the decoder's offset is just
// past the previous token, before any separator.
func (p *jparser) start() int64 {
	off := p.dec.InputOffset()
	for off < int64(len(p.src)) {
		switch p.src[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
			continue
		}
		break
	}
	return off
}

func (p *jparser) token() (json.Token, int64, error) {
	off := p.start()
	tok, err := p.dec.Token()
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, se.Offset, &jsonSyntaxError{se.Offset, se.Error()}
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, int64(len(p.src)), &jsonSyntaxError{int64(len(p.src)), "unexpected end of JSON input"}
		}
		return nil, off, &jsonSyntaxError{off, err.Error()}
	}
	return tok, off, nil
}

func (p *jparser) value(depth int) (*jnode, error) {
	tok, off, err := p.token()
	if err != nil {
		return nil, err
	}
	return p.valueFrom(tok, off, depth)
}

func (p *jparser) valueFrom(tok json.Token, off int64, depth int) (*jnode, error) {
	if depth > maxJSONDepth {
		return nil, &jsonSyntaxError{off, "JSON nested too deeply"}
	}
	n := &jnode{off: off}
	switch t := tok.(type) {
	case nil:
		n.kind = jnull
	case string:
		n.kind, n.text = jstring, t
	case json.Number:
		n.kind, n.text = jnumber, string(t)
	case bool:
		n.kind, n.boolean = jbool, t
	case json.Delim:
		switch t {
		case '{':
			n.kind = jobject
			for p.dec.More() {
				ktok, koff, err := p.token()
				if err != nil {
					return nil, err
				}
				key, ok := ktok.(string)
				if !ok {
					return nil, &jsonSyntaxError{koff, "object key must be a string"}
				}
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, jmember{key: key, off: koff, val: v})
			}
		case '[':
			n.kind = jarray
			for p.dec.More() {
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, v)
			}
		default:
			return nil, &jsonSyntaxError{off, fmt.Sprintf("unexpected %q", rune(t))}
		}
		if _, _, err := p.token(); err != nil { // the closing delimiter
			return nil, err
		}
	}
	return n, nil
}

// lineCol converts a byte offset to 1-based line and column (in bytes).
func lineCol(src []byte, off int64) (int, int) {
	if off > int64(len(src)) {
		off = int64(len(src))
	}
	if off < 0 {
		off = 0
	}
	before := src[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// Conversions. snet-daemon reads values through viper/cast, which accept a
// number where a string is expected and a string where a number or boolean
// is; these do the same, and refuse what cast would turn into a silent zero.

func (n *jnode) asString() (string, error) {
	switch n.kind {
	case jstring, jnumber:
		return n.text, nil
	case jbool:
		return strconv.FormatBool(n.boolean), nil
	}
	return "", fmt.Errorf("want a string, got %s", n.kind)
}

func (n *jnode) asInt() (int, error) {
	s, err := n.asScalarText()
	if err != nil {
		return 0, fmt.Errorf("want an integer: %w", err)
	}
	s = strings.TrimSpace(s)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		if int64(int(i)) != i {
			return 0, fmt.Errorf("integer %s is out of range", s)
		}
		return int(i), nil
	}
	// 4.0 and 1e3 are integers too.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) || f > 1<<53 || f < -(1<<53) {
		return 0, fmt.Errorf("want an integer, got %q", s)
	}
	return int(f), nil
}

func (n *jnode) asFloat() (float64, error) {
	s, err := n.asScalarText()
	if err != nil {
		return 0, fmt.Errorf("want a number: %w", err)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("want a number, got %q", s)
	}
	return f, nil
}

func (n *jnode) asBool() (bool, error) {
	switch n.kind {
	case jbool:
		return n.boolean, nil
	case jstring:
		b, err := strconv.ParseBool(strings.TrimSpace(n.text))
		if err != nil {
			return false, fmt.Errorf("want true or false, got %q", n.text)
		}
		return b, nil
	case jnumber:
		switch n.text {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return false, fmt.Errorf("want true or false, got %s", n.text)
	}
	return false, fmt.Errorf("want true or false, got %s", n.kind)
}

// asStrings accepts a list, or one string holding items separated by
// commas or spaces (snetd accepts a single string for lists).
func (n *jnode) asStrings() ([]string, error) {
	switch n.kind {
	case jarray:
		out := make([]string, 0, len(n.elems))
		for i, e := range n.elems {
			s, err := e.asString()
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, s)
		}
		return out, nil
	case jstring:
		return strings.FieldsFunc(n.text, func(r rune) bool {
			return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
		}), nil
	}
	return nil, fmt.Errorf("want a list of strings, got %s", n.kind)
}

func (n *jnode) asScalarText() (string, error) {
	switch n.kind {
	case jstring, jnumber:
		return n.text, nil
	}
	return "", fmt.Errorf("got %s", n.kind)
}

// asJSON re-encodes the node (for values kept as arbitrary JSON).
func (n *jnode) asAny() any {
	switch n.kind {
	case jstring:
		return n.text
	case jnumber:
		return json.Number(n.text)
	case jbool:
		return n.boolean
	case jobject:
		m := make(map[string]any, len(n.members))
		for _, mb := range n.members {
			m[mb.key] = mb.val.asAny()
		}
		return m
	case jarray:
		a := make([]any, len(n.elems))
		for i, e := range n.elems {
			a[i] = e.asAny()
		}
		return a
	}
	return nil
}
