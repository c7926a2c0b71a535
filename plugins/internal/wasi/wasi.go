// Package wasi is the restricted, deterministic wasi_snapshot_preview1 host
// module given to plugins built with standard Go, TinyGo or wasi-libc.
//
// There are no files, sockets, arguments or environment variables; clocks
// return constants and random_get a fixed stream, so a plugin's answers do not
// depend on when or where it runs. Output to stdout and stderr goes to the
// Env of the calling instance; proc_exit traps. The functions a language
// runtime links without the program asking for I/O (descriptor queries,
// preopen discovery, stat through reflection-retained os.File methods) are
// present and fail with an errno. The ones that only a program opening files
// or sockets links are absent, so such a module is refused before it runs.
package wasi

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ModuleName is the import module name of WASI preview 1.
const ModuleName = "wasi_snapshot_preview1"

// Clock values. The monotonic clock must not be zero: Go's runtime treats a
// zero nanotime as "not initialized".
const (
	RealtimeNanos  uint64 = 1_700_000_000_000_000_000 // 2023-11-14T22:13:20Z
	MonotonicNanos uint64 = 1_000_000_000
)

// WASI errno values used here.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoFault   = 21
	errnoInval   = 28
	errnoNosys   = 52
)

// Env is what the functions need from the calling instance.
type Env interface {
	// Stdio receives the bytes written to fd 1 (stdout) or 2 (stderr).
	Stdio(ctx context.Context, fd uint32, p []byte)
	// Random fills p with the next bytes of the instance's fixed stream.
	Random(p []byte)
	// Exit records proc_exit; the function then traps with ExitError.
	Exit(code uint32)
}

// ExitError is the panic value of proc_exit: the call traps with it.
type ExitError struct{ Code uint32 }

func (e *ExitError) Error() string { return fmt.Sprintf("proc_exit(%d)", e.Code) }

// ErrNoEnv is the trap of a function called outside a host call (a bug).
var ErrNoEnv = errors.New("wasi: no environment in context")

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

type function struct {
	params  []api.ValueType
	results []api.ValueType
	fn      func(ctx context.Context, env Env, mod api.Module, stack []uint64) uint32
	fd      bool // first parameter is a descriptor: a stub answers EBADF for fd > 2
}

func p(ts ...api.ValueType) []api.ValueType { return ts }

var errnoResult = p(i32)

// functions is the allowed subset: a nil fn is a stub that fails with an errno.
var functions = map[string]function{
	"args_get":              {params: p(i32, i32), fn: none},
	"args_sizes_get":        {params: p(i32, i32), fn: zeroSizes},
	"environ_get":           {params: p(i32, i32), fn: none},
	"environ_sizes_get":     {params: p(i32, i32), fn: zeroSizes},
	"clock_res_get":         {params: p(i32, i32), fn: clockResGet},
	"clock_time_get":        {params: p(i32, i64, i32), fn: clockTimeGet},
	"fd_write":              {params: p(i32, i32, i32, i32), fn: fdWrite},
	"fd_fdstat_get":         {params: p(i32, i32), fn: fdFdstatGet},
	"fd_prestat_get":        {params: p(i32, i32), fn: badf},
	"fd_prestat_dir_name":   {params: p(i32, i32, i32), fn: badf},
	"poll_oneoff":           {params: p(i32, i32, i32, i32), fn: pollOneoff},
	"proc_exit":             {params: p(i32), fn: procExit},
	"random_get":            {params: p(i32, i32), fn: randomGet},
	"sched_yield":           {fn: none},
	"fd_advise":             {params: p(i32, i64, i64, i32), fd: true},
	"fd_allocate":           {params: p(i32, i64, i64), fd: true},
	"fd_close":              {params: p(i32), fd: true},
	"fd_datasync":           {params: p(i32), fd: true},
	"fd_fdstat_set_flags":   {params: p(i32, i32), fd: true},
	"fd_fdstat_set_rights":  {params: p(i32, i64, i64), fd: true},
	"fd_filestat_get":       {params: p(i32, i32), fd: true},
	"fd_filestat_set_size":  {params: p(i32, i64), fd: true},
	"fd_filestat_set_times": {params: p(i32, i64, i64, i32), fd: true},
	"fd_pread":              {params: p(i32, i32, i32, i64, i32), fd: true},
	"fd_pwrite":             {params: p(i32, i32, i32, i64, i32), fd: true},
	"fd_read":               {params: p(i32, i32, i32, i32), fd: true},
	"fd_readdir":            {params: p(i32, i32, i32, i64, i32), fd: true},
	"fd_renumber":           {params: p(i32, i32), fd: true},
	"fd_seek":               {params: p(i32, i64, i32, i32), fd: true},
	"fd_sync":               {params: p(i32), fd: true},
	"fd_tell":               {params: p(i32, i32), fd: true},
	"path_filestat_get":     {params: p(i32, i32, i32, i32, i32), fn: badf},
	"sock_accept":           {params: p(i32, i32, i32), fd: true},
	"sock_shutdown":         {params: p(i32, i32), fd: true},
}

