// Command bench measures paid calls through tariffd against the same backend
// called directly and through a tariffd with payments off, in one run on
// this machine: throughput, latency, CPU time, and what each paid call
// costs in chain RPCs and etcd writes.
//
//	go run ./examples/bench [-calls N] [-workers 1,16] [-nofsync] [-commitfirst] [-cpuprofile FILE]
//
// Everything is real and in this process: the simulated chain with the real
// MultiPartyEscrow, an embedded etcd that syncs to disk as in production, the
// example Calculator on loopback, and tariffd's gRPC server on loopback.
// Clients sign their payments before the clock starts: signing is the
// client's cost, not the daemon's.
package main

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/chaintest"
	"github.com/tariffd/tariff/escrow/etcdserver"
	"github.com/tariffd/tariff/escrow/paidcall"
	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/host"
	svcmeta "github.com/tariffd/tariff/host/metadata"
	"github.com/tariffd/tariff/plugins"
	"github.com/tariffd/tariff/pricing"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

const price = 10

var rounds = 4

func main() {
	calls := flag.Int("calls", 2000, "paid calls per worker count and path")
	workersFlag := flag.String("workers", "1,16", "comma-separated worker counts")
	noFsync := flag.Bool("nofsync", false, "run etcd without fsync (unsafe; shows what the disk costs)")
	roundsFlag := flag.Int("rounds", 4, "rounds of native vs plugin pricing (medians are reported)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of one paid run (native pricing, the last worker count) to this file")
	commitFirst := flag.Bool("commitfirst", false, "store each payment before forwarding (backend.commit_first)")
	flag.Parse()
	var workers []int
	for _, w := range strings.Split(*workersFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bad -workers %q\n", *workersFlag)
			os.Exit(2)
		}
		workers = append(workers, n)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		profile = f
	}
	rounds = max(1, *roundsFlag)
	if err := run(*calls, workers, *noFsync, *commitFirst); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// profile receives the CPU profile of one paid run, if set.
var profile io.Writer

type rig struct {
	sim      *chaintest.Sim
	chain    *escrow.Chain
	channels *escrow.Channels
	direct   calculatorpb.CalculatorClient
	proxy    calculatorpb.CalculatorClient // tariffd with payments off: the cost of the extra hop
	paid     calculatorpb.CalculatorClient
	paidHTTP calculatorpb.CalculatorClient // tariffd paying, in front of the Calculator served as HTTP
	conn     *grpc.ClientConn              // to tariffd
	group    [32]byte
	opened   []*big.Int // channels opened by paid runs, claimed at the end
	users    []*ecdsa.PrivateKey

	srv        *host.Server
	table      *pricing.Table
	runtime    *plugins.Runtime
	pluginPath string    // the go-tiered example, built for the run
	profile    io.Writer // profile the next run into this
}

// Free-call identities of the benchmark.
const (
	benchOrg, benchService, benchGroupName = "org", "svc", "default_group"
)

var freeCallSigner, _ = crypto.ToECDSA(crypto.Keccak256([]byte("bench free-call signer")))

