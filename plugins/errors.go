package plugins

import (
	"errors"
	"fmt"
	"strings"
)

// Reason classifies an ERROR outcome of a plugin call. Reasons are error
// values, so callers test them with errors.Is:
//
//	if errors.Is(err, plugins.ErrTimeout) { ... }
//
// Every Reason means "apply on_error"; they differ for logs and metrics.
type Reason uint8

// Reasons of a failed call. Those marked "discards" also discard the instance
// that ran the call; a fresh one replaces it on a later call.
const (
	// ErrStatus: the entry point returned a negative or unknown status.
	ErrStatus Reason = iota + 1
	// ErrMissingOutput: status OK without the kind's output (set_price for
	// pricing, set_free_call for free_call).
	ErrMissingOutput
	// ErrTrap: the guest trapped (unreachable, stack overflow, out of bounds
	// memory access, ...). Discards.
	ErrTrap
	// ErrTimeout: the call ran past its deadline. Discards.
	ErrTimeout
	// ErrCanceled: the caller's context was canceled during the call. Discards.
	ErrCanceled
	// ErrMemoryLimit: the guest grew its memory to the limit and then failed.
	// Discards.
	ErrMemoryLimit
	// ErrOutputLimit: body_write or meta_set went over the output cap. Discards.
	ErrOutputLimit
	// ErrBadPointer: a host function got a pointer or length outside the
	// guest's memory. Discards.
	ErrBadPointer
	// ErrExit: the guest called WASI proc_exit (a Go or TinyGo panic does).
	// Discards.
	ErrExit
	// ErrInit: a replacement instance failed to start (_initialize or
	// tariff_init failed, trapped or timed out).
	ErrInit
	// ErrBusy: no instance became free before the caller's context ended.
	ErrBusy

	numReasons = iota + 1
)

var reasonNames = [numReasons]string{
	ErrStatus:        "status",
	ErrMissingOutput: "missing_output",
	ErrTrap:          "trap",
	ErrTimeout:       "timeout",
	ErrCanceled:      "canceled",
	ErrMemoryLimit:   "memory_limit",
	ErrOutputLimit:   "output_limit",
	ErrBadPointer:    "bad_pointer",
	ErrExit:          "exit",
	ErrInit:          "init",
	ErrBusy:          "busy",
}

// Reasons lists every Reason, for metrics that want all labels up front.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := Reason(1); r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// String is a short label ("timeout"), suitable for metrics.
func (r Reason) String() string {
	if r > 0 && r < numReasons {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

func (r Reason) Error() string { return "plugin " + strings.ReplaceAll(r.String(), "_", " ") }

func (r Reason) discards() bool {
	switch r {
	case ErrTrap, ErrTimeout, ErrCanceled, ErrMemoryLimit, ErrOutputLimit, ErrBadPointer, ErrExit:
		return true
	}
	return false
}

// CallError is the error of a call that ended in ERROR. errors.Is matches
// its Reason and, through Err, the underlying cause (for example
// context.DeadlineExceeded).
type CallError struct {
	Plugin string // the plugin's name (Options.Name)
	Kind   Kind
	Reason Reason
	Status int32  // the status returned, for ErrStatus
	Detail string // one line about what happened
	Err    error  // the underlying error (wazero's, with the guest stack trace), or nil
}

func (e *CallError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %q", e.Plugin)
	if e.Kind != 0 {
		fmt.Fprintf(&b, " (%s)", e.Kind)
	}
	b.WriteString(": ")
	b.WriteString(strings.ReplaceAll(e.Reason.String(), "_", " "))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the Reason and the underlying error.
func (e *CallError) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Reason, e.Err}
	}
	return []error{e.Reason}
}

// Errors that are not a plugin's fault.
var (
	// ErrInvalid wraps every error of Load: the module or its configuration
	// was refused. The message says what is wrong.
	ErrInvalid = errors.New("invalid plugin")
	// ErrClosed: the plugin or runtime was closed or retired.
	ErrClosed = errors.New("plugin closed")
	// ErrUnsupported: the plugin does not implement the kind asked for.
	ErrUnsupported = errors.New("kind not implemented by plugin")
)

// firstLine returns s up to its first newline: wazero's errors carry a
// multi-line guest stack trace, kept in CallError.Err.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
