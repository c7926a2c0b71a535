package host

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tariffd/tariff/pricing"
)

// serviceEstimator lets the service price its own calls, snet-daemon's
// dynamic pricing (enable_dynamic_pricing, spec §8): a method whose API
// declares an estimate method is priced by calling that method with the
// call's request message and metadata; it answers pricing.PriceInCogs.
type serviceEstimator struct {
	service *grpcBackend
	methods map[string]string // method → its estimate method
	timeout time.Duration     // when the client set no deadline
}

var _ pricing.Estimator = (*serviceEstimator)(nil)

func newServiceEstimator(endpoint, encoding string, methods map[string]string, timeout time.Duration, maxMsg int) (*serviceEstimator, error) {
	b, err := newGRPCBackend(endpoint, encoding, maxMsg)
	if err != nil {
		return nil, err
	}
	return &serviceEstimator{service: b, methods: methods, timeout: timeout}, nil
}

func (e *serviceEstimator) Close() error { return e.service.Close() }

func (e *serviceEstimator) Estimate(ctx context.Context, r *pricing.Request) (*big.Int, bool, error) {
	est, ok := e.methods[r.Method]
	if !ok {
		return nil, false, nil
	}
	if _, ok := ctx.Deadline(); !ok && e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	ctx = metadata.NewOutgoingContext(ctx, metadata.MD(r.Meta))
	var opts []grpc.CallOption
	if e.service.subtype != "" {
		opts = append(opts, grpc.CallContentSubtype(e.service.subtype))
	}
	var out frame
	if err := e.service.conn.Invoke(ctx, est, &frame{payload: r.Body}, &out, opts...); err != nil {
		return nil, true, fmt.Errorf("price of %s from the service (%s): %w", r.Method, est, err)
	}
	price, err := priceInCogs(out.payload)
	if err != nil {
		return nil, true, fmt.Errorf("price of %s from the service (%s): %w", r.Method, est, err)
	}
	return new(big.Int).SetUint64(price), true, nil
}

// priceInCogs decodes pricing.PriceInCogs { uint64 price = 1; }, which is
// wire-identical to google.protobuf.UInt64Value.
func priceInCogs(b []byte) (uint64, error) {
	var v wrapperspb.UInt64Value
	if err := proto.Unmarshal(b, &v); err != nil {
		return 0, fmt.Errorf("not a PriceInCogs message: %w", err)
	}
	return v.GetValue(), nil
}
