// Package wasmbin reads the parts of a WebAssembly binary that a host checks
// before compiling it: function types, imports, memories, exports and the
// start section. It does not validate code; wazero does that when compiling.
package wasmbin

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ValType is a WebAssembly value type byte (0x7f i32, 0x7e i64, ...).
type ValType byte

// Value types.
const (
	I32       ValType = 0x7f
	I64       ValType = 0x7e
	F32       ValType = 0x7d
	F64       ValType = 0x7c
	V128      ValType = 0x7b
	FuncRef   ValType = 0x70
	ExternRef ValType = 0x6f
)

func (t ValType) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	case V128:
		return "v128"
	case FuncRef:
		return "funcref"
	case ExternRef:
		return "externref"
	}
	return fmt.Sprintf("type(0x%02x)", byte(t))
}

// FuncType is a function signature.
type FuncType struct {
	Params, Results []ValType
}

// Equal reports whether two signatures are identical.
func (f FuncType) Equal(o FuncType) bool {
	if len(f.Params) != len(o.Params) || len(f.Results) != len(o.Results) {
		return false
	}
	for i := range f.Params {
		if f.Params[i] != o.Params[i] {
			return false
		}
	}
	for i := range f.Results {
		if f.Results[i] != o.Results[i] {
			return false
		}
	}
	return true
}

// String formats the signature as "(i32, i32) -> i64".
func (f FuncType) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, p := range f.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.String())
	}
	b.WriteString(") -> ")
	switch len(f.Results) {
	case 0:
		b.WriteString("()")
	case 1:
		b.WriteString(f.Results[0].String())
	default:
		b.WriteByte('(')
		for i, r := range f.Results {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(r.String())
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Kind of an import or export.
type Kind byte

// External kinds.
const (
	KindFunc   Kind = 0
	KindTable  Kind = 1
	KindMemory Kind = 2
	KindGlobal Kind = 3
	KindTag    Kind = 4
)

func (k Kind) String() string {
	switch k {
	case KindFunc:
		return "function"
	case KindTable:
		return "table"
	case KindMemory:
		return "memory"
	case KindGlobal:
		return "global"
	case KindTag:
		return "tag"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Memory describes a memory's limits in 64 KiB pages.
type Memory struct {
	Min    uint64
	Max    uint64
	HasMax bool
	Shared bool
	Is64   bool
}

// Import is one import entry.
type Import struct {
	Module, Name string
	Kind         Kind
	Type         FuncType // KindFunc only
	Memory       Memory   // KindMemory only
}

// Export is one export entry; Type is set for functions, Memory for memories.
type Export struct {
	Name   string
	Kind   Kind
	Index  uint32
	Type   FuncType // KindFunc only
	Memory Memory   // KindMemory only
}

// Module is what Parse returns.
type Module struct {
	Imports  []Import
	Exports  []Export
	Memories []Memory // imported memories first, then defined ones
	// ImportedMemories is how many of Memories are imported.
	ImportedMemories int
	HasStart         bool
}

// Export returns the export with the given name.
func (m *Module) Export(name string) (Export, bool) {
	for _, e := range m.Exports {
		if e.Name == name {
			return e, true
		}
	}
	return Export{}, false
}

// ErrNotWasm is returned when the input does not start with the WebAssembly
// binary header.
var ErrNotWasm = errors.New("not a WebAssembly binary (bad magic number or version)")

// Parse reads the module's header and the sections listed in the package
// comment, skipping all others.
func Parse(b []byte) (*Module, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, ErrNotWasm
	}
	if b[4] != 1 || b[5] != 0 || b[6] != 0 || b[7] != 0 {
		return nil, fmt.Errorf("%w: version %x (only version 1, the core module format, is supported)", ErrNotWasm, b[4:8])
	}
	r := &reader{b: b, off: 8}
	m := &Module{}
	var (
		types     []FuncType
		funcTypes []uint32 // type index of every function, imported first
	)
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		if uint64(size) > uint64(len(r.b)-r.off) {
			return nil, fmt.Errorf("section %d: size %d runs past the end of the module", id, size)
		}
		sec := &reader{b: r.b[:r.off+int(size)], off: r.off}
		r.off += int(size)
		switch id {
		case 1:
			types, err = parseTypes(sec)
		case 2:
			err = parseImports(sec, m, types, &funcTypes)
		case 3:
			err = parseFunctions(sec, &funcTypes, len(types))
		case 5:
			err = parseMemories(sec, m)
		case 7:
			err = parseExports(sec, m)
		case 8:
			m.HasStart = true
		}
		if err != nil {
			return nil, fmt.Errorf("%s section: %w", sectionName(id), err)
		}
	}
	for i := range m.Exports {
		e := &m.Exports[i]
		switch e.Kind {
		case KindFunc:
			if int(e.Index) >= len(funcTypes) {
				return nil, fmt.Errorf("export %q: function index %d out of range", e.Name, e.Index)
			}
			ti := funcTypes[e.Index]
			if int(ti) >= len(types) {
				return nil, fmt.Errorf("export %q: type index %d out of range", e.Name, ti)
			}
			e.Type = types[ti]
		case KindMemory:
			if int(e.Index) >= len(m.Memories) {
				return nil, fmt.Errorf("export %q: memory index %d out of range", e.Name, e.Index)
			}
			e.Memory = m.Memories[e.Index]
		}
	}
	return m, nil
}

func sectionName(id byte) string {
	switch id {
	case 1:
		return "type"
	case 2:
		return "import"
	case 3:
		return "function"
	case 5:
		return "memory"
	case 7:
		return "export"
	}
	return fmt.Sprintf("section %d", id)
}

func parseTypes(r *reader) ([]FuncType, error) {
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	types := make([]FuncType, 0, n)
	for i := uint32(0); i < n; i++ {
		form, err := r.byte()
		if err != nil {
			return nil, err
		}
		if form != 0x60 {
			return nil, fmt.Errorf("type %d: unsupported type form 0x%02x (only function types are supported)", i, form)
		}
		var ft FuncType
		if ft.Params, err = r.valTypes(); err != nil {
			return nil, fmt.Errorf("type %d: %w", i, err)
		}
		if ft.Results, err = r.valTypes(); err != nil {
			return nil, fmt.Errorf("type %d: %w", i, err)
		}
		types = append(types, ft)
	}
	return types, r.end()
}

func parseImports(r *reader, m *Module, types []FuncType, funcTypes *[]uint32) error {
	n, err := r.count()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		var im Import
		if im.Module, err = r.name(); err != nil {
			return fmt.Errorf("import %d: %w", i, err)
		}
		if im.Name, err = r.name(); err != nil {
			return fmt.Errorf("import %d: %w", i, err)
		}
		k, err := r.byte()
		if err != nil {
			return err
		}
		im.Kind = Kind(k)
		switch im.Kind {
		case KindFunc:
			ti, err := r.u32()
			if err != nil {
				return err
			}
			if int(ti) >= len(types) {
				return fmt.Errorf("import %s.%s: type index %d out of range", im.Module, im.Name, ti)
			}
			im.Type = types[ti]
			*funcTypes = append(*funcTypes, ti)
		case KindTable:
			if _, err := r.byte(); err != nil { // element type
				return err
			}
			if _, err := r.limits(); err != nil {
				return err
			}
		case KindMemory:
			if im.Memory, err = r.limits(); err != nil {
				return err
			}
			m.Memories = append(m.Memories, im.Memory)
			m.ImportedMemories++
		case KindGlobal:
			if _, err := r.byte(); err != nil { // value type
				return err
			}
			if _, err := r.byte(); err != nil { // mutability
				return err
			}
		case KindTag:
			if _, err := r.byte(); err != nil { // attribute
				return err
			}
			if _, err := r.u32(); err != nil { // type index
				return err
			}
		default:
			return fmt.Errorf("import %s.%s: unknown kind 0x%02x", im.Module, im.Name, k)
		}
		m.Imports = append(m.Imports, im)
	}
	return r.end()
}

func parseFunctions(r *reader, funcTypes *[]uint32, nTypes int) error {
	n, err := r.count()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		ti, err := r.u32()
		if err != nil {
			return err
		}
		if int(ti) >= nTypes {
			return fmt.Errorf("function %d: type index %d out of range", i, ti)
		}
		*funcTypes = append(*funcTypes, ti)
	}
	return r.end()
}