func run(calls int, workers []int, noFsync, commitFirst bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	r, cleanup, err := setup(ctx, noFsync, commitFirst)
	if err != nil {
		return err
	}
	defer cleanup()

	fmt.Printf("tariff benchmark: %d calls per run, unary Calculator.add, price %d cogs\n\n", calls, price)
	fmt.Printf("CPU/call is this process's CPU time (client, tariffd, etcd and backend together) per call.\n\n")
	fmt.Printf("%-8s %-8s %10s %10s %10s %10s %10s %12s %12s\n", "workers", "path", "calls/s", "p50", "p99", "vs direct", "CPU/call", "chain RPC/c", "etcd wr/c")
	for _, w := range workers {
		direct, err := r.load(ctx, w, calls, pathDirect)
		if err != nil {
			return err
		}
		proxy, err := r.load(ctx, w, calls, pathProxy)
		if err != nil {
			return err
		}
		// Native and plugin pricing alternate for a few rounds and each
		// keeps its median run: the disk's fsync makes single runs noisy.
		rpc0, etcd0 := r.chain.Stats().Total(), r.channels.Stats()
		var natives, plugs []result
		for i := range rounds {
			// Which goes first alternates: the second run of a pair tends
			// to be the faster one.
			for j := range 2 {
				plugin := (i+j)%2 == 1
				if err := r.usePolicy(ctx, plugin); err != nil {
					return err
				}
				profiled := profile != nil && !plugin && i == 0 && w == workers[len(workers)-1]
				if profiled {
					r.profile = profile
				}
				res, err := r.load(ctx, w, calls, pathPaid)
				r.profile = nil
				if err != nil {
					return err
				}
				if plugin {
					plugs = append(plugs, res)
				} else {
					natives = append(natives, res)
				}
			}
		}
		paid, plugged := median(natives), median(plugs)
		total := 0
		for _, res := range append(natives, plugs...) {
			total += res.n
		}
		rpcs := float64(r.chain.Stats().Total()-rpc0) / float64(total)
		writes := float64(r.channels.Stats().Swaps-etcd0.Swaps) / float64(total)
		row := func(path string, res result, extra string) {
			fmt.Printf("%-8d %-8s %10.0f %10s %10s %10.2f %10s %s\n", w, path, res.rate(), res.p(50), res.p(99), res.rate()/direct.rate(), res.cpuPerCall(), extra)
		}
		row("direct", direct, fmt.Sprintf("%12s %12s", "-", "-"))
		row("proxy", proxy, fmt.Sprintf("%12s %12s", "-", "-"))
		row("tariffd", paid, fmt.Sprintf("%12.3f %12.3f", rpcs, writes))
		fmt.Printf("%-8s added p50 latency: %s (proxying alone: %s); added CPU per call: %s (proxying alone: %s)\n", "",
			(paid.lat(50) - direct.lat(50)).Round(time.Microsecond), (proxy.lat(50) - direct.lat(50)).Round(time.Microsecond),
			(paid.cpu/time.Duration(paid.n) - direct.cpu/time.Duration(direct.n)).Round(time.Microsecond),
			(proxy.cpu/time.Duration(proxy.n) - direct.cpu/time.Duration(direct.n)).Round(time.Microsecond))
		viaHTTP, err := r.load(ctx, w, calls, pathHTTP)
		if err != nil {
			return err
		}
		row("http", viaHTTP, fmt.Sprintf("%12s %12s", "-", "-"))
		fmt.Printf("%-8s service_type http (JSON over HTTP/1.1 to the service): p50 %+s, CPU per call %+s vs the gRPC service\n", "",
			(viaHTTP.lat(50) - paid.lat(50)).Round(time.Microsecond),
			(viaHTTP.cpu/time.Duration(viaHTTP.n) - paid.cpu/time.Duration(paid.n)).Round(time.Microsecond))
		row("+plugin", plugged, fmt.Sprintf("%12s %12s", "-", "-"))
		fmt.Printf("%-8s pricing plugin (medians of %d rounds): p50 %+s, throughput %+.1f%% vs native pricing\n", "", rounds,
			(plugged.lat(50) - paid.lat(50)).Round(time.Microsecond), 100*(plugged.rate()/paid.rate()-1))

		// And while the configuration is reloaded once a second (a longer
		// run, so that several reloads happen during it).
		reloads, stop := r.reloadEverySecond(ctx)
		reloading, err := r.load(ctx, w, 3*calls, pathPaid)
		stop()
		if err != nil {
			return err
		}
		row("+reload", reloading, fmt.Sprintf("%12s %12s", "-", "-"))
		fmt.Printf("%-8s %d reloads during the run: p99 %s vs %s without, throughput %+.1f%%\n", "",
			reloads(), reloading.p(99), plugged.p(99), 100*(reloading.rate()/plugged.rate()-1))
		if err := r.useNative(); err != nil {
			return err
		}

		free, err := r.loadFree(ctx, w, calls)
		if err != nil {
			return err
		}
		row("freecall", free, fmt.Sprintf("%12s %12s\n", "-", "-"))
	}
	return r.claimAll(ctx)
}

// usePlugin swaps in a policy whose pricing plugin (the go-tiered example)
// charges the same price as the metadata, so payments do not change.
func (r *rig) usePlugin(ctx context.Context) error {
	wasm, err := os.ReadFile(r.pluginPath)
	if err != nil {
		return err
	}
	p, err := r.runtime.Load(ctx, wasm, plugins.Options{Name: "tiered",
		Config: []byte(`{"methods":{"/example_service.Calculator/add":{"base":` + strconv.Itoa(price) + `}}}`)})
	if err != nil {
		return err
	}
	policy, err := pricing.NewPolicy(r.table, []pricing.Rule{{Name: "tiered", Kind: plugins.KindPricing,
		Methods: []string{"/example_service.Calculator/*"}, Plugin: p}}, nil)
	if err != nil {
		_ = p.Close(ctx)
		return err
	}
	r.srv.SetPolicy(policy)
	return nil
}

