package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/tariffd/tariff/host/config"
	"github.com/tariffd/tariff/host/metadata"
)

// ErrNeedsRestart marks settings a reload cannot apply (listen address,
// storage, chain, identities): the running values stay until a restart.
var ErrNeedsRestart = errors.New("needs a restart to take effect")

// Reload reads the configuration files and the metadata's prices again
// and, if they are valid, swaps in a new pricing snapshot (plugins
// compiled, verified and initialised first). A bad file changes nothing:
// the running snapshot stays and the error says why. Settings that cannot change live are reported in the
// returned warnings and left as they are.
func (d *Daemon) Reload(ctx context.Context) (warnings []string, err error) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	defer func() { d.metrics.reloaded(err) }()
	if len(d.files) == 0 {
		return nil, errors.New("reload: the daemon was not started from configuration files")
	}
	cfg, cw, err := config.Load(d.files, d.lookupEnv)
	if err != nil {
		return nil, fmt.Errorf("reload: %w", err)
	}
	for _, w := range cw {
		warnings = append(warnings, w.String())
	}
	if fields := restartFields(d.cfg, cfg); len(fields) > 0 {
		warnings = append(warnings, fmt.Sprintf("%s changed: %v", strings.Join(fields, ", "), ErrNeedsRestart))
	}
	if d.plugins == nil {
		return warnings, errors.New("reload: payments are disabled, there is no pricing to reload")
	}
	group, mw := d.reloadPrices(ctx)
	warnings = append(warnings, mw...)
	policy, err := buildPolicy(ctx, d.plugins, cfg.Plugins, group.Pricing, d.env.Methods, d.log, d.policyOpts...)
	if err != nil {
		return warnings, fmt.Errorf("reload: %w", err)
	}
	d.server.SetPolicy(policy)
	if !reflect.DeepEqual(group.PriceEntries, d.prices.PriceEntries) {
		d.log.Info("service metadata prices changed", "pricing", group.Pricing.Model())
	}
	d.cfg.Plugins, d.prices = cfg.Plugins, group
	return warnings, nil
}

// reloadPrices reads the organization and service metadata again (the
// files, or the Registry and IPFS) for the group's prices. If it cannot,
// the prices stay as they are; other metadata changes need a restart.
func (d *Daemon) reloadPrices(ctx context.Context) (*metadata.ServiceGroup, []string) {
	org, svc, err := d.env.loader.Load(ctx)
	if err != nil {
		return d.prices, []string{fmt.Sprintf("metadata not read again, prices unchanged: %v", err)}
	}
	og, _ := org.Group(d.cfg.Group) // Load checked both groups
	sg, _ := svc.Group(d.cfg.Group)
	var warnings []string
	if fields := metadataRestartFields(d.env, svc, og, sg); len(fields) > 0 {
		warnings = append(warnings, fmt.Sprintf("metadata %s changed: %v", strings.Join(fields, ", "), ErrNeedsRestart))
	}
	return sg, warnings
}

// metadataRestartFields names what changed in the metadata, other than
// the prices, that the running daemon was built on.
func metadataRestartFields(env *PaymentEnv, svc *metadata.Service, og *metadata.OrgGroup, sg *metadata.ServiceGroup) []string {
	var out []string
	for _, f := range []struct {
		name     string
		old, cur any
	}{
		{"mpe_address", env.Service.MPEAddress, svc.MPEAddress},
		{"encoding", env.Service.Encoding, svc.Encoding},
		{"service_type", env.Service.ServiceType, svc.ServiceType},
		{"service_api_source", env.Service.APISource, svc.APISource},
		{"group_id", env.OrgGroup.ID, og.ID},
		{"payment_address", env.OrgGroup.PaymentAddress, og.PaymentAddress},
		{"payment_expiration_threshold", env.OrgGroup.ExpirationThreshold, og.ExpirationThreshold},
		{"payment_channel_storage_client", env.OrgGroup.Storage, og.Storage},
		{"free_calls", env.ServiceGroup.FreeCalls, sg.FreeCalls},
		{"free_call_signer_address", env.ServiceGroup.FreeCallSigner, sg.FreeCallSigner},
	} {
		if !reflect.DeepEqual(f.old, f.cur) {
			out = append(out, f.name)
		}
	}
	return out
}

// restartFields names the top-level settings that differ, other than the
// ones a reload applies (plugins) and bookkeeping (files).
func restartFields(old, cur config.Config) []string {
	var out []string
	ov, cv := reflect.ValueOf(old), reflect.ValueOf(cur)
	t := ov.Type()
	for i := range t.NumField() {
		name := t.Field(i).Name
		if name == "Plugins" || name == "Files" {
			continue
		}
		if !reflect.DeepEqual(ov.Field(i).Interface(), cv.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	return out
}

// watch reloads on SIGHUP and when a configuration file changes, until ctx
// is done. Editors save by writing a new file and renaming it over the old
// one, so the directories are watched, and bursts of events are debounced.
func (d *Daemon) watch(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch configuration: %w", err)
	}
	defer w.Close()
	names := map[string]bool{}
	watched := d.files
	if md := d.cfg.Metadata; md.OrgFile != "" && md.ServiceFile != "" {
		watched = append(slices.Clone(watched), md.OrgFile, md.ServiceFile) // offline metadata: its prices reload too
	}
	for _, f := range watched {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		names[abs] = true
		if err := w.Add(filepath.Dir(abs)); err != nil {
			return fmt.Errorf("watch %s: %w", filepath.Dir(abs), err)
		}
	}
	const settle = 200 * time.Millisecond
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			d.reloadAndLog(ctx, "SIGHUP")
		case ev := <-w.Events:
			if names[filepath.Clean(ev.Name)] && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
				timer = time.After(settle)
			}
		case err := <-w.Errors:
			d.log.Warn("configuration watcher", "err", err)
		case <-timer:
			timer = nil
			d.reloadAndLog(ctx, "file change")
		}
	}
}

func (d *Daemon) reloadAndLog(ctx context.Context, why string) {
	warnings, err := d.Reload(ctx)
	for _, w := range warnings {
		d.log.Warn("configuration reload", "cause", why, "warning", w)
	}
	if err != nil {
		d.log.Error("configuration reload refused; the running configuration stays", "cause", why, "err", err)
		return
	}
	d.log.Info("configuration reloaded", "cause", why, "plugins", len(d.cfg.Plugins))
}
