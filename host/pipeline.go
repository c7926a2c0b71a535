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

// payer commits escrow payments; *escrow.Channels implements it.
type payer interface {
	Pay(ctx context.Context, p *escrow.EscrowPayment, price *big.Int) (*escrow.Receipt, error)
}

// pipeline is the path of every call to the AI service: read the first
// message, take the payment, forward, and roll the payment back if the
// service fails.
type pipeline struct {
	pricer   Pricer
	payments payer // nil: payments disabled (blockchain_enabled=false)
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

	var receipt *escrow.Receipt
	if p.payments != nil {
		var err error
		receipt, err = p.pay(ctx, method, in)
		if err != nil {
			return err
		}
		// The payer as the service should see it; any client value is overwritten.
		md.Set(escrow.HeaderUserAddress, receipt.Payer.Hex())
	}
	md.Set("snet-daemon-debug", "streamIntercept")

	fctx := metadata.NewOutgoingContext(ctx, md)
	if _, ok := ctx.Deadline(); !ok && p.timeout > 0 {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(fctx, p.timeout)
		defer cancel()
	}
	err := p.backend.forward(fctx, method, first, ss)
	if err != nil && receipt != nil {
		rolled, rerr := receipt.Rollback(ctx)
		if rerr != nil {
			p.log.ErrorContext(ctx, "roll back payment after service error", "method", method, "err", rerr)
		} else if !rolled {
			p.log.WarnContext(ctx, "payment kept after service error: channel moved on", "method", method, "channel", receipt.Channel.ChannelID)
		}
	}
	return err
}

func (p *pipeline) pay(ctx context.Context, method string, md metadata.MD) (*escrow.Receipt, error) {
	typ, err := escrow.PaymentType(md)
	if err != nil {
		return nil, err
	}
	switch typ {
	case escrow.PaymentTypeEscrow:
	case escrow.PaymentTypeFreeCall, escrow.PaymentTypePrepaid, escrow.PaymentTypeTrain:
		return nil, status.Errorf(codes.Unimplemented, "payment type %q is not supported yet", typ)
	}
	pm, err := escrow.ParseEscrowPayment(md)
	if err != nil {
		return nil, err
	}
	price, err := p.pricer.Price(method)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "internal error: %v", err)
	}
	return p.payments.Pay(ctx, pm, price)
}
