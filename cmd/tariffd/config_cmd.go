package main

// Configuration commands: "config check" loads what serve would load and
// verifies the plugins without serving; "config migrate" writes a snetd
// JSON file as HCL. The logic lives in host/config and plugins.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tariffd/tariff/host/config"
	"github.com/tariffd/tariff/plugins"
)

const configUsage = `usage:
  tariffd config check [--json] [FILE]...
                         load the configuration files as serve would (merged in order,
                         then SNET_ environment variables; default snetd.config.json),
                         and load and verify every plugin module; print the warnings
                         and "ok", or every error with its file:line:col
  tariffd config migrate [-o FILE [--force]] FILE
                         write the HCL equivalent of a snetd.config.json (or normalize
                         an HCL file) to stdout or FILE
Exit status: 0 valid, 1 invalid or failed, 2 wrong usage.
`

// pluginCheckTimeout bounds loading every plugin of the configuration: a
// module's start is bounded by its own init timeout, this bounds the lot.
const pluginCheckTimeout = 2 * time.Minute

func configCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		return exitUsage
	}
	switch args[0] {
	case "check", "validate":
		return configCheckCmd(args[1:], stdout, stderr)
	case "migrate":
		return configMigrateCmd(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, configUsage)
		return 0
	}
	fmt.Fprintf(stderr, "tariffd config: unknown command %q\n", args[0])
	fmt.Fprint(stderr, configUsage)
	return exitUsage
}

// parseInterleaved parses flags that may come before or after the
// positional arguments ("migrate snetd.config.json -o tariff.hcl") and
// returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// checkReport is config check's result, printed as text or JSON.
type checkReport struct {
	OK       bool            `json:"ok"`
	Files    []string        `json:"files"`
	Plugins  []checkedPlugin `json:"plugins"`
	Warnings []checkProblem  `json:"warnings"`
	Errors   []checkProblem  `json:"errors"`
}

type checkedPlugin struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Path    string   `json:"path"`
	SHA256  string   `json:"sha256"`
	Module  string   `json:"module"` // tariff_info name and version
	Kinds   []string `json:"kinds"`  // what the module implements
	Methods []string `json:"methods"`
}

type checkProblem struct {
	Position string `json:"position"` // file:line:col, file, env or default
	Key      string `json:"key,omitempty"`
	Message  string `json:"message"`
}

func configCheckCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, configUsage) }
	var files multiFlag
	fs.Var(&files, "config", "configuration file (repeatable; same as a FILE argument)")
	fs.Var(&files, "c", "shorthand for --config")
	asJSON := fs.Bool("json", false, "print one JSON document")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage
	}
	files = append(files, pos...)
	if len(files) == 0 {
		files = multiFlag{"snetd.config.json"}
	}

	rep := checkReport{Files: files, Plugins: []checkedPlugin{}, Warnings: []checkProblem{}, Errors: []checkProblem{}}
	cfg, warnings, err := config.Load(files, os.LookupEnv)
	for _, w := range warnings {
		rep.Warnings = append(rep.Warnings, checkProblem{Position: w.Origin.Position(), Key: w.Origin.Key, Message: w.Message})
	}
	if err != nil {
		rep.Errors = append(rep.Errors, problems(err)...)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), pluginCheckTimeout)
		defer cancel()
		log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		checked, err := verifyPlugins(ctx, cfg.Plugins, log)
		rep.Plugins = append(rep.Plugins, checked...)
		if err != nil {
			rep.Errors = append(rep.Errors, problems(err)...)
		}
	}
	rep.OK = len(rep.Errors) == 0

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "tariffd config check: %v\n", err)
			return exitFailed
		}
	} else {
		for _, w := range rep.Warnings {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
		for _, e := range rep.Errors {
			fmt.Fprintf(stdout, "error: %s\n", e)
		}
		if rep.OK {
			fmt.Fprintf(stdout, "ok: %s, %s verified\n", plural(len(rep.Files), "file"), plural(len(rep.Plugins), "plugin"))
		}
	}
	if !rep.OK {
		return exitFailed
	}
	return 0
}

