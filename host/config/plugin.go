package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Plugin kinds (plugin.kind), as named in the plugin ABI.
const (
	PluginPricing   = "pricing"
	PluginFreeCall  = "free_call"
	PluginTransform = "transform"
)

// What the host does when a plugin call fails (plugin.on_error): a trap, a
// timeout, a limit breach, a negative status.
const (
	// OnErrorDeny fails closed: the call is refused (pricing), the free
	// call is refused (free_call) or the call is rejected (transform).
	OnErrorDeny = "deny"
	// OnErrorFallback does what the plugin's PASS does: the metadata price,
	// the built-in free-call rule, or forwarding the request unchanged.
	OnErrorFallback = "fallback"
)

// AllMethods is the default plugin.methods: every method of every service.
const AllMethods = "/*/*"

// Plugin is one plugin block: a WebAssembly module that decides one kind
// of thing for the methods it is configured for. The host turns it into
// plugins.Options; this package only checks that the file is there and is
// the one pinned (the plugins package verifies the module itself).
type Plugin struct {
	Name string // the block's label: logs, errors and metrics
	Kind string // PluginPricing, PluginFreeCall or PluginTransform
	// Path is the module file, absolute (relative paths are resolved
	// against the directory of the file naming them).
	Path string
	// SHA256 is the lowercase hex SHA-256 of the module as read when the
	// configuration was loaded: the pinned value when sha256 is set (the
	// file matched it), else what the file held then. Passing it on to the
	// loader makes the host run exactly the module that was checked.
	SHA256 string
	// Methods are the full method names the plugin applies to, as
	// path.Match patterns: "/example_service.Calculator/*". See Matches.
	Methods []string
	OnError string // OnErrorDeny or OnErrorFallback
	Limits  PluginLimits
	// Config is the plugin's config value as JSON, read by the guest with
	// the ABI's `config`; nil when the block has none.
	Config []byte
	// Origin is where the block that configured the plugin starts.
	Origin Origin
}

// PluginLimits bound what one plugin may use (plugin.limits).
type PluginLimits struct {
	MemoryMiB uint32        // memory_mib: the guest's linear memory
	Timeout   time.Duration // timeout: wall clock per call
	Instances int           // instances: calls that run at once
	// InitTimeout bounds an instance's start (_initialize and tariff_init):
	// a Go plugin starts its runtime there.
	InitTimeout time.Duration // init_timeout
}

// Matches reports whether the plugin applies to the full method name
// ("/package.Service/Method").
func (p Plugin) Matches(method string) bool {
	for _, pat := range p.Methods {
		if ok, _ := path.Match(pat, method); ok {
			return true
		}
	}
	return false
}

// Plugin limits: defaults (those of the plugins package, so that a block
// without limits means the same as the loader's zero Limits) and the host
// maxima the configuration accepts (within the plugins package's own).
const (
	defaultPluginMemoryMiB        = 32
	defaultPluginTimeout          = 20 * time.Millisecond
	defaultPluginTransformTimeout = 100 * time.Millisecond
	defaultPluginInstances        = 4
	defaultPluginInitTimeout      = time.Second

	maxPluginMemoryMiB        = 1024
	maxPluginTimeout          = time.Second // pricing and free_call run before every paid call
	maxPluginTransformTimeout = 5 * time.Second
	maxPluginInstances        = 64
	maxPluginInitTimeout      = 30 * time.Second

	// maxPluginFileBytes is the plugins package's largest module: a bigger
	// file cannot load, so it is not read at all.
	maxPluginFileBytes = 64 << 20
)

// pluginName keeps names usable as log attributes and metric labels.
var pluginName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (b *builder) plugins() []Plugin {
	if len(b.u.Plugins) == 0 {
		return nil
	}
	out := make([]Plugin, 0, len(b.u.Plugins))
	for i := range b.u.Plugins {
		if p, ok := b.plugin(&b.u.Plugins[i]); ok {
			out = append(out, p)
		}
	}
	return out
}

// pluginIssue reports a problem with one setting of a plugin block; a
// setting that is not written points at the block.
func (b *builder) pluginIssue(blk *pluginBlock, key string, format string, args ...any) {
	o, ok := blk.origins[key]
	if !ok {
		o = blk.origin
		if key != "" {
			o.Key = joinKey(blk.origin.Key, key)
		}
	}
	b.errs = append(b.errs, &Error{Origin: o, Err: fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))})
}