// refused names the preview 1 functions that are not provided, with the
// reason given to the plugin author.
var refused = map[string]string{
	"path_open":               "plugins have no filesystem (in Go, os.Open, os.ReadFile and time.LoadLocation link it; use time.FixedZone or embedded data)",
	"path_create_directory":   "plugins have no filesystem",
	"path_filestat_set_times": "plugins have no filesystem",
	"path_link":               "plugins have no filesystem",
	"path_readlink":           "plugins have no filesystem",
	"path_remove_directory":   "plugins have no filesystem",
	"path_rename":             "plugins have no filesystem",
	"path_symlink":            "plugins have no filesystem",
	"path_unlink_file":        "plugins have no filesystem",
	"sock_recv":               "plugins have no network",
	"sock_send":               "plugins have no network",
	"proc_raise":              "signals are not available to plugins",
}

// Signature returns the parameter and result types of an allowed function.
// For a function outside the subset it returns ok == false and, for
// functions of WASI preview 1 that are refused on purpose, the reason.
func Signature(name string) (params, results []api.ValueType, reason string, ok bool) {
	f, ok := functions[name]
	if !ok {
		return nil, nil, refused[name], false
	}
	if name == "proc_exit" {
		return f.params, nil, "", true
	}
	return f.params, errnoResult, "", true
}