func (p checkProblem) String() string {
	if p.Key == "" || p.Position == "default" {
		s := p.Key
		if s == "" {
			s = p.Position
		}
		return s + ": " + p.Message
	}
	return p.Position + ": " + p.Key + ": " + p.Message
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// problems lists the errors of config.Load (or any error) one by one.
func problems(err error) []checkProblem {
	var errs config.Errors
	if !errors.As(err, &errs) {
		var one *config.Error
		if !errors.As(err, &one) {
			return []checkProblem{{Message: err.Error()}}
		}
		errs = config.Errors{one}
	}
	out := make([]checkProblem, 0, len(errs))
	for _, e := range errs {
		out = append(out, checkProblem{Position: e.Origin.Position(), Key: e.Origin.Key, Message: e.Err.Error()})
	}
	return out
}

// verifyPlugins loads every plugin as the host will (one instance each: the
// others are the same module) and checks that it implements its block's
// kind. Errors carry the block's origin.
func verifyPlugins(ctx context.Context, ps []config.Plugin, log *slog.Logger) ([]checkedPlugin, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	rt, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{Logger: log})
	if err != nil {
		return nil, err
	}
	defer rt.Close(context.Background())
	var out []checkedPlugin
	var errs config.Errors
	fail := func(p config.Plugin, err error) {
		errs = append(errs, &config.Error{Origin: p.Origin, Err: err})
	}
	for _, p := range ps {
		wasm, err := os.ReadFile(p.Path)
		if err != nil {
			fail(p, err)
			continue
		}
		opts := pluginOptions(p)
		opts.Limits.Instances = 1
		loaded, err := rt.Load(ctx, wasm, opts)
		if err != nil {
			fail(p, err)
			continue
		}
		info := loaded.Info()
		_ = loaded.Close(ctx)
		kinds := make([]string, len(info.Kinds))
		for i, k := range info.Kinds {
			kinds[i] = k.String()
		}
		if k, ok := plugins.ParseKind(p.Kind); !ok || !info.Has(k) {
			fail(p, fmt.Errorf("%w %q: module %s %s implements %v, not %s", plugins.ErrInvalid, p.Name, info.Name, info.Version, kinds, p.Kind))
			continue
		}
		out = append(out, checkedPlugin{Name: p.Name, Kind: p.Kind, Path: p.Path, SHA256: p.SHA256,
			Module: info.Name + " " + info.Version, Kinds: kinds, Methods: p.Methods})
	}
	if errs != nil {
		return out, errs
	}
	return out, nil
}

// pluginOptions is how a configured plugin is loaded. The module is pinned
// to the hash read when the configuration was loaded.
func pluginOptions(p config.Plugin) plugins.Options {
	return plugins.Options{
		Name:   p.Name,
		Config: p.Config,
		SHA256: p.SHA256,
		Limits: plugins.Limits{MemoryMiB: p.Limits.MemoryMiB, Timeout: p.Limits.Timeout, Instances: p.Limits.Instances,
			InitTimeout: p.Limits.InitTimeout},
	}
}

func configMigrateCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, configUsage) }
	out := fs.String("o", "", "write the HCL to this file instead of stdout")
	force := fs.Bool("force", false, "overwrite the -o file if it exists")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "tariffd config migrate: want one configuration file")
		fs.Usage()
		return exitUsage
	}
	in := pos[0]
	dir := ""
	if *out != "" {
		dir = filepath.Dir(*out)
		if same(in, *out) {
			fmt.Fprintf(stderr, "tariffd config migrate: -o %s is the file being migrated\n", *out)
			return exitUsage
		}
	}
	hcl, warnings, merr := config.Migrate(in, dir)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if hcl == nil {
		fmt.Fprintf(stderr, "tariffd config migrate:\n%v\n", merr)
		return exitFailed
	}
	if *out == "" {
		if _, err := stdout.Write(hcl); err != nil {
			fmt.Fprintf(stderr, "tariffd config migrate: %v\n", err)
			return exitFailed
		}
	} else if err := writeNew(*out, hcl, *force); err != nil {
		fmt.Fprintf(stderr, "tariffd config migrate: %v\n", err)
		return exitFailed
	}
	if merr != nil {
		fmt.Fprintf(stderr, "tariffd config migrate: migrated, but the configuration is not valid as it is; fix it in its new form:\n%v\n", merr)
		return exitFailed
	}
	return 0
}

// writeNew writes an HCL file that may hold secrets (private keys): owner
// only, and not over an existing file unless forced.
func writeNew(name string, b []byte, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !force {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(name, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists (--force to overwrite it)", name)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