func (r *rig) usePolicy(ctx context.Context, plugin bool) error {
	if plugin {
		return r.usePlugin(ctx)
	}
	return r.useNative()
}

func (r *rig) useNative() error {
	policy, err := pricing.NewPolicy(r.table, nil, nil)
	if err != nil {
		return err
	}
	r.srv.SetPolicy(policy)
	return nil
}

// reloadEverySecond swaps in a freshly loaded plugin policy once a second,
// as a reload does, until stop; reloads reports how many happened.
func (r *rig) reloadEverySecond(ctx context.Context) (reloads func() int, stop func()) {
	var n atomic.Int64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := r.usePlugin(ctx); err == nil {
					n.Add(1)
				}
			}
		}
	}()
	return func() int { return int(n.Load()) }, func() { close(done); <-finished }
}

// claimAll plays the provider: one StartClaim per channel the paid runs used.
func (r *rig) claimAll(ctx context.Context) error {
	control := escrowpb.NewProviderControlServiceClient(r.conn)
	mpe, key := r.sim.Contracts.MPE, r.sim.Provider.Key
	start := time.Now()
	for _, id := range r.opened {
		msg, err := escrow.StartClaimMessage(mpe, id, new(big.Int))
		if err != nil {
			return err
		}
		sig, err := escrow.Sign(msg, key)
		if err != nil {
			return err
		}
		if _, err := control.StartClaim(ctx, &escrowpb.StartClaimRequest{MpeAddress: mpe.Hex(), ChannelId: id.Bytes(), Signature: sig}); err != nil {
			return fmt.Errorf("claim channel %s: %w", id, err)
		}
	}
	d := time.Since(start)
	fmt.Printf("provider claims: %d channels started in %s (%s per claim, each one etcd transaction)\n",
		len(r.opened), d.Round(time.Millisecond), (d / time.Duration(max(1, len(r.opened)))).Round(time.Microsecond))
	return nil
}

// loadFree runs free calls, one user per worker (each with an unlimited
// allowance), through tariffd.
func (r *rig) loadFree(ctx context.Context, workers, calls int) (result, error) {
	head, err := r.sim.Head(ctx)
	if err != nil {
		return result{}, err
	}
	state := escrowpb.NewFreeCallStateServiceClient(r.conn)
	group := base64.StdEncoding.EncodeToString(r.group[:])
	mds := make([][]metadata.MD, workers)
	for w := range workers {
		key := r.users[w]
		addr := crypto.PubkeyToAddress(key.PublicKey).Hex()
		sig, err := escrow.Sign(escrow.FreeCallTokenRequestMessage(addr, "", benchOrg, benchService, group, head), key)
		if err != nil {
			return result{}, err
		}
		tok, err := state.GetFreeCallToken(ctx, &escrowpb.GetFreeCallTokenRequest{Address: addr, Signature: sig, CurrentBlock: head})
		if err != nil {
			return result{}, fmt.Errorf("free-call token: %w", err)
		}
		// The call signature covers the block and the token, not a counter:
		// one per user serves every call of the run.
		sig, err = escrow.Sign(escrow.FreeCallMessage(addr, "", benchOrg, benchService, group, head, tok.GetToken()), key)
		if err != nil {
			return result{}, err
		}
		md := metadata.Pairs(escrow.HeaderPaymentType, escrow.PaymentTypeFreeCall, escrow.HeaderFreeCallUserAddress, addr,
			escrow.HeaderCurrentBlockNumber, strconv.FormatUint(head, 10), escrow.HeaderFreeCallAuthToken, string(tok.GetToken()),
			escrow.HeaderChannelSignature, string(sig))
		for range calls / workers {
			mds[w] = append(mds[w], md)
		}
	}
	return r.run(ctx, r.paid, workers, mds)
}

