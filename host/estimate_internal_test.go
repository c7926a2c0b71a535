package host

import (
	"context"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/pricing"
)

// pricedService prices add at 10 cogs per unit of a, times the x-tier
// header when one is sent (its estimate method is add_price).
func pricedService(t *testing.T) string {
	t.Helper()
	s := grpc.NewServer(grpc.ForceServerCodecV2(newRawCodec()), grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(ss)
		if method != "/example_service.Calculator/add_price" {
			return status.Error(codes.Unimplemented, method)
		}
		var in frame
		if err := ss.RecvMsg(&in); err != nil {
			return err
		}
		var n calculatorpb.Numbers
		if err := proto.Unmarshal(in.payload, &n); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		price := uint64(n.GetA() * 10)
		md, _ := metadata.FromIncomingContext(ss.Context())
		if len(md.Get("x-tier")) > 0 {
			price *= 2
		}
		out, _ := proto.Marshal(&wrapperspb.UInt64Value{Value: price})
		return ss.SendMsg(&frame{payload: out})
	}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func TestServiceEstimator(t *testing.T) {
	est, err := newServiceEstimator(pricedService(t), "proto", map[string]string{
		"/example_service.Calculator/add": "/example_service.Calculator/add_price",
		"/example_service.Calculator/mul": "/example_service.Calculator/gone",
	}, 5*time.Second, 0)
	require.NoError(t, err)
	defer est.Close()
	table, err := pricing.NewTable([]pricing.PriceEntry{{Model: "fixed_price", PriceInCogs: big.NewInt(3), Default: true}})
	require.NoError(t, err)
	policy, err := pricing.NewPolicy(table, nil, nil, pricing.WithEstimator(est))
	require.NoError(t, err)

	body, _ := proto.Marshal(&calculatorpb.Numbers{A: 4, B: 1})
	ctx := context.Background()
	q, err := policy.Price(ctx, &pricing.Request{Method: "/example_service.Calculator/add", Body: body})
	require.NoError(t, err)
	require.Equal(t, pricing.Quote{Price: big.NewInt(40), Source: pricing.SourceService}, q)

	// The call's metadata reaches the estimate method.
	q, err = policy.Price(ctx, &pricing.Request{Method: "/example_service.Calculator/add", Body: body,
		Meta: map[string][]string{"x-tier": {"gold"}}})
	require.NoError(t, err)
	require.Equal(t, int64(80), q.Price.Int64())

	// Methods without an estimate method keep the metadata's price.
	q, err = policy.Price(ctx, &pricing.Request{Method: "/example_service.Calculator/sub", Body: body})
	require.NoError(t, err)
	require.Equal(t, pricing.Quote{Price: big.NewInt(3), Source: pricing.SourceMetadata}, q)

	// An estimate that fails refuses the call: it is never served free.
	_, err = policy.Price(ctx, &pricing.Request{Method: "/example_service.Calculator/mul", Body: body})
	st := status.Convert(err)
	require.Equal(t, codes.Internal, st.Code())
	require.Contains(t, st.Message(), "internal error: price of /example_service.Calculator/mul from the service (/example_service.Calculator/gone)")
}
