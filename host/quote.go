package host

import (
	"context"
	"errors"
	"math/big"

	"github.com/tariffd/tariff/escrow"
	tariffpb "github.com/tariffd/tariff/proto/tariff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// quoteService answers tariff.v1.QuoteService: the price a call would be
// charged, computed by the same pipeline on the same inputs, for free.
type quoteService struct {
	tariffpb.UnimplementedQuoteServiceServer
	p        *pipeline
	channels *escrow.Channels // nil: no caller lookup
}

func (q *quoteService) Quote(ctx context.Context, req *tariffpb.QuoteRequest) (*tariffpb.QuoteReply, error) {
	if req.GetMethod() == "" {
		return nil, status.Error(codes.InvalidArgument, "quote: method is required, as \"/package.Service/Method\"")
	}
	md := metadata.New(req.GetMetadata())
	snap := q.p.policies.acquire()
	defer snap.release()
	call := &Call{Method: req.GetMethod(), MD: md, Policy: snap.policy,
		Request: q.p.request(req.GetMethod(), md, &frame{payload: req.GetBody()})}
	call.Request.PaymentType = escrow.PaymentTypeEscrow
	caller := ""
	if req.GetHasChannel() {
		id := new(big.Int).SetUint64(req.GetChannelId())
		call.Request.ChannelID = id
		if q.channels == nil {
			return nil, status.Error(codes.FailedPrecondition, "quote: payments are disabled on this daemon")
		}
		ch, err := q.channels.Load(ctx, id)
		if errors.Is(err, escrow.ErrChannelNotFound) {
			return nil, status.Errorf(codes.NotFound, "quote: channel %s not found", id)
		}
		if err != nil {
			return nil, status.Errorf(codes.Unavailable, "quote: channel %s: %v", id, err)
		}
		caller = ch.Sender.Hex()
	}
	price, err := call.Price(ctx, caller)
	if err != nil {
		return nil, err
	}
	return &tariffpb.QuoteReply{PriceInCogs: price.String(), Source: call.Quote.Source}, nil
}