func setup(ctx context.Context, noFsync, commitFirst bool) (*rig, func(), error) {
	var closers []func()
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*rig, func(), error) { cleanup(); return nil, nil, err }

	dir, err := os.MkdirTemp("", "tariff-bench-")
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { _ = os.RemoveAll(dir) })
	ports, err := etcdserver.FreePorts(2)
	if err != nil {
		return fail(err)
	}
	etcd, err := etcdserver.Start(ctx, etcdserver.Config{DataDir: dir, LogLevel: "error", NoFsync: noFsync,
		ClientURL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), PeerURL: fmt.Sprintf("http://127.0.0.1:%d", ports[1])})
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { _ = etcd.Close() })
	sim, err := chaintest.NewSim(ctx)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { _ = sim.Close() })

	r := &rig{sim: sim}
	copy(r.group[:], crypto.Keccak256([]byte("bench")))
	r.chain = escrow.NewChain(sim.Client(), sim.Contracts.MPE, escrow.ChainOptions{})
	go func() { _ = r.chain.Run(ctx) }()
	keys := escrow.NewKeys("bench", benchOrg, base64.StdEncoding.EncodeToString(r.group[:]), sim.Contracts.MPE)
	r.channels = escrow.NewChannels(escrow.NewStore(etcd.Client(), keys, 0), r.chain, escrow.Group{
		MPE: sim.Contracts.MPE, ID: r.group, PaymentAddress: sim.Provider.Address, ExpirationThreshold: 100,
	}, nil)
	table, err := pricing.NewTable([]pricing.PriceEntry{{Model: "fixed_price", PriceInCogs: big.NewInt(price), Default: true}})
	if err != nil {
		return fail(err)
	}

	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	go func() { _ = calculator.Serve(ctx, backend) }()
	// Free calls: one user per worker, each with an unlimited allowance.
	perAddress := map[common.Address]int{}
	for i := range 64 {
		key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("bench user " + strconv.Itoa(i))))
		r.users = append(r.users, key)
		perAddress[crypto.PubkeyToAddress(key.PublicKey)] = escrow.FreeCallsUnlimited
	}
	freeCalls, err := escrow.NewFreeCalls(escrow.FreeCallOptions{
		OrgID: benchOrg, ServiceID: benchService, GroupName: benchGroupName, GroupIDBase64: base64.StdEncoding.EncodeToString(r.group[:]),
		SigningKey: freeCallSigner, SignerAddress: crypto.PubkeyToAddress(freeCallSigner.PublicKey),
		PerAddress: perAddress, Head: r.chain, Store: r.channels.Store(),
	})
	if err != nil {
		return fail(err)
	}
	srv, err := host.NewServer(host.ServerOptions{
		ServiceEndpoint: backend.Addr().String(), Channels: r.channels, Table: table, ServiceTimeout: time.Minute,
		CommitFirst: commitFirst,
		Payments:    map[string]host.PaymentHandler{escrow.PaymentTypeFreeCall: host.FreeCallHandler(freeCalls)},
		Register: func(s *grpc.Server) {
			escrowpb.RegisterProviderControlServiceServer(s, escrow.NewControlService(r.channels))
			escrowpb.RegisterFreeCallStateServiceServer(s, escrow.NewFreeCallStateService(freeCalls))
		},
	})
	if err != nil {
		return fail(err)
	}
	r.srv, r.table = srv, table
	if r.runtime, err = plugins.NewRuntime(ctx, plugins.RuntimeOptions{}); err != nil {
		return fail(err)
	}
	closers = append(closers, func() { _ = r.runtime.Close(context.Background()) })
	r.pluginPath = filepath.Join(dir, "go-tiered.wasm")
	build := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-o", r.pluginPath, "./examples/plugins/go-tiered")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("build the go-tiered plugin (run from the repository root): %v: %s", err, out))
	}
	proxy, err := host.NewServer(host.ServerOptions{ServiceEndpoint: backend.Addr().String(), ServiceTimeout: time.Minute})
	if err != nil {
		return fail(err)
	}
	// The same Calculator as an HTTP service, and tariffd converting to it.
	httpBackend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	httpSrv := &http.Server{Handler: calculator.HTTPHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = httpSrv.Serve(httpBackend) }()
	closers = append(closers, func() { _ = httpSrv.Close() })
	api, err := svcmeta.CompileAPI(ctx, calculator.APIArchive())
	if err != nil {
		return fail(err)
	}
	viaHTTP, err := host.NewServer(host.ServerOptions{
		ServiceType: "http", API: api, ServiceEndpoint: httpBackend.Addr().String(),
		Channels: r.channels, Table: table, ServiceTimeout: time.Minute, CommitFirst: commitFirst,
	})
	if err != nil {
		return fail(err)
	}
	var fronts []string
	for _, s := range []*host.Server{proxy, srv, viaHTTP} {
		front, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		done := make(chan struct{})
		sctx, stop := context.WithCancel(ctx)
		go func() { _ = s.Serve(sctx, front); close(done) }()
		closers = append(closers, func() { stop(); <-done })
		fronts = append(fronts, front.Addr().String())
	}

	for _, c := range []struct {
		addr string
		dst  *calculatorpb.CalculatorClient
	}{{backend.Addr().String(), &r.direct}, {fronts[0], &r.proxy}, {fronts[2], &r.paidHTTP}, {fronts[1], &r.paid}} {
		conn, err := grpc.NewClient(c.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func() { _ = conn.Close() })
		*c.dst = calculatorpb.NewCalculatorClient(conn)
		r.conn = conn // the last one is tariffd's
	}
	return r, cleanup, nil
}

