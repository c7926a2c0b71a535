// Package tarifftest runs plugin code natively, in `go test`, against a fake
// of tariffd's plugin host.
//
// A plugin keeps its logic in functions that build everywhere (the entry
// point bodies, e.g. func price() int32) and exports them in a main.go built
// only for wasip1. Its tests create a Fake with the plugin's tariff_info
// document, set the request, call the entry function and check the result:
//
//	func TestPrice(t *testing.T) {
//		f := tarifftest.New(t, info)
//		f.Method = "/example_service.Calculator/add"
//		f.Meta = map[string][]string{"x-priority": {"high"}}
//		res := f.Call(tarifftest.Pricing, price)
//		if res.Status != tariff.OK || res.Price != 30 {
//			t.Fatalf("got %+v", res)
//		}
//	}
//
// The fake answers like the real host: fields a kind may not read are not
// available, the body is readable by transform plugins and by plugins whose
// info says "needs_body", outputs of the wrong kind are ignored, and the
// checks the host makes after a call (status range, missing set_price or
// set_free_call, output caps) show up in Result.Err. A panic in the plugin
// is an ERROR too, as a trap is in Wasm.
//
// The fake is installed process-wide while it lives, so tests that use it
// must not run in parallel with each other (no t.Parallel); New fails the
// test if another Fake is active.
package tarifftest

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/tariffd/tariff/sdk/go/tariff"
	"github.com/tariffd/tariff/sdk/go/tariff/internal/hostcall"
)

// Kind is a kind of plugin, named as in tariff_info.
type Kind int

// Kinds of plugins.
const (
	Pricing   Kind = iota + 1 // entry point tariff_price
	FreeCall                  // entry point tariff_free_call
	Transform                 // entry point tariff_transform
)

var kindNames = [...]string{Pricing: "pricing", FreeCall: "free_call", Transform: "transform"}

