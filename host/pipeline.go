package host

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"time"

	"github.com/tariffd/tariff/escrow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Pricer gives the price in cogs of one call. Returned values are shared and
// must not be modified.
type Pricer interface {
	Price(method string) (*big.Int, error)
}

// Charge is a payment committed before the call is forwarded. Payment
// kinds (escrow, free call, prepaid) implement it in package escrow.
type Charge interface {
	// Payer is forwarded to the service as snet-user-address.
	Payer() string
	// Rollback undoes the charge after the service failed; it reports
	// whether it did (a later charge may make undoing unsafe).
	Rollback(ctx context.Context) (bool, error)
}

// PaymentHandler takes one kind of payment for a call to method.
type PaymentHandler func(ctx context.Context, method string, md metadata.MD) (Charge, error)

// pipeline is the path of every call to the AI service: read the first
// message, take the payment, forward, and undo the payment if the service
// fails.
type pipeline struct {
	// handlers by snet-payment-type; nil: payments disabled (blockchain_enabled=false)
	handlers map[string]PaymentHandler
	backend  backend
	timeout  time.Duration // applied when the client set no deadline
	log      *slog.Logger
}

// handle is the gRPC unknown-service handler.
func (p *pipeline) handle(_ any, ss grpc.ServerStream) error {
	ctx := ss.Context()
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "no method in stream")
	}
	first := new(frame)
	if err := ss.RecvMsg(first); err != nil {
		if !errors.Is(err, io.EOF) {
			return err
		}
		first = nil // a client stream that sends nothing
	}
	in, _ := metadata.FromIncomingContext(ctx)
	md := in.Copy()

	var charge Charge
	if p.handlers != nil {
		var err error
		if charge, err = p.pay(ctx, method, in); err != nil {
			return err
		}
		// The payer as the service should see it; any client value is overwritten.
		md.Set(escrow.HeaderUserAddress, charge.Payer())
		md.Set(escrow.HeaderDaemonDebug, escrow.DaemonDebugStreamIntercept)
	}

	fctx := metadata.NewOutgoingContext(ctx, md)
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(fctx, p.timeout)
		defer cancel()
	}
	err := p.backend.forward(fctx, method, first, ss)
	if err != nil && charge != nil {
		rolled, rerr := charge.Rollback(ctx)
		if rerr != nil {
			p.log.ErrorContext(ctx, "undo payment after service error", "method", method, "payer", charge.Payer(), "err", rerr)
		} else if !rolled {
			p.log.WarnContext(ctx, "payment kept after service error: a later payment moved the state on", "method", method, "payer", charge.Payer())
		}
	}
	return err
}

func (p *pipeline) pay(ctx context.Context, method string, md metadata.MD) (Charge, error) {
	typ, err := escrow.PaymentType(md)
	if err != nil {
		return nil, err
	}
	h, ok := p.handlers[typ]
	if !ok {
		return nil, status.Errorf(codes.Unimplemented, "payment type %q is not enabled on this daemon", typ)
	}
	return h(ctx, method, md)
}

// EscrowHandler takes pay-per-call escrow payments at the prices of pricer.
func EscrowHandler(channels *escrow.Channels, pricer Pricer) PaymentHandler {
	return func(ctx context.Context, method string, md metadata.MD) (Charge, error) {
		pm, err := escrow.ParseEscrowPayment(md)
		if err != nil {
			return nil, err
		}
		price, err := pricer.Price(method)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "internal error: %v", err)
		}
		return channels.Pay(ctx, pm, price)
	}
}
