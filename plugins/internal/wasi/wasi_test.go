package wasi

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	wazerowasi "github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// TestSignaturesMatchWASI checks every function against wazero's own WASI
// preview 1 module, and that each preview 1 function is either provided or
// refused on purpose.
func TestSignaturesMatchWASI(t *testing.T) {
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	wazerowasi.MustInstantiate(ctx, r)
	defs := r.Module(ModuleName).ExportedFunctionDefinitions()

	for name, def := range defs {
		params, results, reason, ok := Signature(name)
		if !ok {
			require.NotEmpty(t, reason, "%s is neither provided nor refused with a reason", name)
			continue
		}
		require.Equal(t, def.ParamTypes(), params, name)
		require.Equal(t, def.ResultTypes(), results, name)
	}
	for _, name := range Names() {
		require.Contains(t, defs, name, "%s is not a WASI preview 1 function", name)
	}
	for name := range refused {
		require.Contains(t, defs, name)
		require.NotContains(t, functions, name)
	}
}

// TestGoRuntimeImports: the functions Go's wasip1 port imports (go1.26
// src/syscall, src/runtime) except those that open files are provided.
func TestGoRuntimeImports(t *testing.T) {
	for _, name := range []string{
		"args_get", "args_sizes_get", "clock_time_get", "environ_get", "environ_sizes_get",
		"fd_close", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_fdstat_set_rights", "fd_filestat_get",
		"fd_filestat_set_size", "fd_pread", "fd_prestat_dir_name", "fd_prestat_get", "fd_pwrite",
		"fd_read", "fd_readdir", "fd_seek", "fd_sync", "fd_write", "path_filestat_get", "poll_oneoff",
		"proc_exit", "random_get", "sched_yield", "sock_accept", "sock_shutdown",
	} {
		_, _, _, ok := Signature(name)
		require.True(t, ok, name)
	}
}

func TestStream(t *testing.T) {
	var a, b Stream
	a.Reset()
	b.Reset()
	x, y := make([]byte, 13), make([]byte, 13)
	a.Read(x)
	b.Read(y[:5])
	b.Read(y[5:8])
	require.NotEqual(t, make([]byte, 13), x)
	b.Read(y[8:])
	require.Equal(t, x, y)
	a.Reset()
	z := make([]byte, 13)
	a.Read(z)
	require.Equal(t, x, z)
}
