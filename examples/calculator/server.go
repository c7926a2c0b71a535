// Package calculator is the example AI service used by the tests, the devnet
// and the benchmarks: snet's classic four-function calculator plus one method
// of each streaming kind, so every gRPC call shape can be sent through the
// sidecar.
//
// Every reply carries the trailer x-calculator-caller holding the incoming
// snet-user-address metadata value (when the call had one), which lets proxy
// tests see what the sidecar forwarded.
package calculator

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
)

const (
	// UserAddressHeader is the metadata key the sidecar sets to the payer's
	// address on calls it forwards.
	UserAddressHeader = "snet-user-address"
	// CallerTrailer is the trailer key the server echoes UserAddressHeader in.
	CallerTrailer = "x-calculator-caller"
	// TierHeader is a request header the server echoes in TierTrailer, so a
	// demo can show what a transform plugin set before forwarding.
	TierHeader  = "x-tariff-tier"
	TierTrailer = "x-calculator-tier"
	// MaxCount is the largest a accepted by count.
	MaxCount = 1_000_000
	// stopGrace is how long Serve waits for running calls after ctx is done
	// before it closes the remaining connections.
	stopGrace = 5 * time.Second
)

// Server implements calculatorpb.CalculatorServer. The zero value is ready to
// use.
type Server struct {
	calculatorpb.UnimplementedCalculatorServer
}

var _ calculatorpb.CalculatorServer = (*Server)(nil)

// Register registers a Server on s.
func Register(s *grpc.Server) {
	calculatorpb.RegisterCalculatorServer(s, &Server{})
}

// Serve serves the calculator on lis until ctx is done, then stops gracefully:
// running calls get a few seconds to finish before connections are closed. It
// returns nil after a ctx-triggered stop, otherwise the error that ended
// serving. lis is closed on return.
func Serve(ctx context.Context, lis net.Listener) error {
	s := grpc.NewServer()
	Register(s)

	errc := make(chan error, 1)
	go func() { errc <- s.Serve(lis) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	stopped := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(stopped)
	}()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		s.Stop()
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// callerTrailer returns the trailer that echoes the caller's
// snet-user-address, or nil when the call did not carry one.
func callerTrailer(ctx context.Context) metadata.MD {
	md, _ := metadata.FromIncomingContext(ctx)
	var tr metadata.MD
	if v := md.Get(UserAddressHeader); len(v) > 0 {
		tr = metadata.Pairs(CallerTrailer, v[0])
	}
	if v := md.Get(TierHeader); len(v) > 0 {
		tr = metadata.Join(tr, metadata.Pairs(TierTrailer, v[0]))
	}
	return tr
}

func setUnaryTrailer(ctx context.Context) {
	if tr := callerTrailer(ctx); tr != nil {
		_ = grpc.SetTrailer(ctx, tr)
	}
}

// Add returns a + b.
func (*Server) Add(ctx context.Context, n *calculatorpb.Numbers) (*calculatorpb.Result, error) {
	setUnaryTrailer(ctx)
	return &calculatorpb.Result{Value: n.GetA() + n.GetB()}, nil
}

// Sub returns a - b.
func (*Server) Sub(ctx context.Context, n *calculatorpb.Numbers) (*calculatorpb.Result, error) {
	setUnaryTrailer(ctx)
	return &calculatorpb.Result{Value: n.GetA() - n.GetB()}, nil
}

// Mul returns a * b.
func (*Server) Mul(ctx context.Context, n *calculatorpb.Numbers) (*calculatorpb.Result, error) {
	setUnaryTrailer(ctx)
	return &calculatorpb.Result{Value: n.GetA() * n.GetB()}, nil
}

// Div returns a / b, or InvalidArgument when b is zero.
func (*Server) Div(ctx context.Context, n *calculatorpb.Numbers) (*calculatorpb.Result, error) {
	setUnaryTrailer(ctx)
	if n.GetB() == 0 {
		return nil, status.Error(codes.InvalidArgument, "division by zero")
	}
	return &calculatorpb.Result{Value: n.GetA() / n.GetB()}, nil
}

// SumStream returns the sum of a + b over all messages the client sends.
func (*Server) SumStream(stream grpc.ClientStreamingServer[calculatorpb.Numbers, calculatorpb.Result]) error {
	stream.SetTrailer(callerTrailer(stream.Context()))
	var sum float32
	for {
		n, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&calculatorpb.Result{Value: sum})
		}
		if err != nil {
			return err
		}
		sum += n.GetA() + n.GetB()
	}
}

// Count sends the values 1, 2, ..., int(a); nothing when a < 1. An a above
// MaxCount is rejected with InvalidArgument.
func (*Server) Count(n *calculatorpb.Numbers, stream grpc.ServerStreamingServer[calculatorpb.Result]) error {
	stream.SetTrailer(callerTrailer(stream.Context()))
	a := n.GetA()
	if a > MaxCount {
		return status.Errorf(codes.InvalidArgument, "count: a must be at most %d", MaxCount)
	}
	if !(a >= 1) { // also catches NaN
		return nil
	}
	for i := 1; i <= int(a); i++ {
		if err := stream.Send(&calculatorpb.Result{Value: float32(i)}); err != nil {
			return err
		}
	}
	return nil
}

// EchoStream sends a + b back for every message the client sends, as it
// arrives.
func (*Server) EchoStream(stream grpc.BidiStreamingServer[calculatorpb.Numbers, calculatorpb.Result]) error {
	stream.SetTrailer(callerTrailer(stream.Context()))
	for {
		n, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&calculatorpb.Result{Value: n.GetA() + n.GetB()}); err != nil {
			return err
		}
	}
}