func (b *builder) plugin(blk *pluginBlock) (Plugin, bool) {
	if blk.origin.Key == "" { // not from HCL (tests): still name the block
		blk.origin.Key = "plugin." + blk.Name
	}
	fail := func(key, format string, args ...any) { b.pluginIssue(blk, key, format, args...) }
	nerrs := len(b.errs)
	p := Plugin{Name: blk.Name, Origin: blk.origin}
	if !pluginName.MatchString(p.Name) {
		fail("", "plugin name %q: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit", p.Name)
	}

	p.Kind = val(blk.Kind)
	switch p.Kind {
	case PluginPricing, PluginFreeCall, PluginTransform:
	case "":
		fail("kind", "must be set: pricing, free_call or transform")
	default:
		fail("kind", "unknown kind %q (want pricing, free_call or transform)", p.Kind)
	}

	p.OnError = or(blk.OnError, OnErrorDeny)
	if p.OnError != OnErrorDeny && p.OnError != OnErrorFallback {
		fail("on_error", "%q (want deny or fallback)", p.OnError)
	}

	p.Methods = or(blk.Methods, []string{AllMethods})
	if len(p.Methods) == 0 {
		fail("methods", "must list at least one pattern; leave methods out for every method (%q)", AllMethods)
	}
	for _, m := range p.Methods {
		if err := checkMethodPattern(m); err != nil {
			fail("methods", "%q: %v", m, err)
		}
	}

	p.Limits = b.pluginLimits(blk, p.Kind)

	if !blk.Config.IsNull() {
		if !blk.Config.IsWhollyKnown() {
			fail("config", "value is not known")
		} else if j, err := ctyjson.Marshal(blk.Config, blk.Config.Type()); err != nil {
			fail("config", "cannot be converted to JSON: %v", err)
		} else {
			p.Config = j
		}
	}

	pin := strings.ToLower(strings.TrimSpace(val(blk.SHA256)))
	if blk.SHA256 != nil {
		if raw, err := hex.DecodeString(pin); err != nil || len(raw) != sha256.Size {
			fail("sha256", "%q is not a SHA-256 in hex (64 hex digits, as sha256sum prints)", *blk.SHA256)
			pin = ""
		}
	}
	p.Path = val(blk.Path)
	switch {
	case p.Path == "":
		fail("path", "must be set: the plugin's .wasm file")
	default:
		if abs, err := filepath.Abs(p.Path); err == nil {
			p.Path = abs
		}
		sum, err := hashFile(p.Path)
		switch {
		case err != nil:
			fail("path", "%v", err)
		case pin != "" && pin != sum:
			fail("sha256", "%s has SHA-256 %s, the configuration pins %s (a different build, or the wrong file)",
				p.Path, sum, pin)
		default:
			p.SHA256 = sum
		}
	}
	return p, len(b.errs) == nerrs
}

func (b *builder) pluginLimits(blk *pluginBlock, kind string) PluginLimits {
	l := val(blk.Limits)
	out := PluginLimits{MemoryMiB: defaultPluginMemoryMiB, Timeout: defaultPluginTimeout, Instances: defaultPluginInstances,
		InitTimeout: defaultPluginInitTimeout}
	maxTimeout := maxPluginTimeout
	if kind == PluginTransform {
		out.Timeout, maxTimeout = defaultPluginTransformTimeout, maxPluginTransformTimeout
	}
	if l.MemoryMiB != nil {
		if m := *l.MemoryMiB; m < 1 || m > maxPluginMemoryMiB {
			b.pluginIssue(blk, "limits.memory_mib", "%d MiB is out of range: must be 1 to %d", m, maxPluginMemoryMiB)
		} else {
			out.MemoryMiB = uint32(m)
		}
	}
	if l.Instances != nil {
		if n := *l.Instances; n < 1 || n > maxPluginInstances {
			b.pluginIssue(blk, "limits.instances", "%d is out of range: must be 1 to %d", n, maxPluginInstances)
		} else {
			out.Instances = n
		}
	}
	if l.Timeout != nil {
		d, err := parseDuration(*l.Timeout)
		switch {
		case err != nil:
			b.pluginIssue(blk, "limits.timeout", "%q is not a duration such as \"20ms\" or \"1s\"", *l.Timeout)
		case d == 0:
			b.pluginIssue(blk, "limits.timeout", "must be greater than zero")
		case d > maxTimeout:
			b.pluginIssue(blk, "limits.timeout", "%s is above the maximum of %s for a %s plugin", d, maxTimeout, timeoutClass(kind))
		default:
			out.Timeout = d
		}
	}
	if l.InitTimeout != nil {
		d, err := parseDuration(*l.InitTimeout)
		switch {
		case err != nil:
			b.pluginIssue(blk, "limits.init_timeout", "%q is not a duration such as \"1s\"", *l.InitTimeout)
		case d == 0:
			b.pluginIssue(blk, "limits.init_timeout", "must be greater than zero")
		case d > maxPluginInitTimeout:
			b.pluginIssue(blk, "limits.init_timeout", "%s is above the maximum of %s", d, maxPluginInitTimeout)
		default:
			out.InitTimeout = d
		}
	}
	return out
}

func timeoutClass(kind string) string {
	if kind == PluginTransform {
		return kind
	}
	return "pricing or free_call"
}

// checkMethodPattern accepts path.Match patterns over full method names,
// "/package.Service/Method": two non-empty segments, each starting after a
// '/'. Anything else can never match a method.
func checkMethodPattern(p string) error {
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("invalid pattern syntax (path.Match: *, ?, [a-z], \\ escapes)")
	}
	rest, ok := strings.CutPrefix(p, "/")
	svc, method, two := strings.Cut(rest, "/")
	if !ok || !two || svc == "" || method == "" || strings.Contains(method, "/") {
		return fmt.Errorf("want a full method name pattern such as \"/package.Service/*\" or %q", AllMethods)
	}
	return nil
}

// hashFile returns the hex SHA-256 of a regular file of at most
// maxPluginFileBytes. It looks before it opens: opening a FIFO would block.
func hashFile(name string) (string, error) {
	if err := checkPluginFile(name, os.Stat); err != nil {
		return "", err
	}
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := checkPluginFile(name, func(string) (os.FileInfo, error) { return f.Stat() }); err != nil {
		return "", err // replaced between the two looks
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, maxPluginFileBytes+1)); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func checkPluginFile(name string, stat func(string) (os.FileInfo, error)) error {
	st, err := stat(name)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: no such file", name)
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", name)
	case st.Size() > maxPluginFileBytes:
		return fmt.Errorf("%s is %d bytes, more than the largest module a plugin may be (%d MiB)",
			name, st.Size(), maxPluginFileBytes>>20)
	}
	return nil
}
