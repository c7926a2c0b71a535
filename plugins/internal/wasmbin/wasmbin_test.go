package wasmbin

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// module: (type (func (param i32 i64) (result i32))) (type (func))
// (import "m" "f" (func (type 0))) (func (type 1)) (memory 1 2)
// (export "g" (func 1)) (export "memory" (memory 0)) (start 1)
var module = []byte{
	0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00,
	0x01, 0x0a, 0x02, 0x60, 0x02, 0x7f, 0x7e, 0x01, 0x7f, 0x60, 0x00, 0x00, // types
	0x02, 0x07, 0x01, 0x01, 'm', 0x01, 'f', 0x00, 0x00, // imports
	0x03, 0x02, 0x01, 0x01, // functions
	0x05, 0x04, 0x01, 0x01, 0x01, 0x02, // memory
	0x07, 0x0e, 0x02, 0x01, 'g', 0x00, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, // exports
	0x08, 0x01, 0x01, // start
	0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code
}

func TestParse(t *testing.T) {
	m, err := Parse(module)
	require.NoError(t, err)
	require.Equal(t, []Import{{Module: "m", Name: "f", Kind: KindFunc,
		Type: FuncType{Params: []ValType{I32, I64}, Results: []ValType{I32}}}}, m.Imports)
	require.Equal(t, "(i32, i64) -> i32", m.Imports[0].Type.String())
	g, ok := m.Export("g")
	require.True(t, ok)
	require.Equal(t, KindFunc, g.Kind)
	require.Equal(t, "() -> ()", g.Type.String())
	mem, ok := m.Export("memory")
	require.True(t, ok)
	require.Equal(t, Memory{Min: 1, Max: 2, HasMax: true}, mem.Memory)
	require.True(t, m.HasStart)
	_, ok = m.Export("nope")
	require.False(t, ok)
}

func TestParseErrors(t *testing.T) {
	_, err := Parse([]byte("hello"))
	require.ErrorIs(t, err, ErrNotWasm)
	_, err = Parse([]byte{0, 'a', 's', 'm', 2, 0, 0, 0})
	require.ErrorContains(t, err, "version")
	ends := map[int]bool{} // a module cut between sections is valid
	for off := 8; off < len(module); {
		off += 2 + int(module[off+1]) // id, one-byte size, contents
		ends[off] = true
	}
	for i := 9; i < len(module); i++ {
		_, err := Parse(module[:i])
		if ends[i] {
			require.NoError(t, err, "cut at %d", i)
		} else {
			require.Error(t, err, "cut at %d", i)
		}
	}
	bad := append([]byte(nil), module...)
	i := bytes.Index(bad, []byte{'g', 0x00, 0x01})
	bad[i+2] = 0x07 // export of function 7
	_, err = Parse(bad)
	require.ErrorContains(t, err, `export "g": function index 7 out of range`)
	huge := append(append([]byte(nil), module[:8]...), 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f) // 2^32-1 types
	_, err = Parse(huge)
	require.ErrorContains(t, err, "longer than the section")
}

func FuzzParse(f *testing.F) {
	f.Add(module)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b) // must not panic
	})
}
