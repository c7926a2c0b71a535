package pricing_test

import (
	"context"
	"log/slog"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/plugins/plugintest"

	"github.com/tariffd/tariff/plugins"
	"github.com/tariffd/tariff/pricing"
)

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
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }

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

func (l *logs) all() []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logLine(nil), l.lines...)
}

// newRuntime returns a plugin Runtime closed at the end of the test.
func newRuntime(tb testing.TB) *plugins.Runtime {
	tb.Helper()
	rt, err := plugins.NewRuntime(context.Background(), plugins.RuntimeOptions{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, rt.Close(context.Background())) })
	return rt
}

// load loads a fixture. A zero timeout becomes a generous one, so a loaded
// test machine cannot fail a call by scheduling it late; tests about
// deadlines set their own.
func load(tb testing.TB, rt *plugins.Runtime, name string, limits plugins.Limits) *plugins.Plugin {
	tb.Helper()
	wasm, err := plugintest.Fixture(name)
	require.NoError(tb, err)
	if limits.Timeout == 0 {
		limits.Timeout = 2 * time.Second
	}
	p, err := rt.Load(context.Background(), wasm, plugins.Options{Name: name, Limits: limits})
	require.NoError(tb, err)
	return p
}

// calcTable prices /calc.Calculator/mul at 5 and /other.Svc/run at 3;
// other methods have no price.
func calcTable(tb testing.TB) *pricing.Table {
	tb.Helper()
	t, err := pricing.NewTable([]pricing.PriceEntry{{
		Model: pricing.ModelFixedPricePerMethod, Default: true,
		Details: []pricing.ServicePrices{
			{ServiceName: "calc.Calculator", Methods: []pricing.MethodPrice{{MethodName: "mul", PriceInCogs: big.NewInt(5)}}},
			{ServiceName: "other.Svc", Methods: []pricing.MethodPrice{{MethodName: "run", PriceInCogs: big.NewInt(3)}}},
		},
	}})
	require.NoError(tb, err)
	return t
}

// newPolicy builds a Policy closed at the end of the test.
func newPolicy(tb testing.TB, table *pricing.Table, rules ...pricing.Rule) (*pricing.Policy, *logs) {
	tb.Helper()
	l := &logs{}
	p, err := pricing.NewPolicy(table, rules, slog.New(l))
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, p.Close(context.Background())) })
	return p, l
}

// req builds a Request for method with metadata given as key, value pairs.
func req(method string, kv ...string) *pricing.Request {
	r := &pricing.Request{Method: method, Meta: map[string][]string{}, Time: time.UnixMilli(1_700_000_000_123)}
	for i := 0; i+1 < len(kv); i += 2 {
		r.Meta[kv[i]] = append(r.Meta[kv[i]], kv[i+1])
	}
	return r
}
