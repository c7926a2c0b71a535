package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/improbable-eng/grpc-web/go/grpcweb"
	"github.com/soheilhy/cmux"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/host/config"
	"github.com/tariffd/tariff/host/metadata"
	"github.com/tariffd/tariff/host/metering"
	"github.com/tariffd/tariff/pricing"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
	tariffpb "github.com/tariffd/tariff/proto/tariff"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
)

// ServerOptions are the parts of a running front door, already built.
type ServerOptions struct {
	// ServiceType is how calls reach the service (service_type): "grpc"
	// (the default), "http", "jsonrpc" or "process".
	ServiceType string
	// ServiceEndpoint is the AI service's address (host:port, or an
	// http:// or https:// URL); unused by type process.
	ServiceEndpoint string
	// API is the service's compiled API; type http needs it to convert
	// messages to JSON (unless Encoding is json).
	API *metadata.API
	// Credentials are added to type http requests (service_credentials).
	Credentials []config.Credential
	// ExecutablePath is the program type process runs.
	ExecutablePath string
	// Encoding is the service metadata "encoding" ("proto" or "json").
	Encoding string
	// Echo answers every call with its first request (passthrough_enabled=false).
	Echo bool
	// CommitFirst stores escrow payments before forwarding, instead of
	// while the service works (the answer waits for the payment either way).
	CommitFirst bool
	// RateLimit bounds calls to the service (a token bucket, as
	// snet-daemon's); PerMinute 0 is unlimited.
	RateLimit config.RateLimit
	// Switch stops and starts calls to the service (the configuration
	// service's stop switch); nil: always on.
	Switch *Switch
	// Metering receives a record of every call to the service; nil: off.
	Metering *metering.Reporter
	// ServiceTimeout applies to calls that carry no deadline.
	ServiceTimeout time.Duration
	// MaxMessageBytes caps messages both ways (0: gRPC's 4 MiB default).
	MaxMessageBytes int
	// Channels takes escrow payments; nil disables payment checks.
	Channels *escrow.Channels
	// Policy prices calls, decides free calls and transforms requests (the
	// initial configuration snapshot; SetPolicy replaces it). Nil: the
	// prices of Table alone.
	Policy *pricing.Policy
	// Table is the metadata's price table, used when Policy is nil.
	Table *pricing.Table
	// OrgID, ServiceID and GroupID (base64) are what plugins see of the daemon.
	OrgID, ServiceID, GroupID string
	// Payments adds handlers for other payment types (free-call,
	// prepaid-call), keyed by snet-payment-type; without Channels they are
	// the only ones (CuratedHandler without a chain).
	Payments map[string]PaymentHandler
	// Register adds the daemon's own gRPC services (beside
	// PaymentChannelStateService, which comes with Channels).
	Register func(*grpc.Server)
	// Heartbeat answers /heartbeat, /encoding and grpc.health.v1; nil
	// reports the daemon as serving with no service probe.
	Heartbeat *Heartbeat
	Log       *slog.Logger
}

// Server is one port that serves the daemon's services and proxies every
// other method to the AI service after payment.
type Server struct {
	grpc     *grpc.Server
	http     *http.Server // HTTP/1 on the same port: gRPC-Web, /heartbeat, /encoding, /metrics
	backend  backend
	pipeline *pipeline
	log      *slog.Logger
}