func parseMemories(r *reader, m *Module) error {
	n, err := r.count()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		mem, err := r.limits()
		if err != nil {
			return fmt.Errorf("memory %d: %w", i, err)
		}
		m.Memories = append(m.Memories, mem)
	}
	return r.end()
}

func parseExports(r *reader, m *Module) error {
	n, err := r.count()
	if err != nil {
		return err
	}
	seen := make(map[string]bool, n)
	for i := uint32(0); i < n; i++ {
		var e Export
		if e.Name, err = r.name(); err != nil {
			return fmt.Errorf("export %d: %w", i, err)
		}
		if seen[e.Name] {
			return fmt.Errorf("export %q appears twice", e.Name)
		}
		seen[e.Name] = true
		k, err := r.byte()
		if err != nil {
			return err
		}
		e.Kind = Kind(k)
		if e.Kind > KindTag {
			return fmt.Errorf("export %q: unknown kind 0x%02x", e.Name, k)
		}
		if e.Index, err = r.u32(); err != nil {
			return err
		}
		m.Exports = append(m.Exports, e)
	}
	return r.end()
}

type reader struct {
	b   []byte
	off int
}

var errEOF = errors.New("unexpected end of section")

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errEOF
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) u64() (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 70 {
			return 0, errors.New("LEB128 integer too long")
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.u64()
	if err != nil {
		return 0, err
	}
	if v > 0xffffffff {
		return 0, errors.New("integer does not fit in 32 bits")
	}
	return uint32(v), nil
}

// count reads a vector length and checks it against the bytes left, so a
// hostile length cannot make us allocate much.
func (r *reader) count() (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if int64(n) > int64(len(r.b)-r.off) {
		return 0, fmt.Errorf("vector of %d entries is longer than the section", n)
	}
	return n, nil
}

func (r *reader) name() (string, error) {
	n, err := r.count()
	if err != nil {
		return "", err
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	if !utf8.Valid(s) {
		return "", fmt.Errorf("name %q is not valid UTF-8", s)
	}
	return string(s), nil
}

func (r *reader) valTypes() ([]ValType, error) {
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	ts := make([]ValType, n)
	for i := range ts {
		c, err := r.byte()
		if err != nil {
			return nil, err
		}
		ts[i] = ValType(c)
	}
	return ts, nil
}

func (r *reader) limits() (Memory, error) {
	flags, err := r.byte()
	if err != nil {
		return Memory{}, err
	}
	if flags > 7 {
		return Memory{}, fmt.Errorf("unknown limits flags 0x%02x", flags)
	}
	m := Memory{HasMax: flags&1 != 0, Shared: flags&2 != 0, Is64: flags&4 != 0}
	if m.Min, err = r.u64(); err != nil {
		return Memory{}, err
	}
	if m.HasMax {
		if m.Max, err = r.u64(); err != nil {
			return Memory{}, err
		}
	}
	return m, nil
}

func (r *reader) end() error {
	if r.off != len(r.b) {
		return fmt.Errorf("%d unread bytes at the end of the section", len(r.b)-r.off)
	}
	return nil
}