func (k Kind) String() string {
	if k >= Pricing && k <= Transform {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// The host's defaults and fixed caps.
const (
	DefaultBodyLimit = 4 << 20  // body_write output, per call
	DefaultLogLines  = 20       // log lines kept per call
	MetaOutputLimit  = 64 << 10 // bytes of keys and values set by meta_set, per call
	MaxMessageBytes  = 1024     // a Deny message is cut here
	MaxLogLineBytes  = 1024     // a log line is cut here
)

// Defaults of New for the request fields.
const (
	DefaultMethod            = "/example_service.Calculator/add"
	DefaultServiceID         = "example-service"
	DefaultOrgID             = "example-org"
	DefaultGroupID           = "m5FKWq4hW0foGW5qSbzGSjgZRuKs7A1ZwbIrJ9e96rc="
	DefaultCaller            = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	DefaultPaymentType       = "escrow"
	DefaultChannelID         = 1
	DefaultRequestTimeUnixMs = 1_700_000_000_000 // 2023-11-14T22:13:20Z
)

// Fake is a plugin host for native tests. Set the exported fields, then run
// an entry function with Call (or tariff_init's with Init). Fields may be
// changed between calls; each call reads them afresh.
type Fake struct {
	// The request (ABI v1 §4). New sets defaults for a paid call (see the
	// Default constants); FreeCallUserID, FreeCallsUsed and
	// FreeCallsAllowed start at zero.
	Method, ServiceID, OrgID, GroupID, Caller, PaymentType, FreeCallUserID string
	ChannelID, FreeCallsUsed, FreeCallsAllowed, RequestTimeUnixMs          uint64
	// Absent lists fields the host reports as absent. CHANNEL_ID is also
	// absent when PaymentType is "free-call", as in tariffd; BODY_LEN is
	// always present.
	Absent []tariff.Field
	// Meta is the request metadata. Keys are lowercased, as gRPC does.
	Meta map[string][]string
	// Body is the request message (BODY_LEN is its length).
	Body []byte
	// Config is the plugin's config block as JSON; nil: no config block.
	Config []byte

	// BodyLimit caps the body a transform writes (default DefaultBodyLimit).
	BodyLimit int
	// LogLines caps the log lines kept per call (default DefaultLogLines).
	LogLines int

	tb        testing.TB
	info      Info
	call      *callState
	closeOnce sync.Once
}

// Info is a parsed tariff_info document.
type Info struct {
	Name      string
	Version   string
	ABIMinor  int
	Kinds     []Kind
	NeedsBody bool
}

// Declares reports whether the info declares kind k.
func (i Info) Declares(k Kind) bool {
	for _, d := range i.Kinds {
		if d == k {
			return true
		}
	}
	return false
}

var (
	activeMu sync.Mutex
	active   *Fake
)

// New returns a fake host for the plugin whose tariff_info document is info,
// and installs it until the test ends. It fails the test if info is not
// what tariffd accepts (see ParseInfo) or if another Fake is active.
//
// tb may be nil (e.g. in an Example function): New and Call then panic
// instead of failing a test, and the caller must call Close.
func New(tb testing.TB, info string) *Fake {
	if tb != nil {
		tb.Helper()
	}
	f := &Fake{
		tb:                tb,
		Method:            DefaultMethod,
		ServiceID:         DefaultServiceID,
		OrgID:             DefaultOrgID,
		GroupID:           DefaultGroupID,
		Caller:            DefaultCaller,
		PaymentType:       DefaultPaymentType,
		ChannelID:         DefaultChannelID,
		RequestTimeUnixMs: DefaultRequestTimeUnixMs,
		BodyLimit:         DefaultBodyLimit,
		LogLines:          DefaultLogLines,
	}
	if runtime.GOARCH == "wasm" {
		f.fatalf("tarifftest: the fake host runs on native builds only")
	}
	inf, err := ParseInfo(info)
	if err != nil {
		f.fatalf("tarifftest: tariff_info: %v", err)
	}
	f.info = inf
	activeMu.Lock()
	if active != nil {
		activeMu.Unlock()
		f.fatalf("tarifftest: another Fake is active: tests that use a Fake must not run in parallel, " +
			"and a test uses one Fake at a time (change its fields between calls)")
	}
	active = f
	hostcall.Current = host{f}
	activeMu.Unlock()
	if tb != nil {
		tb.Cleanup(f.Close)
	}
	return f
}

// Close uninstalls the fake. New registers it as test cleanup.
func (f *Fake) Close() {
	f.closeOnce.Do(func() {
		activeMu.Lock()
		if active == f {
			active = nil
			hostcall.Current = nil
		}
		activeMu.Unlock()
	})
}

// Info returns the parsed tariff_info document given to New.
func (f *Fake) Info() Info { return f.info }

func (f *Fake) fatalf(format string, args ...any) {
	if f.tb != nil {
		f.tb.Helper()
		f.tb.Fatalf(format, args...)
	}
	panic(fmt.Sprintf(format, args...))
}

// ParseInfo checks a tariff_info document as tariffd does at load time:
// valid JSON with a non-empty "name", a "version", an "abi_minor" this SDK
// knows and known "kinds".
func ParseInfo(doc string) (Info, error) {
	var j struct {
		Name      *string  `json:"name"`
		Version   *string  `json:"version"`
		ABIMinor  *int     `json:"abi_minor"`
		Kinds     []string `json:"kinds"`
		NeedsBody bool     `json:"needs_body"`
	}
	if !utf8.ValidString(doc) {
		return Info{}, fmt.Errorf("not valid UTF-8")
	}
	if err := json.Unmarshal([]byte(doc), &j); err != nil {
		return Info{}, fmt.Errorf("not valid JSON: %v", err)
	}
	var missing []string
	if j.Name == nil || *j.Name == "" {
		missing = append(missing, `"name"`)
	}
	if j.Version == nil {
		missing = append(missing, `"version"`)
	}
	if j.ABIMinor == nil {
		missing = append(missing, `"abi_minor"`)
	}
	if len(j.Kinds) == 0 {
		missing = append(missing, `"kinds"`)
	}
	if len(missing) > 0 {
		return Info{}, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	if *j.ABIMinor < 0 || *j.ABIMinor > tariff.ABIMinor {
		return Info{}, fmt.Errorf("abi_minor %d: this SDK implements ABI v1.%d", *j.ABIMinor, tariff.ABIMinor)
	}
	inf := Info{Name: *j.Name, Version: *j.Version, ABIMinor: *j.ABIMinor, NeedsBody: j.NeedsBody}
	for _, s := range j.Kinds {
		k := Kind(0)
		for i, n := range kindNames {
			if n != "" && n == s {
				k = Kind(i)
			}
		}
		if k == 0 {
			return Info{}, fmt.Errorf("unknown kind %q (known: pricing, free_call, transform)", s)
		}
		if !inf.Declares(k) {
			inf.Kinds = append(inf.Kinds, k)
		}
	}
	return inf, nil
}

// Result is what the host makes of one call.
type Result struct {
	// Status is what the entry function returned: tariff.OK, Pass, Deny or
	// negative (Error).
	Status int32
	// Err is non-empty when tariffd would treat the call as an ERROR and
	// apply on_error: a negative or unknown status, OK without the kind's
	// output, an output over its cap, a panic. Outputs are then unset.
	Err string

	// Outputs, set only when Status is OK and Err is empty, as in tariffd.
	Price       uint64 // pricing
	Allow       bool   // free_call: whether the free call is allowed
	Remaining   uint64 // free_call: free calls remaining
	Body        []byte // transform: the new body, if BodySet
	BodySet     bool
	Meta        map[string][]string // transform: metadata keys set, each with its values
	PriceSet    bool                // pricing: set_price was called
	FreeCallSet bool                // free_call: set_free_call was called

	// Code and Message of a Deny: from tariff.Fail, default
	// PermissionDenied (7) and "".
	Code    int32
	Message string

	// Logs are the lines the plugin logged (kept whatever the status),
	// LogsDropped those over the per-call cap.
	Logs        []LogLine
	LogsDropped int
}

// LogLine is one line given to tariff.Log.
type LogLine struct {
	Level int32
	Msg   string
}

// IsError reports whether tariffd would treat the call as an ERROR.
func (r Result) IsError() bool { return r.Err != "" }

// Logged reports whether a log line contains s.
func (r Result) Logged(s string) bool {
	for _, l := range r.Logs {
		if strings.Contains(l.Msg, s) {
			return true
		}
	}
	return false
}

type phase uint8

const (
	phaseInit phase = iota
	phaseCall
)

// callState is what the host functions see during one call.
type callState struct {
	phase phase
	kind  Kind
	strs  map[tariff.Field]string
	nums  map[tariff.Field]uint64
	meta  map[string][]string
	body  []byte

	price       uint64
	hasPrice    bool
	allow       bool
	remaining   uint64
	hasFreeCall bool
	newBody     []byte
	hasBody     bool
	newMeta     map[string][]string
	metaBytes   int
	failCode    int32
	failMsg     string
	hasFail     bool
	overflow    string
	logs        []LogLine
	dropped     int
}

// Call runs entry as the entry point of kind k (tariff_price,
// tariff_free_call or tariff_transform) on the current request, and
// returns what the host makes of it. It fails the test if the info does not
// declare k.
func (f *Fake) Call(k Kind, entry func() int32) Result {
	if f.tb != nil {
		f.tb.Helper()
	}
	if !f.info.Declares(k) {
		f.fatalf("tarifftest: %s is not among the kinds tariff_info declares (%v): tariffd would refuse the module", k, f.info.Kinds)
	}
	return f.run(f.request(phaseCall, k), entry)
}

// Init runs fn as tariff_init: only the config is readable. tariffd fails
// the instance (and the load) unless the Status is 0.
func (f *Fake) Init(fn func() int32) Result {
	return f.run(&callState{phase: phaseInit}, fn)
}

func (f *Fake) request(ph phase, k Kind) *callState {
	st := &callState{phase: ph, kind: k, body: f.Body,
		strs: map[tariff.Field]string{
			tariff.FieldMethod:         f.Method,
			tariff.FieldServiceID:      f.ServiceID,
			tariff.FieldOrgID:          f.OrgID,
			tariff.FieldGroupID:        f.GroupID,
			tariff.FieldCaller:         f.Caller,
			tariff.FieldPaymentType:    f.PaymentType,
			tariff.FieldFreeCallUserID: f.FreeCallUserID,
		},
		nums: map[tariff.Field]uint64{
			tariff.FieldChannelID:         f.ChannelID,
			tariff.FieldBodyLen:           uint64(len(f.Body)),
			tariff.FieldFreeCallsUsed:     f.FreeCallsUsed,
			tariff.FieldFreeCallsAllowed:  f.FreeCallsAllowed,
			tariff.FieldRequestTimeUnixMs: f.RequestTimeUnixMs,
		},
	}
	if f.PaymentType == "free-call" {
		delete(st.nums, tariff.FieldChannelID)
	}
	for _, a := range f.Absent {
		delete(st.strs, a)
		if a != tariff.FieldBodyLen {
			delete(st.nums, a)
		}
	}
	st.meta = make(map[string][]string, len(f.Meta))
	for k, v := range f.Meta {
		lk := strings.ToLower(k)
		st.meta[lk] = append(st.meta[lk], v...)
	}
	return st
}

func (f *Fake) run(st *callState, fn func() int32) (res Result) {
	f.call = st
	defer func() { f.call = nil }()
	status, panicked := protect(fn)
	res = Result{Status: status, Logs: st.logs, LogsDropped: st.dropped}
	entry := "tariff_init"
	if st.phase == phaseCall {
		entry = [...]string{Pricing: "tariff_price", FreeCall: "tariff_free_call", Transform: "tariff_transform"}[st.kind]
	}
	switch {
	case panicked != "":
		res.Err = panicked
	case st.phase == phaseInit:
		if status != 0 {
			res.Err = fmt.Sprintf("tariff_init returned %d", status)
		}
		return res
	case st.overflow != "":
		res.Err = st.overflow
	case status < 0 || status > tariff.Deny:
		res.Err = fmt.Sprintf("%s returned %d", entry, status)
	case status == tariff.OK && st.kind == Pricing && !st.hasPrice:
		res.Err = "tariff_price returned OK without calling set_price"
	case status == tariff.OK && st.kind == FreeCall && !st.hasFreeCall:
		res.Err = "tariff_free_call returned OK without calling set_free_call"
	}
	if res.Err != "" {
		return res
	}
	switch status {
	case tariff.OK:
		res.Price, res.PriceSet = st.price, st.hasPrice
		res.Allow, res.Remaining, res.FreeCallSet = st.allow, st.remaining, st.hasFreeCall
		res.Body, res.BodySet = st.newBody, st.hasBody
		if res.BodySet && res.Body == nil {
			res.Body = []byte{}
		}
		res.Meta = st.newMeta
	case tariff.Deny:
		res.Code = tariff.CodePermissionDenied
		if st.hasFail {
			if st.failCode > 0 && st.failCode <= 16 {
				res.Code = st.failCode
			}
			res.Message = st.failMsg
		}
	}
	return res
}

// protect runs fn and turns a panic into the text of an ERROR.
func protect(fn func() int32) (status int32, panicked string) {
	defer func() {
		if r := recover(); r != nil {
			status = tariff.Error
			panicked = fmt.Sprintf("panic (a trap in Wasm): %v\n%s", r, debug.Stack())
		}
	}()
	return fn(), ""
}

// host implements hostcall.Host for a Fake, with tariffd's answers.
type host struct{ f *Fake }

func (h host) state(fn string) *callState {
	if h.f.call == nil {
		panic("tarifftest: tariff." + fn + " called outside Fake.Call or Fake.Init")
	}
	return h.f.call
}

// readable tells which kinds may read a field (ABI v1 §4).
func readable(field tariff.Field, k Kind) bool {
	switch field {
	case tariff.FieldChannelID:
		return k == Pricing || k == Transform
	case tariff.FieldFreeCallsUsed, tariff.FieldFreeCallsAllowed, tariff.FieldFreeCallUserID:
		return k == FreeCall
	}
	return true
}

func isNumeric(field tariff.Field) bool {
	switch field {
	case tariff.FieldChannelID, tariff.FieldBodyLen, tariff.FieldFreeCallsUsed,
		tariff.FieldFreeCallsAllowed, tariff.FieldRequestTimeUnixMs:
		return true
	}
	return false
}

func known(field tariff.Field) bool {
	return field >= tariff.FieldMethod && field <= tariff.FieldFreeCallUserID
}

func answer(buf []byte, v string) int64 {
	if len(v) <= len(buf) {
		copy(buf, v)
	}
	return int64(len(v))
}

func (h host) Input(field int32, buf []byte) int64 {
	st, fl := h.state("Input"), tariff.Field(field)
	switch {
	case !known(fl) || isNumeric(fl):
		return -1
	case st.phase != phaseCall || !readable(fl, st.kind):
		return -2
	}
	v, ok := st.strs[fl]
	if !ok {
		return -1
	}
	return answer(buf, v)
}

func (h host) InputU64(field int32) int64 {
	st, fl := h.state("InputU64"), tariff.Field(field)
	switch {
	case !known(fl) || !isNumeric(fl):
		return -1
	case st.phase != phaseCall || !readable(fl, st.kind):
		return -2
	}
	v, ok := st.nums[fl]
	if !ok || v > math.MaxInt64 {
		return -1
	}
	return int64(v)
}

func (h host) Meta(name string, index int32, buf []byte) int64 {
	st := h.state("Meta")
	if st.phase != phaseCall {
		return -2
	}
	vals := st.meta[strings.ToLower(name)]
	if index < 0 || int(index) >= len(vals) {
		return -1
	}
	return answer(buf, vals[index])
}

func (h host) MetaKeys(buf []byte) int64 {
	st := h.state("MetaKeys")
	if st.phase != phaseCall {
		return -2
	}
	keys := make([]string, 0, len(st.meta))
	for k := range st.meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return answer(buf, strings.Join(keys, "\x00"))
}

func (h host) Body(offset int32, buf []byte) int64 {
	st := h.state("Body")
	if st.phase != phaseCall || !(st.kind == Transform || h.f.info.NeedsBody) {
		return -2
	}
	if offset < 0 || int(offset) >= len(st.body) {
		return 0
	}
	rest := st.body[offset:]
	copy(buf, rest)
	return int64(len(rest))
}

func (h host) Config(buf []byte) int64 {
	h.state("Config")
	if h.f.Config == nil {
		return -1
	}
	return answer(buf, string(h.f.Config))
}

func (h host) SetPrice(cogs int64) {
	if st := h.state("SetPrice"); st.phase == phaseCall && st.kind == Pricing {
		st.price, st.hasPrice = uint64(cogs), true
	}
}

func (h host) SetFreeCall(allow int32, remaining int64) {
	if st := h.state("SetFreeCall"); st.phase == phaseCall && st.kind == FreeCall {
		st.allow, st.remaining, st.hasFreeCall = allow != 0, uint64(max(remaining, 0)), true
	}
}

func (h host) BodyWrite(b []byte) int32 {
	st := h.state("BodyWrite")
	if st.phase != phaseCall || st.kind != Transform {
		return -2
	}
	if st.overflow != "" || len(st.newBody)+len(b) > h.f.BodyLimit {
		st.overflow = fmt.Sprintf("body_write: new body over the limit of %d bytes", h.f.BodyLimit)
		return -1
	}
	st.newBody = append(st.newBody, b...)
	st.hasBody = true
	return 0
}

func (h host) MetaSet(name, value string) int32 {
	st := h.state("MetaSet")
	if st.phase != phaseCall || st.kind != Transform {
		return -2
	}
	if !settableKey(name) {
		return -1
	}
	if st.overflow != "" || st.metaBytes+len(name)+len(value) > MetaOutputLimit {
		st.overflow = fmt.Sprintf("meta_set: metadata set over the limit of %d bytes", MetaOutputLimit)
		return -1
	}
	if st.newMeta == nil {
		st.newMeta = make(map[string][]string)
	}
	st.metaBytes += len(name) + len(value)
	st.newMeta[name] = append(st.newMeta[name], value)
	return 0
}

func settableKey(key string) bool {
	if key == "" || strings.HasPrefix(key, "snet-") || strings.HasPrefix(key, "grpc-") {
		return false
	}
	for _, c := range []byte(key) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func (h host) Fail(code int32, msg string) {
	st := h.state("Fail")
	st.failCode, st.failMsg, st.hasFail = code, cutText(msg, MaxMessageBytes), true
}

func (h host) Log(level int32, msg string) {
	st := h.state("Log")
	if len(st.logs) >= h.f.LogLines {
		st.dropped++
		return
	}
	st.logs = append(st.logs, LogLine{Level: level, Msg: cutText(msg, MaxLogLineBytes)})
}

// cutText returns s as valid UTF-8 of at most max bytes.
func cutText(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

var _ hostcall.Host = host{}