// NewServer builds the gRPC server; Serve starts it.
func NewServer(o ServerOptions) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	policy := o.Policy
	if policy == nil {
		if o.Channels != nil && o.Table == nil {
			return nil, errors.New("payments need a price table or a policy")
		}
		var err error
		if policy, err = pricing.NewPolicy(o.Table, nil, o.Log); err != nil {
			return nil, err
		}
	}
	b, err := newBackend(o)
	if err != nil {
		return nil, err
	}
	p := &pipeline{backend: b, timeout: o.ServiceTimeout, log: o.Log, policies: newPolicies(policy, o.Log), commitFirst: o.CommitFirst,
		ids: requestIDs{ServiceID: o.ServiceID, OrgID: o.OrgID, GroupID: o.GroupID}}
	if o.Metering != nil {
		p.meter = o.Metering
	}
	p.sw = o.Switch
	if rl := o.RateLimit; rl.PerMinute > 0 {
		burst := rl.Burst
		if burst == 0 {
			burst = config.UnlimitedBurst
		}
		p.limiter = rate.NewLimiter(rate.Limit(rl.PerMinute/60), burst)
	}
	if o.Channels != nil || len(o.Payments) > 0 {
		p.handlers = map[string]PaymentHandler{}
		if o.Channels != nil {
			p.handlers[escrow.PaymentTypeEscrow] = EscrowHandler(o.Channels)
		}
		for typ, h := range o.Payments {
			p.handlers[typ] = h
		}
	}
	opts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(newRawCodec()),
		grpc.UnknownServiceHandler(p.handle),
		grpc.NumStreamWorkers(uint32(runtime.NumCPU())),
	}
	if o.MaxMessageBytes > 0 {
		opts = append(opts, grpc.MaxRecvMsgSize(o.MaxMessageBytes), grpc.MaxSendMsgSize(o.MaxMessageBytes))
	}
	gs := grpc.NewServer(opts...)
	if o.Channels != nil {
		escrowpb.RegisterPaymentChannelStateServiceServer(gs, escrow.NewStateService(o.Channels))
	}
	if o.Register != nil {
		o.Register(gs)
	}
	hb := o.Heartbeat
	if hb == nil {
		hb = &Heartbeat{Encoding: o.Encoding}
	}
	healthpb.RegisterHealthServer(gs, health{hb: hb})
	registerNoTraining(gs)
	tariffpb.RegisterQuoteServiceServer(gs, &quoteService{p: p, channels: o.Channels})
	// Browsers (snet-dapp) speak gRPC-Web over HTTP/1.1 to the same port:
	// any origin, and unregistered services (the AI service's) allowed.
	web := grpcweb.WrapServer(gs,
		grpcweb.WithOriginFunc(func(string) bool { return true }),
		grpcweb.WithCorsForRegisteredEndpointsOnly(false),
		grpcweb.WithAllowNonRootResource(true))
	httpHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if web.IsGrpcWebRequest(r) || web.IsAcceptableGrpcCorsRequest(r) {
			web.ServeHTTP(w, r)
			return
		}
		hb.ServeHTTP(w, r)
	})
	// HTTP/2 reaches this server already decrypted (after TLS and the
	// multiplexer), so it is served as unencrypted HTTP/2.
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true) // over TLS on its own port (traffic_split)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{Handler: httpHandler, ReadHeaderTimeout: 10 * time.Second, Protocols: protocols}
	return &Server{grpc: gs, http: hs, backend: b, pipeline: p, log: o.Log}, nil
}

// SetPolicy swaps in a new configuration snapshot: new calls use it at
// once, calls already running finish on the one they started with, which
// is then closed.
func (s *Server) SetPolicy(p *pricing.Policy) { s.pipeline.policies.swap(p) }

// Serve serves on lis until ctx is done, then stops gracefully: in-flight
// calls finish (and commit or roll back their payments) before it returns.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	// One port, as upstream (mux.go): gRPC goes to the gRPC server; HTTP/1
	// and other HTTP/2 (gRPC-Web from browsers over TLS) to the HTTP one.
	m := cmux.New(lis)
	grpcL := m.MatchWithWriters(isGRPC)
	h2L := m.Match(isHTTP2)
	httpL := m.Match(cmux.HTTP1Fast())
	return s.serve(ctx, lis.Addr(), func() { m.Close(); _ = lis.Close() },
		func() error { return s.grpc.Serve(grpcL) },
		func() error { return s.http.Serve(httpL) },
		func() error { return s.http.Serve(settingsAckListener{h2L}) },
		m.Serve)
}

// ServeSplit serves gRPC on grpcLis and HTTP (gRPC-Web, /heartbeat, ...)
// on httpLis, snet-daemon's experimental.traffic_split, until ctx is done.
func (s *Server) ServeSplit(ctx context.Context, grpcLis, httpLis net.Listener) error {
	return s.serve(ctx, grpcLis.Addr(), func() { _ = grpcLis.Close(); _ = httpLis.Close() },
		func() error { return s.grpc.Serve(grpcLis) },
		func() error { return s.http.Serve(httpLis) })
}

// serve runs the servers until one fails or ctx is done, then stops
// gracefully: in-flight calls finish (and commit or roll back their
// payments) before it returns.
func (s *Server) serve(ctx context.Context, addr net.Addr, closeListeners func(), servers ...func() error) error {
	errc := make(chan error, len(servers))
	for _, serve := range servers {
		go func() { errc <- serve() }()
	}
	select {
	case err := <-errc:
		s.grpc.Stop()
		_ = s.http.Close()
		closeListeners()
		_ = s.backend.Close()
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	_ = s.http.Close()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		s.log.Warn("calls still running after 10s; stopping them")
		s.grpc.Stop()
	}
	closeListeners()
	return s.backend.Close()
}
