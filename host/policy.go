package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/tariffd/tariff/host/config"
	"github.com/tariffd/tariff/plugins"
	"github.com/tariffd/tariff/pricing"
)

// buildPolicy loads the configured plugins into rt and makes the pricing
// policy of one configuration snapshot. On error nothing stays loaded.
func buildPolicy(ctx context.Context, rt *plugins.Runtime, blocks []config.Plugin, table *pricing.Table, log *slog.Logger) (*pricing.Policy, error) {
	rules := make([]pricing.Rule, 0, len(blocks))
	closeAll := func() {
		for _, r := range rules {
			_ = r.Plugin.Close(ctx)
		}
	}
	for _, b := range blocks {
		rule, err := loadRule(ctx, rt, b, log)
		if err != nil {
			closeAll()
			return nil, err
		}
		rules = append(rules, rule)
	}
	policy, err := pricing.NewPolicy(table, rules, log)
	if err != nil {
		closeAll()
		return nil, err
	}
	return policy, nil
}

func loadRule(ctx context.Context, rt *plugins.Runtime, b config.Plugin, log *slog.Logger) (pricing.Rule, error) {
	where := fmt.Sprintf("plugin %q (%s)", b.Name, b.Origin)
	kind, ok := plugins.ParseKind(b.Kind)
	if !ok {
		return pricing.Rule{}, fmt.Errorf("%s: unknown kind %q", where, b.Kind)
	}
	onError, err := pricing.ParseOnError(b.OnError)
	if err != nil {
		return pricing.Rule{}, fmt.Errorf("%s: %w", where, err)
	}
	wasm, err := os.ReadFile(b.Path)
	if err != nil {
		return pricing.Rule{}, fmt.Errorf("%s: %w", where, err)
	}
	limits := plugins.Limits{MemoryMiB: b.Limits.MemoryMiB, Timeout: b.Limits.Timeout, Instances: b.Limits.Instances}
	p, err := rt.Load(ctx, wasm, plugins.Options{
		Name: b.Name, Config: b.Config, SHA256: b.SHA256, Limits: limits,
		Logger: log.With("plugin", b.Name),
	})
	if err != nil {
		return pricing.Rule{}, fmt.Errorf("%s: %w", where, err)
	}
	if !p.Info().Has(kind) {
		_ = p.Close(ctx)
		return pricing.Rule{}, fmt.Errorf("%s: the module does not implement kind %q (its tariff_info declares %v)", where, b.Kind, p.Info().Kinds)
	}
	return pricing.Rule{Name: b.Name, Kind: kind, Methods: b.Methods, OnError: onError, Plugin: p}, nil
}