// median is the run with the median throughput.
func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int { return cmp.Compare(a.rate(), b.rate()) })
	return s[len(s)/2]
}

type result struct {
	n       int
	elapsed time.Duration
	cpu     time.Duration // this process's CPU time during the run
	lats    []time.Duration
}

func (r result) cpuPerCall() string {
	if r.n == 0 {
		return "-"
	}
	return fmt.Sprintf("%dµs", (r.cpu / time.Duration(r.n)).Microseconds())
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }
func (r result) lat(p int) time.Duration {
	if len(r.lats) == 0 {
		return 0
	}
	return r.lats[min(len(r.lats)-1, len(r.lats)*p/100)]
}
func (r result) p(p int) string {
	return fmt.Sprintf("%.3fms", float64(r.lat(p).Microseconds())/1000)
}

// The paths a call takes to the Calculator.
type path int

const (
	pathDirect path = iota // the backend itself
	pathProxy              // through tariffd with payments off
	pathPaid               // through tariffd, paying
	pathHTTP               // through tariffd, paying, to the HTTP Calculator (service_type http)
)

// load runs calls calls spread over workers goroutines; paid calls go
// through tariffd, each worker on its own channel with pre-signed payments.
func (r *rig) load(ctx context.Context, workers, calls int, via path) (result, error) {
	per := calls / workers
	payments := make([][]metadata.MD, workers)
	if via == pathPaid || via == pathHTTP {
		head, err := r.sim.Head(ctx)
		if err != nil {
			return result{}, err
		}
		for w := range workers {
			id, err := r.sim.Contracts.DepositAndOpenChannel(ctx, r.sim.Sender.Opts(), r.sim.Sender.Address, r.sim.Provider.Address,
				r.group, big.NewInt(int64(per+1)*price), new(big.Int).SetUint64(head+1_000_000))
			if err != nil {
				return result{}, err
			}
			r.opened = append(r.opened, id)
			payer := paidcall.NewPayer(r.sim.Sender.Key, r.sim.Contracts.MPE, id, new(big.Int), new(big.Int))
			for i := range per {
				md, err := payer.Metadata(new(big.Int), big.NewInt(int64(i+1)*price))
				if err != nil {
					return result{}, err
				}
				payments[w] = append(payments[w], md)
			}
		}
	}
	switch via {
	case pathPaid:
		return r.run(ctx, r.paid, workers, payments)
	case pathHTTP:
		return r.run(ctx, r.paidHTTP, workers, payments)
	case pathProxy:
		return r.run(ctx, r.proxy, workers, unpaid(workers, per))
	}
	return r.run(ctx, r.direct, workers, unpaid(workers, per))
}

func unpaid(workers, per int) [][]metadata.MD {
	mds := make([][]metadata.MD, workers)
	for w := range workers {
		mds[w] = make([]metadata.MD, per)
	}
	return mds
}

// run makes the calls, mds[w][i] being the metadata of worker w's call i.
func (r *rig) run(ctx context.Context, client calculatorpb.CalculatorClient, workers int, mds [][]metadata.MD) (result, error) {
	// Warm the connection outside the clock (unpaid: tariffd may refuse it).
	_, _ = client.Add(ctx, &calculatorpb.Numbers{A: 1, B: 1})
	lats := make([][]time.Duration, workers)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	if r.profile != nil {
		if err := pprof.StartCPUProfile(r.profile); err != nil {
			return result{}, err
		}
		defer pprof.StopCPUProfile()
	}
	cpu0 := processCPU()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lats[w] = make([]time.Duration, 0, len(mds[w]))
			for i, md := range mds[w] {
				cctx := ctx
				if md != nil {
					cctx = metadata.NewOutgoingContext(ctx, md)
				}
				t0 := time.Now()
				if _, err := client.Add(cctx, &calculatorpb.Numbers{A: 1, B: 2}); err != nil {
					errs <- fmt.Errorf("worker %d call %d: %w", w, i, err)
					return
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	res := result{elapsed: time.Since(start), cpu: processCPU() - cpu0}
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	for _, l := range lats {
		res.lats = append(res.lats, l...)
	}
	slices.Sort(res.lats)
	res.n = len(res.lats)
	return res, nil
}
