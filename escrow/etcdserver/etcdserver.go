// Package etcdserver runs etcd inside the tariffd process: the default,
// single-member payment storage (snet-daemon's payment_channel_storage_server),
// and real multi-member clusters for replica tests.
package etcdserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/soheilhy/cmux"
	"go.etcd.io/etcd/client/pkg/v3/logutil"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
)

// Config describes one member. Zero values take snet-daemon's defaults.
type Config struct {
	Name           string        // member name; default "storage-1"
	DataDir        string        // default "storage-data-dir-1.etcd"
	ClientURL      string        // default "http://127.0.0.1:2379"
	PeerURL        string        // default "http://127.0.0.1:2380"
	InitialCluster string        // "name=peerURL,..."; default this member alone
	ClusterToken   string        // default "unique-token"
	StartupTimeout time.Duration // default 1m
	LogLevel       string        // default "info"; etcd's own zap log
	LogOutputs     []string      // default ["stderr"]
	// NoFsync trades durability for speed. Tests only: a payment must survive a crash.
	NoFsync bool
}

// Server is a running member.
type Server struct {
	etcd   *embed.Etcd
	client *clientv3.Client
}

// Start starts a member and waits until it serves (or the startup timeout passes).
func Start(ctx context.Context, c Config) (*Server, error) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Name, "storage-1")
	def(&c.DataDir, "storage-data-dir-1.etcd")
	def(&c.ClientURL, "http://127.0.0.1:2379")
	def(&c.PeerURL, "http://127.0.0.1:2380")
	def(&c.InitialCluster, c.Name+"="+c.PeerURL)
	def(&c.ClusterToken, "unique-token")
	def(&c.LogLevel, "info")
	if c.StartupTimeout <= 0 {
		c.StartupTimeout = time.Minute
	}
	if len(c.LogOutputs) == 0 {
		c.LogOutputs = []string{"stderr"}
	}
	clientURL, err := url.Parse(c.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("etcd client url %q: %w", c.ClientURL, err)
	}
	peerURL, err := url.Parse(c.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("etcd peer url %q: %w", c.PeerURL, err)
	}

	cfg := embed.NewConfig()
	cfg.Name = c.Name
	cfg.Dir = c.DataDir
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = c.InitialCluster
	cfg.InitialClusterToken = c.ClusterToken
	cfg.LogLevel = c.LogLevel
	cfg.LogOutputs = c.LogOutputs
	lg, err := newLogger(c.LogLevel, c.LogOutputs)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd %s log: %w", c.Name, err)
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	cfg.UnsafeNoFsync = c.NoFsync
	cfg.EnableGRPCGateway = false
	// The in-process client talks to the server directly; keep the
	// history small, payments only need the latest value per key.
	cfg.AutoCompactionMode = "revision"
	cfg.AutoCompactionRetention = "10000"

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd %s: %w", c.Name, err)
	}
	timer := time.NewTimer(c.StartupTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd %s: %w", c.Name, err)
	case <-timer.C:
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedded etcd %s: not ready after %s", c.Name, c.StartupTimeout)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Server{etcd: e, client: v3client.New(e.Server)}, nil
}

// Client is an in-process client: no network hop, no serialisation over a socket.
func (s *Server) Client() *clientv3.Client { return s.client }

// Endpoints are the client URLs other processes (replicas, the CLI) dial.
func (s *Server) Endpoints() []string {
	out := make([]string, 0, len(s.etcd.Clients))
	for _, l := range s.etcd.Clients {
		out = append(out, "http://"+l.Addr().String())
	}
	return out
}

// Close stops the member.
func (s *Server) Close() error {
	err := s.client.Close()
	s.etcd.Close()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// FreePorts reserves n loopback TCP ports for tests and local clusters.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// StartCluster starts a real n-member cluster on loopback in dir; each member
// is a full etcd server with its own raft log. Close every returned server.
func StartCluster(ctx context.Context, dir string, n int, noFsync bool) ([]*Server, error) {
	ports, err := FreePorts(2 * n)
	if err != nil {
		return nil, err
	}
	names := make([]string, n)
	peers := make([]string, n)
	for i := range n {
		names[i] = "member-" + strconv.Itoa(i+1)
		peers[i] = names[i] + "=http://127.0.0.1:" + strconv.Itoa(ports[2*i+1])
	}
	type result struct {
		i   int
		s   *Server
		err error
	}
	ch := make(chan result, n)
	for i := range n {
		go func() {
			s, err := Start(ctx, Config{
				Name:           names[i],
				DataDir:        fmt.Sprintf("%s/%s.etcd", dir, names[i]),
				ClientURL:      "http://127.0.0.1:" + strconv.Itoa(ports[2*i]),
				PeerURL:        "http://127.0.0.1:" + strconv.Itoa(ports[2*i+1]),
				InitialCluster: strings.Join(peers, ","),
				ClusterToken:   "tariff-test",
				LogLevel:       "error",
				NoFsync:        noFsync,
			})
			ch <- result{i, s, err}
		}()
	}
	servers := make([]*Server, n)
	var errs []error
	for range n {
		r := <-ch
		servers[r.i] = r.s
		errs = append(errs, r.err)
	}
	if err := errors.Join(errs...); err != nil {
		for _, s := range servers {
			if s != nil {
				_ = s.Close()
			}
		}
		return nil, err
	}
	return servers, nil
}

// newLogger is etcd's own logger (its format, level and outputs), except
// that it leaves out the errors every shutdown produces: etcd logs each
// listener it closes as "setting up serving from embedded etcd failed".
func newLogger(level string, outputs []string) (*zap.Logger, error) {
	zc := logutil.DefaultZapLoggerConfig
	paths := make([]string, len(outputs))
	for i, o := range outputs {
		if o == embed.DefaultLogOutput {
			o = embed.StdErrLogOutput
		}
		paths[i] = o
	}
	zc.OutputPaths, zc.ErrorOutputPaths = paths, paths
	zc.Level = zap.NewAtomicLevelAt(logutil.ConvertToZapLevel(level))
	return zc.Build(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return quietShutdown{c} }))
}

type quietShutdown struct{ zapcore.Core }

func (q quietShutdown) With(fields []zapcore.Field) zapcore.Core {
	return quietShutdown{q.Core.With(fields)}
}

func (q quietShutdown) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if q.Enabled(e.Level) {
		return ce.AddCore(e, q)
	}
	return ce
}

func (q quietShutdown) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if e.Message == "setting up serving from embedded etcd failed." {
		for _, f := range fields {
			if err, ok := f.Interface.(error); ok && f.Key == "error" && closedOnShutdown(err) {
				return nil
			}
		}
	}
	return q.Core.Write(e, fields)
}

func closedOnShutdown(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) ||
		errors.Is(err, cmux.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped)
}
