package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/tariffd/tariff/plugins/internal/wasi"
)

// Fixed caps that are not configurable.
const (
	maxLogLineBytes = 1024     // a log line is cut here
	maxMetaOutBytes = 64 << 10 // total bytes of keys and values set by meta_set in one call
	maxInfoBytes    = 64 << 10 // tariff_info JSON
)

type phase uint8

const (
	phaseInit phase = iota // instantiate, _initialize, tariff_info, tariff_init
	phaseCall              // an entry point
)

// callState is the per-phase state of an instance, reached by the host
// functions through the call's context. An instance runs one phase at a
// time, so each instance owns one callState and reuses it.
type callState struct {
	p     *Plugin
	inst  *instance
	ctx   context.Context // the caller's context, for logging
	phase phase
	kind  Kind
	entry string // export running, for logs and errors
	in    *Input

	// Outputs.
	price       uint64
	hasPrice    bool
	allow       bool
	remaining   uint64
	hasFreeCall bool
	body        []byte
	hasBody     bool
	meta        map[string][]string
	metaBytes   int
	failCode    int32
	failMsg     string
	hasFail     bool
	logs        int
	logsDropped int
	overflow    bool // body_write or meta_set went over the cap

	// Set by a host function just before it traps.
	reason Reason
	detail string

	keys     []byte // meta_keys answer, built once per call
	keysDone bool
	std      [3][]byte // unterminated lines written to fd 1 and 2
}

func (st *callState) begin(ctx context.Context, ph phase, kind Kind, entry string, in *Input) {
	std := st.std
	*st = callState{p: st.p, inst: st.inst, ctx: ctx, phase: ph, kind: kind, entry: entry, in: in, std: std}
	st.std[1], st.std[2] = st.std[1][:0], st.std[2][:0]
	st.inst.rnd.Reset()
}

// end flushes unterminated output lines.
func (st *callState) end() {
	for fd := uint32(1); fd <= 2; fd++ {
		if len(st.std[fd]) > 0 {
			st.logLine(stdLevel(fd), st.std[fd])
			st.std[fd] = st.std[fd][:0]
		}
	}
}

// release drops the references to the caller's input and to the outputs
// handed over in a Result, so a pooled instance does not keep them alive.
func (st *callState) release() {
	st.ctx, st.in = nil, nil
	st.body, st.meta, st.keys = nil, nil, nil
}

type stateKey struct{}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

// errAbort is the panic value of a host function that ends the call; the
// reason is in callState.
var errAbort = errors.New("call aborted by the host")

func (st *callState) abort(r Reason, format string, args ...any) {
	if st.reason == 0 {
		st.reason = r
		st.detail = fmt.Sprintf(format, args...)
	}
	panic(errAbort)
}

// read returns n bytes of guest memory at ptr, aborting the call when the
// range is outside memory.
func (st *callState) read(mem api.Memory, fn string, ptr, n uint32) []byte {
	b, ok := mem.Read(ptr, n)
	if !ok {
		st.abort(ErrBadPointer, "%s: range [%d, %d+%d) is outside guest memory (%d bytes)", fn, ptr, ptr, n, mem.Size())
	}
	return b
}

// check aborts the call when [ptr, ptr+n) is outside guest memory.
func (st *callState) check(mem api.Memory, fn string, ptr, n uint32) {
	if uint64(ptr)+uint64(n) > uint64(mem.Size()) {
		st.abort(ErrBadPointer, "%s: range [%d, %d+%d) is outside guest memory (%d bytes)", fn, ptr, ptr, n, mem.Size())
	}
}

// answer implements the read-accessor convention: the full length, with the
// value written only if it fits.
func answerString(mem api.Memory, buf, bufLen uint32, v string) int64 {
	if uint64(len(v)) <= uint64(bufLen) && len(v) > 0 {
		mem.WriteString(buf, v)
	}
	return int64(len(v))
}

func answerBytes(mem api.Memory, buf, bufLen uint32, v []byte) int64 {
	if uint64(len(v)) <= uint64(bufLen) && len(v) > 0 {
		mem.Write(buf, v)
	}
	return int64(len(v))
}

func (st *callState) request() bool { return st.phase == phaseCall }

func (st *callState) fieldReadable(f Field) bool {
	return st.request() && fields[f].kinds&(1<<st.kind) != 0
}

func hostState(ctx context.Context) *callState {
	st := stateFrom(ctx)
	if st == nil {
		panic(wasi.ErrNoEnv)
	}
	return st
}

// tariff_v1 functions. Parameters are read as uint32: a negative length is a
// huge one and fails the bounds check.

func hostInput(ctx context.Context, mod api.Module, stack []uint64) {
	st := hostState(ctx)
	f, buf, bufLen := Field(int32(stack[0])), uint32(stack[1]), uint32(stack[2])
	mem := mod.Memory()
	st.check(mem, "input", buf, bufLen)
	switch {
	case !f.known() || fields[f].u64:
		stack[0] = api.EncodeI64(-1)
	case !st.fieldReadable(f):
		stack[0] = api.EncodeI64(-2)
	default:
		v, ok := st.in.String(f)
		if !ok {
			stack[0] = api.EncodeI64(-1)
			return
		}
		stack[0] = api.EncodeI64(answerString(mem, buf, bufLen, v))
	}
}

