package plugins_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/plugins/plugintest"

	"github.com/tariffd/tariff/plugins"
)

// fixture returns testdata/NAME.wat compiled to wasm. A line
// ";; wat2wasm: FLAGS" in a source adds flags.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := plugintest.Fixture(name)
	require.NoError(tb, err)
	return b
}

// logs records log lines.
type logs struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }

func (l *logs) Handle(_ context.Context, r slog.Record) error {
	line := logLine{Level: r.Level, Msg: r.Message, Attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		line.Attrs[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	return nil
}

func (l *logs) WithAttrs(as []slog.Attr) slog.Handler { return &attrHandler{l, as} }
func (l *logs) WithGroup(string) slog.Handler         { return l }

func (l *logs) all() []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logLine(nil), l.lines...)
}

func (l *logs) msgs() []string {
	var ms []string
	for _, line := range l.all() {
		ms = append(ms, line.Msg)
	}
	return ms
}

type attrHandler struct {
	l  *logs
	as []slog.Attr
}

func (h *attrHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *attrHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(h.as...)
	return h.l.Handle(ctx, r)
}
func (h *attrHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrHandler{h.l, append(append([]slog.Attr(nil), h.as...), as...)}
}
func (h *attrHandler) WithGroup(string) slog.Handler { return h }

// newRuntime returns a Runtime closed at the end of the test, and its logs.
func newRuntime(tb testing.TB) (*plugins.Runtime, *logs) {
	tb.Helper()
	l := &logs{}
	rt, err := plugins.NewRuntime(context.Background(), plugins.RuntimeOptions{Logger: slog.New(l)})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, rt.Close(context.Background())) })
	return rt, l
}

// load loads a fixture.
func load(tb testing.TB, rt *plugins.Runtime, name string, opts plugins.Options) *plugins.Plugin {
	tb.Helper()
	if opts.Name == "" {
		opts.Name = name
	}
	if opts.Limits.Timeout == 0 {
		// Generous, so a loaded test machine cannot fail a call by
		// scheduling it late; tests about deadlines set their own.
		opts.Limits.Timeout = 2 * time.Second
	}
	p, err := rt.Load(context.Background(), fixture(tb, name), opts)
	require.NoError(tb, err)
	return p
}

// input builds an Input with a method and metadata given as key, value pairs.
func input(method string, kv ...string) *plugins.Input {
	in := &plugins.Input{Meta: map[string][]string{}}
	if method != "" {
		in.SetString(plugins.FieldMethod, method)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		in.Meta[kv[i]] = append(in.Meta[kv[i]], kv[i+1])
	}
	return in
}

func mode(m string) *plugins.Input { return input("/calc.Calculator/add", "x-mode", m) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