// Names lists the allowed functions, sorted.
func Names() []string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Instantiate registers the module in r. env returns the Env of the calling
// instance from the call's context.
func Instantiate(ctx context.Context, r wazero.Runtime, env func(context.Context) Env) error {
	b := r.NewHostModuleBuilder(ModuleName)
	for _, name := range Names() {
		f := functions[name]
		params, results, _, _ := Signature(name)
		b.NewFunctionBuilder().
			WithGoModuleFunction(wrap(name, f, env), params, results).
			Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func wrap(name string, f function, env func(context.Context) Env) api.GoModuleFunc {
	if name == "proc_exit" {
		return func(ctx context.Context, mod api.Module, stack []uint64) {
			e := env(ctx)
			if e == nil {
				panic(ErrNoEnv)
			}
			procExit(ctx, e, mod, stack)
		}
	}
	fn := f.fn
	if fn == nil {
		fd := f.fd
		fn = func(_ context.Context, _ Env, _ api.Module, stack []uint64) uint32 {
			if fd && uint32(stack[0]) > 2 {
				return errnoBadf
			}
			return errnoNosys
		}
	}
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		e := env(ctx)
		if e == nil {
			panic(ErrNoEnv)
		}
		stack[0] = uint64(fn(ctx, e, mod, stack))
	}
}

func none(context.Context, Env, api.Module, []uint64) uint32 { return errnoSuccess }

func badf(context.Context, Env, api.Module, []uint64) uint32 { return errnoBadf }

// zeroSizes answers args_sizes_get and environ_sizes_get: no entries.
func zeroSizes(_ context.Context, _ Env, mod api.Module, stack []uint64) uint32 {
	mem := mod.Memory()
	if !mem.WriteUint32Le(uint32(stack[0]), 0) || !mem.WriteUint32Le(uint32(stack[1]), 0) {
		return errnoFault
	}
	return errnoSuccess
}

func clockResGet(_ context.Context, _ Env, mod api.Module, stack []uint64) uint32 {
	if uint32(stack[0]) > 3 {
		return errnoInval
	}
	if !mod.Memory().WriteUint64Le(uint32(stack[1]), 1) {
		return errnoFault
	}
	return errnoSuccess
}

func clockTimeGet(_ context.Context, _ Env, mod api.Module, stack []uint64) uint32 {
	var v uint64
	switch uint32(stack[0]) {
	case 0: // realtime
		v = RealtimeNanos
	case 1, 2, 3: // monotonic, process and thread CPU time
		v = MonotonicNanos
	default:
		return errnoInval
	}
	if !mod.Memory().WriteUint64Le(uint32(stack[2]), v) {
		return errnoFault
	}
	return errnoSuccess
}

func fdWrite(ctx context.Context, env Env, mod api.Module, stack []uint64) uint32 {
	fd, iovs, n, resultPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if fd != 1 && fd != 2 {
		return errnoBadf
	}
	mem := mod.Memory()
	if uint64(n)*8 > uint64(mem.Size()) {
		return errnoFault
	}
	vec, ok := mem.Read(iovs, n*8)
	if !ok {
		return errnoFault
	}
	var total uint32
	for i := uint32(0); i < n; i++ {
		ptr := binary.LittleEndian.Uint32(vec[i*8:])
		l := binary.LittleEndian.Uint32(vec[i*8+4:])
		b, ok := mem.Read(ptr, l)
		if !ok {
			return errnoFault
		}
		if len(b) > 0 {
			env.Stdio(ctx, fd, b)
		}
		total += l
	}
	if !mem.WriteUint32Le(resultPtr, total) {
		return errnoFault
	}
	return errnoSuccess
}

// fdFdstatGet describes fds 0-2 as blocking character devices, so runtimes
// write to them directly instead of polling.
func fdFdstatGet(_ context.Context, _ Env, mod api.Module, stack []uint64) uint32 {
	fd, ptr := uint32(stack[0]), uint32(stack[1])
	if fd > 2 {
		return errnoBadf
	}
	var st [24]byte
	st[0] = 2 // filetype character_device
	rights := uint64(1 << 6)
	if fd == 0 {
		rights = 1 << 1
	}
	binary.LittleEndian.PutUint64(st[8:], rights)
	if !mod.Memory().Write(ptr, st[:]) {
		return errnoFault
	}
	return errnoSuccess
}

// pollOneoff returns at once: clock subscriptions fire, fd 1 and 2 are
// writable, every other descriptor is bad.
func pollOneoff(_ context.Context, _ Env, mod api.Module, stack []uint64) uint32 {
	in, out, n, neventsPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if n == 0 {
		return errnoInval
	}
	mem := mod.Memory()
	if uint64(n)*48 > uint64(mem.Size()) {
		return errnoFault
	}
	subs, ok := mem.Read(in, n*48)
	if !ok {
		return errnoFault
	}
	events, ok := mem.Read(out, n*32)
	if !ok {
		return errnoFault
	}
	subsCopy := append([]byte(nil), subs...) // in and out may overlap
	for i := uint32(0); i < n; i++ {
		s := subsCopy[i*48:]
		ev := events[i*32 : i*32+32]
		clear(ev)
		copy(ev[0:8], s[0:8]) // userdata
		tag := s[8]
		ev[10] = tag
		switch tag {
		case 0: // clock
		case 1, 2: // fd_read, fd_write
			fd := binary.LittleEndian.Uint32(s[16:])
			if tag != 2 || (fd != 1 && fd != 2) {
				binary.LittleEndian.PutUint16(ev[8:], errnoBadf)
			}
		default:
			binary.LittleEndian.PutUint16(ev[8:], errnoInval)
		}
	}
	if !mem.WriteUint32Le(neventsPtr, n) {
		return errnoFault
	}
	return errnoSuccess
}

func procExit(_ context.Context, env Env, _ api.Module, stack []uint64) uint32 {
	code := uint32(stack[0])
	env.Exit(code)
	panic(&ExitError{Code: code})
}

func randomGet(_ context.Context, env Env, mod api.Module, stack []uint64) uint32 {
	b, ok := mod.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		return errnoFault
	}
	env.Random(b)
	return errnoSuccess
}

// Stream is the fixed pseudo-random byte stream of random_get (SplitMix64
// from a constant seed). Its bytes are unspecified but the same on every
// host, however the guest splits its reads.
type Stream struct {
	s    uint64
	word [8]byte
	left int // unread bytes at the end of word
}

// Reset restarts the stream from its seed.
func (s *Stream) Reset() { *s = Stream{s: 0x7461726966665f31} } // "tariff_1"

// Read fills p with the next bytes.
func (s *Stream) Read(p []byte) {
	for len(p) > 0 {
		if s.left == 0 {
			s.s += 0x9e3779b97f4a7c15
			z := s.s
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
			z = (z ^ (z >> 27)) * 0x94d049bb133111eb
			z ^= z >> 31
			binary.LittleEndian.PutUint64(s.word[:], z)
			s.left = 8
		}
		n := copy(p, s.word[8-s.left:])
		s.left -= n
		p = p[n:]
	}
}