func hostInputU64(ctx context.Context, _ api.Module, stack []uint64) {
	st := hostState(ctx)
	f := Field(int32(stack[0]))
	switch {
	case !f.known() || !fields[f].u64:
		stack[0] = api.EncodeI64(-1)
	case !st.fieldReadable(f):
		stack[0] = api.EncodeI64(-2)
	default:
		v, ok := st.in.U64(f)
		if !ok {
			stack[0] = api.EncodeI64(-1)
			return
		}
		stack[0] = api.EncodeI64(readableU64(v))
	}
}

func hostMeta(ctx context.Context, mod api.Module, stack []uint64) {
	st := hostState(ctx)
	namePtr, nameLen, index := uint32(stack[0]), uint32(stack[1]), int32(stack[2])
	buf, bufLen := uint32(stack[3]), uint32(stack[4])
	mem := mod.Memory()
	name := st.read(mem, "meta", namePtr, nameLen)
	st.check(mem, "meta", buf, bufLen)
	if !st.request() {
		stack[0] = api.EncodeI64(-2)
		return
	}
	var vals []string
	if hasUpper(name) {
		vals = st.in.Meta[strings.ToLower(string(name))]
	} else {
		vals = st.in.Meta[string(name)]
	}
	if index < 0 || int(index) >= len(vals) {
		stack[0] = api.EncodeI64(-1)
		return
	}
	stack[0] = api.EncodeI64(answerString(mem, buf, bufLen, vals[index]))
}

func hasUpper(b []byte) bool {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

func hostMetaKeys(ctx context.Context, mod api.Module, stack []uint64) {
	st := hostState(ctx)
	buf, bufLen := uint32(stack[0]), uint32(stack[1])
	mem := mod.Memory()
	st.check(mem, "meta_keys", buf, bufLen)
	if !st.request() {
		stack[0] = api.EncodeI64(-2)
		return
	}
	if !st.keysDone {
		keys := make([]string, 0, len(st.in.Meta))
		for k := range st.in.Meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		st.keys = []byte(strings.Join(keys, "\x00"))
		st.keysDone = true
	}
	stack[0] = api.EncodeI64(answerBytes(mem, buf, bufLen, st.keys))
}

func hostBody(ctx context.Context, mod api.Module, stack []uint64) {
	st := hostState(ctx)
	offset, buf, bufLen := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	mem := mod.Memory()
	st.check(mem, "body", buf, bufLen)
	if !st.request() || !(st.kind == KindTransform || st.p.info.NeedsBody) {
		stack[0] = api.EncodeI64(-2)
		return
	}
	body := st.in.Body
	if uint64(offset) >= uint64(len(body)) {
		stack[0] = 0
		return
	}
	rest := body[offset:]
	n := min(uint64(len(rest)), uint64(bufLen))
	if n > 0 {
		mem.Write(buf, rest[:n])
	}
	stack[0] = api.EncodeI64(int64(len(rest)))
}

func hostConfig(ctx context.Context, mod api.Module, stack []uint64) {
	st := hostState(ctx)
	buf, bufLen := uint32(stack[0]), uint32(stack[1])
	mem := mod.Memory()
	st.check(mem, "config", buf, bufLen)
	if st.p.config == nil {
		stack[0] = api.EncodeI64(-1)
		return
	}
	stack[0] = api.EncodeI64(answerBytes(mem, buf, bufLen, st.p.config))
}

func hostSetPrice(ctx context.Context, _ api.Module, stack []uint64) {
	st := hostState(ctx)
	if st.request() && st.kind == KindPricing {
		st.price, st.hasPrice = stack[0], true
	}
}

func hostSetFreeCall(ctx context.Context, _ api.Module, stack []uint64) {
	st := hostState(ctx)
	if st.request() && st.kind == KindFreeCall {
		st.allow = uint32(stack[0]) != 0
		rem := int64(stack[1])
		st.remaining = uint64(max(rem, 0))
		st.hasFreeCall = true
	}
}

func hostBodyWrite(ctx context.Context, mod api.Module, stack []uint64) {
	st := hostState(ctx)
	ptr, n := uint32(stack[0]), uint32(stack[1])
	b := st.read(mod.Memory(), "body_write", ptr, n)
	if !st.request() || st.kind != KindTransform {
		stack[0] = api.EncodeI32(-2)
		return
	}
	if st.overflow || len(st.body)+len(b) > st.p.limits.BodyBytes {
		st.overflow = true
		st.detail = fmt.Sprintf("body_write: new body over the limit of %d bytes", st.p.limits.BodyBytes)
		stack[0] = api.EncodeI32(-1)
		return
	}
	st.body = append(st.body, b...)
	st.hasBody = true
	stack[0] = 0
}

func hostMetaSet(ctx context.Context, mod api.Module, stack []uint64) {
	st := hostState(ctx)
	mem := mod.Memory()
	name := st.read(mem, "meta_set", uint32(stack[0]), uint32(stack[1]))
	val := st.read(mem, "meta_set", uint32(stack[2]), uint32(stack[3]))
	if !st.request() || st.kind != KindTransform {
		stack[0] = api.EncodeI32(-2)
		return
	}
	if !settableKey(name) {
		stack[0] = api.EncodeI32(-1)
		return
	}
	if st.overflow || st.metaBytes+len(name)+len(val) > maxMetaOutBytes {
		st.overflow = true
		st.detail = fmt.Sprintf("meta_set: metadata set over the limit of %d bytes", maxMetaOutBytes)
		stack[0] = api.EncodeI32(-1)
		return
	}
	if st.meta == nil {
		st.meta = make(map[string][]string)
	}
	st.metaBytes += len(name) + len(val)
	k := string(name)
	st.meta[k] = append(st.meta[k], string(val))
	stack[0] = 0
}

// settableKey reports whether meta_set may set key: a valid lowercase gRPC
// header name, not reserved for the protocol (":", "grpc-") or for the
// payment headers ("snet-").
func settableKey(key []byte) bool {
	if len(key) == 0 || bytes.HasPrefix(key, []byte("snet-")) || bytes.HasPrefix(key, []byte("grpc-")) {
		return false
	}
	for _, c := range key {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false // also refuses ':' and uppercase
		}
	}
	return true
}

