package calculator_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
)

const caller = "0x3b2b3C2e2E7C93db335E69D827F3CC4bC2A2A2cB"

// start serves the calculator on a loopback port and returns a client; the
// server is stopped (and Serve's result checked) when the test ends.
func start(t *testing.T) calculatorpb.CalculatorClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- calculator.Serve(ctx, lis) }()

	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, cc.Close())
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after ctx was cancelled")
		}
	})
	return calculatorpb.NewCalculatorClient(cc)
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func withCaller(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "snet-user-address", caller)
}

func TestUnary(t *testing.T) {
	c := start(t)
	ctx := callCtx(t)
	in := &calculatorpb.Numbers{A: 7, B: 2}
	for _, tc := range []struct {
		name string
		call func(context.Context, *calculatorpb.Numbers, ...grpc.CallOption) (*calculatorpb.Result, error)
		want float32
	}{
		{"add", c.Add, 9},
		{"sub", c.Sub, 5},
		{"mul", c.Mul, 14},
		{"div", c.Div, 3.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var trailer metadata.MD
			res, err := tc.call(ctx, in, grpc.Trailer(&trailer))
			require.NoError(t, err)
			require.Equal(t, tc.want, res.GetValue())
			require.Empty(t, trailer.Get(calculator.CallerTrailer), "no snet-user-address sent, no trailer expected")
		})
	}
}

func TestDivByZero(t *testing.T) {
	c := start(t)
	var trailer metadata.MD
	_, err := c.Div(withCaller(callCtx(t)), &calculatorpb.Numbers{A: 1, B: 0}, grpc.Trailer(&trailer))
	require.Error(t, err)
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, []string{caller}, trailer.Get(calculator.CallerTrailer), "trailer is sent with errors too")
}

func TestUnaryCallerTrailer(t *testing.T) {
	c := start(t)
	var trailer metadata.MD
	res, err := c.Add(withCaller(callCtx(t)), &calculatorpb.Numbers{A: 1, B: 2}, grpc.Trailer(&trailer))
	require.NoError(t, err)
	require.Equal(t, float32(3), res.GetValue())
	require.Equal(t, []string{caller}, trailer.Get(calculator.CallerTrailer))
}

func TestSumStream(t *testing.T) {
	c := start(t)
	stream, err := c.SumStream(withCaller(callCtx(t)))
	require.NoError(t, err)
	for _, n := range []*calculatorpb.Numbers{{A: 1, B: 2}, {A: 3, B: 4}, {A: -0.5, B: 0.25}} {
		require.NoError(t, stream.Send(n))
	}
	res, err := stream.CloseAndRecv()
	require.NoError(t, err)
	require.Equal(t, float32(9.75), res.GetValue())
	require.Equal(t, []string{caller}, stream.Trailer().Get(calculator.CallerTrailer))

	// No messages at all: the sum is zero.
	empty, err := c.SumStream(callCtx(t))
	require.NoError(t, err)
	res, err = empty.CloseAndRecv()
	require.NoError(t, err)
	require.Equal(t, float32(0), res.GetValue())
	require.Empty(t, empty.Trailer().Get(calculator.CallerTrailer))
}

// recvAll reads a server stream to its end.
func recvAll(t *testing.T, stream grpc.ServerStreamingClient[calculatorpb.Result]) ([]float32, error) {
	t.Helper()
	var got []float32
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, r.GetValue())
	}
}

func TestCount(t *testing.T) {
	c := start(t)
	for _, tc := range []struct {
		a    float32
		want []float32
	}{
		{5, []float32{1, 2, 3, 4, 5}},
		{2.9, []float32{1, 2}},
		{1, []float32{1}},
		{0, nil},
		{-3, nil},
	} {
		stream, err := c.Count(withCaller(callCtx(t)), &calculatorpb.Numbers{A: tc.a, B: 100})
		require.NoError(t, err)
		got, err := recvAll(t, stream)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "count(%v)", tc.a)
		require.Equal(t, []string{caller}, stream.Trailer().Get(calculator.CallerTrailer))
	}

	stream, err := c.Count(callCtx(t), &calculatorpb.Numbers{A: calculator.MaxCount + 1000})
	require.NoError(t, err)
	_, err = recvAll(t, stream)
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestEchoStream(t *testing.T) {
	c := start(t)
	stream, err := c.EchoStream(withCaller(callCtx(t)))
	require.NoError(t, err)
	// Strict ping-pong proves each reply is sent as its request arrives.
	for i, n := range []*calculatorpb.Numbers{{A: 1, B: 1}, {A: 2.5, B: 0.5}, {A: -4, B: 1}} {
		require.NoError(t, stream.Send(n))
		r, err := stream.Recv()
		require.NoError(t, err, "message %d", i)
		require.Equal(t, n.GetA()+n.GetB(), r.GetValue())
	}
	require.NoError(t, stream.CloseSend())
	_, err = stream.Recv()
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, []string{caller}, stream.Trailer().Get(calculator.CallerTrailer))
}

func TestServeStopsWithOpenStream(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- calculator.Serve(ctx, lis) }()

	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer cc.Close()
	stream, err := calculatorpb.NewCalculatorClient(cc).EchoStream(callCtx(t))
	require.NoError(t, err)
	require.NoError(t, stream.Send(&calculatorpb.Numbers{A: 1}))
	_, err = stream.Recv()
	require.NoError(t, err)

	// The bidi stream is never closed by the client: Serve must still return
	// once its grace period is over.
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return")
	}
}
