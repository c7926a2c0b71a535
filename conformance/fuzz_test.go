package conformance_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/conformance"
	"github.com/tariffd/tariff/plugins/plugintest"
)

// FuzzCheck: a module is untrusted bytes. Whatever they are, Check returns
// a complete report and no error; a module that is not even readable runs
// nothing.
func FuzzCheck(f *testing.F) {
	for _, name := range []string{"good", "bad_exports", "bad_imports", "bad_threads"} {
		b, err := plugintest.Fixture(name)
		if err != nil {
			f.Skip(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x01\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		r, err := conformance.Check(ctx, wasm, conformance.Options{})
		require.NoError(t, err)
		require.Len(t, r.Checks, 17)
		if c := r.Check("static.valid"); c.Status == conformance.Fail {
			require.False(t, r.Passed)
		}
		for _, c := range r.Checks {
			require.NotEmpty(t, c.Reason, c.Name)
			if c.Status == conformance.Fail {
				require.False(t, r.Passed)
			}
		}
	})
}