func hostFail(ctx context.Context, mod api.Module, stack []uint64) {
	st := hostState(ctx)
	code := int32(stack[0])
	msg := st.read(mod.Memory(), "fail", uint32(stack[1]), uint32(stack[2]))
	st.failCode = code
	st.failMsg = cutText(msg, MaxMessageBytes)
	st.hasFail = true
}

func hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	st := hostState(ctx)
	level := int32(stack[0])
	msg := st.read(mod.Memory(), "log", uint32(stack[1]), uint32(stack[2]))
	var l slog.Level
	switch {
	case level <= 0:
		l = slog.LevelDebug
	case level == 1:
		l = slog.LevelInfo
	case level == 2:
		l = slog.LevelWarn
	default:
		l = slog.LevelError
	}
	st.logLine(l, msg)
}

// cutText returns b as valid UTF-8 of at most max bytes; a character cut
// in half at the end is dropped.
func cutText(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// logLine emits one line under the per-call cap and the plugin's rate limit.
func (st *callState) logLine(level slog.Level, msg []byte) {
	p := st.p
	if st.logs >= p.limits.LogLines || !p.logLimit.Allow() {
		st.logsDropped++
		p.stats.logsDropped.Add(1)
		return
	}
	st.logs++
	p.stats.logLines.Add(1)
	ctx := st.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	p.logger.Log(ctx, level, cutText(msg, maxLogLineBytes), slog.String("entry", st.entry))
}

// wasi.Env, for the WASI functions.

func (st *callState) Stdio(_ context.Context, fd uint32, b []byte) {
	level := stdLevel(fd)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			st.std[fd] = append(st.std[fd], b...)
			if len(st.std[fd]) >= maxLogLineBytes {
				st.logLine(level, st.std[fd])
				st.std[fd] = st.std[fd][:0]
			}
			return
		}
		line := b[:i]
		if len(st.std[fd]) > 0 {
			st.std[fd] = append(st.std[fd], line...)
			line = st.std[fd]
		}
		if len(line) > 0 {
			st.logLine(level, line)
		}
		st.std[fd] = st.std[fd][:0]
		b = b[i+1:]
	}
}

func stdLevel(fd uint32) slog.Level {
	if fd == 2 {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

func (st *callState) Random(b []byte) { st.inst.rnd.Read(b) }

func (st *callState) Exit(code uint32) {
	if st.reason == 0 {
		st.reason = ErrExit
		st.detail = fmt.Sprintf("proc_exit(%d)", code)
	}
}

func wasiEnv(ctx context.Context) wasi.Env {
	if st := stateFrom(ctx); st != nil {
		return st
	}
	return nil
}

// instantiateHostModules registers tariff_v1 and the WASI subset in r.
func instantiateHostModules(ctx context.Context, r wazero.Runtime) error {
	impls := map[string]api.GoModuleFunc{
		"input":         hostInput,
		"input_u64":     hostInputU64,
		"meta":          hostMeta,
		"meta_keys":     hostMetaKeys,
		"body":          hostBody,
		"config":        hostConfig,
		"set_price":     hostSetPrice,
		"set_free_call": hostSetFreeCall,
		"body_write":    hostBodyWrite,
		"meta_set":      hostMetaSet,
		"fail":          hostFail,
		"log":           hostLog,
	}
	b := r.NewHostModuleBuilder(HostModule)
	for name, sig := range hostFuncs {
		b.NewFunctionBuilder().WithGoModuleFunction(impls[name], sig.params, sig.results).Export(name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return err
	}
	return wasi.Instantiate(ctx, r, wasiEnv)
}
