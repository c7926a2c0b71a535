package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/tariffd/tariff/escrow"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
	"google.golang.org/grpc"
)

// ServerOptions are the parts of a running front door, already built.
type ServerOptions struct {
	// ServiceEndpoint is the AI service's gRPC address (host:port, or an
	// http:// or https:// URL).
	ServiceEndpoint string
	// Encoding is the service metadata "encoding" ("proto" or "json").
	Encoding string
	// Echo answers every call with its first request (passthrough_enabled=false).
	Echo bool
	// ServiceTimeout applies to calls that carry no deadline.
	ServiceTimeout time.Duration
	// MaxMessageBytes caps messages both ways (0: gRPC's 4 MiB default).
	MaxMessageBytes int
	// Channels takes escrow payments; nil disables payment checks.
	Channels *escrow.Channels
	// Pricer prices calls; required with Channels.
	Pricer Pricer
	// Payments adds handlers for other payment types (free-call,
	// prepaid-call), keyed by snet-payment-type.
	Payments map[string]PaymentHandler
	// Register adds the daemon's own gRPC services (beside
	// PaymentChannelStateService, which comes with Channels).
	Register func(*grpc.Server)
	Log      *slog.Logger
}

// Server is one port that serves the daemon's services and proxies every
// other method to the AI service after payment.
type Server struct {
	grpc    *grpc.Server
	backend backend
	log     *slog.Logger
}

// NewServer builds the gRPC server; Serve starts it.
func NewServer(o ServerOptions) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Channels != nil && o.Pricer == nil {
		return nil, errors.New("payments need a pricer")
	}
	var b backend = echoBackend{}
	if !o.Echo {
		gb, err := newGRPCBackend(o.ServiceEndpoint, o.Encoding, o.MaxMessageBytes)
		if err != nil {
			return nil, err
		}
		b = gb
	}
	p := &pipeline{backend: b, timeout: o.ServiceTimeout, log: o.Log}
	if o.Channels != nil {
		p.handlers = map[string]PaymentHandler{escrow.PaymentTypeEscrow: EscrowHandler(o.Channels, o.Pricer)}
		for typ, h := range o.Payments {
			p.handlers[typ] = h
		}
	}
	opts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(newRawCodec()),
		grpc.UnknownServiceHandler(p.handle),
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
	return &Server{grpc: gs, backend: b, log: o.Log}, nil
}

// Serve serves on lis until ctx is done, then stops gracefully: in-flight
// calls finish (and commit or roll back their payments) before it returns.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve(lis) }()
	select {
	case err := <-errc:
		_ = s.backend.Close()
		return fmt.Errorf("serve %s: %w", lis.Addr(), err)
	case <-ctx.Done():
	}
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
	<-errc
	return s.backend.Close()
}
