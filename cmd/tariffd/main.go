// Command tariffd is the payment sidecar for AI services on SingularityNET:
// a drop-in replacement for snet-daemon.
//
//	tariffd [serve] [--config FILE]...   run the daemon (default: snetd.config.json)
//	tariffd channels | claims | freecalls list | freecalls reset --address A [--user-id U]
//	                                    inspect or repair the payment state (ops.go)
//	tariffd keygen                      create a secp256k1 key
//	tariffd config check|migrate        validate files, or turn snetd JSON into HCL
//	tariffd plugin check FILE           the conformance suite for a plugin
//	tariffd version                     print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/host/config"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stderr)
	case "channels":
		return channelsCmd(args, stdout, stderr)
	case "claims":
		return claimsCmd(args, stdout, stderr)
	case "freecalls", "freecall": // "freecall": upstream's name
		return freeCallsCmd(args, stdout, stderr)
	case "list": // upstream's "list channels", "list claims"
		return listCmd(args, stdout, stderr)
	case "keygen", "generate-key": // "generate-key": upstream's name
		return keygenCmd(args, stdout, stderr)
	case "channel", "unlock": // upstream's "channel --unlock": there are no locks
		return unlockCmd(stdout)
	case "config": // check, migrate: config_cmd.go
		return configCmd(args, stdout, stderr)
	case "plugin": // check: plugin_cmd.go
		return pluginCmd(args, stdout, stderr)
	case "version":
		return versionCmd(args, stdout, stderr)
	case "help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "tariffd: unknown command %q\n", cmd)
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  tariffd [serve] [--config FILE]...  run the daemon; several --config files merge in order
                                      (snetd.config.json, *.json or *.hcl; default snetd.config.json)
  tariffd channels [--config FILE]... [--json]
                                      list the stored channels: nonce, signed (unclaimed)
                                      and full amounts in cogs, expiration, parties
  tariffd claims [--config FILE]... [--json]
                                      list the claims in progress
  tariffd freecalls list [--config FILE]... [--json]
                                      list the free-call counters
  tariffd freecalls reset --address ADDR [--user-id USER] [--config FILE]... [--json]
                                      set a free-call counter to 0 (ADDR exactly as the client sends it)
  tariffd keygen [--json]             create a secp256k1 key: private key hex and address
  tariffd config check FILE...        validate configuration files (plugins compiled and verified)
  tariffd config migrate FILE [-o OUT] write the HCL equivalent of an snetd.config.json
  tariffd plugin check FILE [--kind K] [--vectors V.json] [--config C.json] [--json]
                                      run the conformance suite on a plugin
  tariffd version [--json]            print the version

The operator commands connect to the storage of the running daemon (its embedded
etcd or the external cluster). There is no unlock command: tariffd takes no locks.
Upstream's names (list channels, list claims, freecall, generate-key) also work.
Exit status: 0 done, 1 failed, 2 wrong usage.
`)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files multiFlag
	fs.Var(&files, "config", "configuration file (repeatable)")
	fs.Var(&files, "c", "shorthand for --config")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(files) == 0 {
		files = multiFlag{"snetd.config.json"}
	}
	cfg, warnings, err := config.Load(files, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "tariffd: configuration:\n%v\n", err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range warnings {
		log.Warn("configuration", "warning", w.String())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := host.New(ctx, cfg, host.Options{Log: log, Version: version, ConfigFiles: files, Env: os.LookupEnv})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := d.Serve(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func versionString() string {
	v := "tariffd " + version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v += " (" + s.Value + ")"
			}
		}
		v += " " + bi.GoVersion
	}
	return v
}
