package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/tariffd/tariff/host/config"
	"github.com/tariffd/tariff/plugins"
	"github.com/tariffd/tariff/pricing"
)

// buildPolicy loads the configured plugins into rt and makes the pricing
// policy of one configuration snapshot. On error nothing stays loaded.
//
// methods, when known (the service's published API), must each be selected
// by every method pattern: a pattern that selects nothing is a mistake
// (a typo in a service name would silently price nothing).
func buildPolicy(ctx context.Context, rt *plugins.Runtime, blocks []config.Plugin, table *pricing.Table, methods []string, log *slog.Logger, opts ...pricing.PolicyOption) (*pricing.Policy, error) {
	if methods != nil {
		for _, b := range blocks {
			if err := checkPatterns(b, methods); err != nil {
				return nil, err
			}
		}
	}
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
	policy, err := pricing.NewPolicy(table, rules, log, opts...)
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
	limits := plugins.Limits{MemoryMiB: b.Limits.MemoryMiB, Timeout: b.Limits.Timeout, Instances: b.Limits.Instances,
		InitTimeout: b.Limits.InitTimeout}
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

// checkPatterns refuses a method pattern that selects none of methods.
func checkPatterns(b config.Plugin, methods []string) error {
	for _, pat := range b.Methods {
		if !slices.ContainsFunc(methods, func(m string) bool { ok, _ := path.Match(pat, m); return ok }) {
			return fmt.Errorf("plugin %q (%s): methods pattern %q selects none of the service's %d methods (%s)",
				b.Name, b.Origin, pat, len(methods), strings.Join(methods, ", "))
		}
	}
	return nil
}
