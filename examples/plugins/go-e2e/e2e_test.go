// Package e2e runs the Go example plugins, built for wasip1, in tariffd's
// plugin host (package plugins): the same modules an operator loads, with
// the SDK's real tariff_v1 imports instead of the fake host.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tariffd/tariff/plugins"
)

var ctx = context.Background()

// build compiles examples/plugins/NAME with GOOS=wasip1 -buildmode=c-shared.
func build(t *testing.T, name string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds Go reactors: slow")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("no go toolchain")
		}
	}
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command(goTool, "build", "-buildmode=c-shared", "-trimpath", "-o", out, ".")
	cmd.Dir = filepath.Join("..", name)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

func load(t *testing.T, wasm []byte, config string) *plugins.Plugin {
	t.Helper()
	rt, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	sum := sha256.Sum256(wasm)
	p, err := rt.Load(ctx, wasm, plugins.Options{
		Config: []byte(config),
		SHA256: hex.EncodeToString(sum[:]),
		Limits: plugins.Limits{MemoryMiB: 16, Instances: 2, Timeout: time.Second, InitTimeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func input(method string, meta ...string) *plugins.Input {
	in := &plugins.Input{Meta: map[string][]string{}}
	in.SetString(plugins.FieldMethod, method)
	in.SetString(plugins.FieldCaller, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
	in.SetString(plugins.FieldPaymentType, "escrow")
	in.SetU64(plugins.FieldChannelID, 1)
	in.SetU64(plugins.FieldRequestTimeUnixMS, 1_700_000_000_000)
	for i := 0; i+1 < len(meta); i += 2 {
		in.Meta[meta[i]] = append(in.Meta[meta[i]], meta[i+1])
	}
	return in
}

func TestTiered(t *testing.T) {
	p := load(t, build(t, "go-tiered"), `{
		"methods": {"/example_service.Calculator/add": {"base": 10, "tiers": [{"over_bytes": 1024, "price": 25}]}},
		"priority_header": "x-priority", "priority_percent": {"high": 300}}`)
	if p.Info().Name != "go-tiered" || !p.Info().Has(plugins.KindPricing) {
		t.Fatalf("info %+v", p.Info())
	}
	long := strings.Repeat("p", 5000) // longer than the SDK's first buffer: the retry path
	for _, c := range []struct {
		in     *plugins.Input
		body   int
		status plugins.Status
		price  uint64
		code   uint32
	}{
		{input("/example_service.Calculator/add"), 10, plugins.StatusOK, 10, 0},
		{input("/example_service.Calculator/add"), 2000, plugins.StatusOK, 25, 0},
		{input("/example_service.Calculator/add", "x-priority", "high"), 2000, plugins.StatusOK, 75, 0},
		{input("/example_service.Calculator/add", "x-priority", long), 0, plugins.StatusDeny, 0, 3},
		{input("/example_service.Calculator/div"), 0, plugins.StatusPass, 0, 0},
	} {
		c.in.Body = make([]byte, c.body)
		res, err := p.Call(ctx, plugins.KindPricing, c.in)
		if err != nil || res.Status != c.status || res.Price != c.price || res.Code != c.code {
			t.Errorf("%v: %+v, %v; want %v %d", c.in.Meta, res, err, c.status, c.price)
		}
	}
}

func TestTieredBadConfig(t *testing.T) {
	wasm := build(t, "go-tiered")
	rt, err := plugins.NewRuntime(ctx, plugins.RuntimeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	_, err = rt.Load(ctx, wasm, plugins.Options{Config: []byte(`{"methods": {}}`),
		Limits: plugins.Limits{InitTimeout: 10 * time.Second}})
	if err == nil || !strings.Contains(err.Error(), "tariff_init returned 1") {
		t.Errorf("bad config: %v", err)
	}
}

func TestDailyAllowance(t *testing.T) {
	p := load(t, build(t, "go-daily-allowance"), `{"per_day": 10, "since": "2023-11-13"}`)
	in := input("/example_service.Calculator/add") // 2023-11-14: day 2, allowance 20
	in.SetString(plugins.FieldPaymentType, "free-call")
	for used, want := range map[uint64]uint64{0: 20, 19: 1} {
		in.SetU64(plugins.FieldFreeCallsUsed, used)
		res, err := p.Call(ctx, plugins.KindFreeCall, in)
		if err != nil || res.Status != plugins.StatusOK || !res.FreeCall || res.FreeCallsRemaining != want {
			t.Errorf("used %d: %+v, %v", used, res, err)
		}
	}
	in.SetU64(plugins.FieldFreeCallsUsed, 20)
	res, err := p.Call(ctx, plugins.KindFreeCall, in)
	if err != nil || res.Status != plugins.StatusDeny || res.Code != 8 || !strings.Contains(res.Message, "more on 2023-11-15 (UTC)") {
		t.Errorf("used up: %+v, %v", res, err)
	}
}

func TestTransform(t *testing.T) {
	p := load(t, build(t, "go-transform"), `{"tiers": {"0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED": "gold"}}`)
	body := bytes.Repeat([]byte{0x0d, 0, 0, 0x80, 0x3f}, 100_000) // 500 kB: copied in chunks
	in := input("/example_service.Calculator/add", "x-tariff-tier", "forged")
	in.Body = body
	res, err := p.Call(ctx, plugins.KindTransform, in)
	if err != nil || res.Status != plugins.StatusOK {
		t.Fatalf("%+v, %v", res, err)
	}
	// Field 15, varint 1_700_000_000_000.
	want := append(append([]byte{}, body...), 0x78, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31)
	if !bytes.Equal(res.Body, want) {
		t.Errorf("body: %d bytes, ends %x", len(res.Body), res.Body[len(res.Body)-8:])
	}
	if got := res.Meta["x-tariff-tier"]; len(got) != 1 || got[0] != "gold" {
		t.Errorf("meta %v", res.Meta)
	}
}

// TestDeterministic runs one request on both instances, in parallel, and
// after many calls: the answers never change.
func TestDeterministic(t *testing.T) {
	p := load(t, build(t, "go-tiered"), `{"methods": {"/a/b": {"base": 7, "tiers": [{"over_bytes": 3, "price": 9}]}}}`)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				in := input("/a/b")
				in.Body = make([]byte, i%5)
				want := uint64(7)
				if i%5 > 3 {
					want = 9
				}
				res, err := p.Call(ctx, plugins.KindPricing, in)
				if err != nil || res.Price != want {
					t.Errorf("call %d: %+v, %v", i, res, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
