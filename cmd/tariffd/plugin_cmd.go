package main

// tariffd plugin check: the conformance suite (package conformance) on a
// plugin module, for operators judging a plugin they did not write and for
// authors proving theirs.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tariffd/tariff/conformance"
	"github.com/tariffd/tariff/plugins"
)

const pluginUsage = `usage:
  tariffd plugin check FILE [--kind K]... [--vectors V.json] [--config C.json] [--json]
                            [--memory-mib N] [--timeout D] [--budget D]

Runs the conformance suite on the plugin module FILE, with the runtime tariffd
uses: static checks, start, the author's golden vectors, adversarial requests,
resource ceilings, determinism and latency (conformance/README.md).

  --kind K         check only kind K (pricing, free_call, transform); repeatable;
                   default: every kind tariff_info declares
  --vectors FILE   golden vectors, JSON (conformance/README.md)
  --config FILE    the plugin's config as JSON: the HCL config block
  --json           print the report as JSON
  --memory-mib N   the plugin's memory_mib (default 32)
  --timeout D      the plugin's call timeout (default 20ms; transform 100ms)
  --budget D       the p99 a call may take (default a quarter of the timeout)

Exit status: 0 every check passed, 1 a check failed, 2 wrong usage.
`

// kindsFlag collects --kind values.
type kindsFlag []plugins.Kind

func (k *kindsFlag) String() string {
	names := make([]string, len(*k))
	for i, x := range *k {
		names[i] = x.String()
	}
	return strings.Join(names, ",")
}

func (k *kindsFlag) Set(v string) error {
	for _, name := range strings.Split(v, ",") {
		kind, ok := plugins.ParseKind(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("unknown kind %q (pricing, free_call or transform)", name)
		}
		*k = append(*k, kind)
	}
	return nil
}

func pluginCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, pluginUsage)
		return exitUsage
	}
	switch args[0] {
	case "check":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return pluginCheck(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, pluginUsage)
		return 0
	}
	fmt.Fprintf(stderr, "tariffd plugin: unknown command %q\n%s", args[0], pluginUsage)
	return exitUsage
}

func pluginCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plugin check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, pluginUsage) }
	var (
		kinds                kindsFlag
		vectorsFile, cfgFile string
		asJSON               bool
		memoryMiB            uint
		timeout, budget      time.Duration
		positional           []string
	)
	fs.Var(&kinds, "kind", "kind to check (repeatable)")
	fs.StringVar(&vectorsFile, "vectors", "", "golden vectors (JSON)")
	fs.StringVar(&cfgFile, "config", "", "the plugin's config (JSON)")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.UintVar(&memoryMiB, "memory-mib", 0, "memory_mib")
	fs.DurationVar(&timeout, "timeout", 0, "call timeout")
	fs.DurationVar(&budget, "budget", 0, "p99 latency budget")
	// Flags may come before or after FILE.
	for {
		if err := fs.Parse(args); err != nil {
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		fmt.Fprintf(stderr, "tariffd plugin check: want one plugin module, got %d arguments\n%s", len(positional), pluginUsage)
		return exitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tariffd plugin check: "+format+"\n", a...)
		return exitUsage
	}
	if budget < 0 || timeout < 0 {
		return usageErr("--timeout and --budget must not be negative")
	}
	file := positional[0]
	wasm, err := os.ReadFile(file)
	if err != nil {
		return usageErr("%v", err)
	}
	opts := conformance.Options{
		Kinds:         kinds,
		Limits:        plugins.Limits{MemoryMiB: uint32(min(memoryMiB, 1<<20)), Timeout: timeout},
		LatencyBudget: budget,
	}
	if cfgFile != "" {
		if opts.Config, err = os.ReadFile(cfgFile); err != nil {
			return usageErr("--config: %v", err)
		}
	}
	if vectorsFile != "" {
		b, err := os.ReadFile(vectorsFile)
		if err != nil {
			return usageErr("--vectors: %v", err)
		}
		if opts.Vectors, err = conformance.ParseVectors(b); err != nil {
			return usageErr("--vectors %s: %v", vectorsFile, err)
		}
	}

	report, err := conformance.Check(ctx, wasm, opts)
	switch {
	case errors.Is(err, conformance.ErrOptions):
		return usageErr("%v", err)
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "tariffd plugin check: interrupted")
		return exitFailed
	case err != nil:
		fmt.Fprintf(stderr, "tariffd plugin check: %v\n", err)
		return exitFailed
	}
	if asJSON {
		err = report.WriteJSON(stdout)
	} else {
		fmt.Fprintf(stdout, "file     %s\n", file)
		err = report.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tariffd plugin check: %v\n", err)
		return exitFailed
	}
	if !report.Passed {
		return exitFailed
	}
	return 0
}
