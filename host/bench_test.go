package host_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/tariffd/tariff/host"

	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// BenchmarkCall compares a unary call to the Calculator directly, through
// tariffd with payments off (the extra hop alone), and paid through
// tariffd (payments signed before the clock starts). Read them together:
// the differences are what the hop and the payment add.
func BenchmarkCall(b *testing.B) {
	e := newEnv(b, 1)
	b.Run("direct", func(b *testing.B) { benchUnpaid(b, e.backend) })
	b.Run("proxy", func(b *testing.B) {
		srv, err := host.NewServer(host.ServerOptions{ServiceEndpoint: e.backend, ServiceTimeout: 10 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		front := listen(b)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, front) }()
		defer func() { cancel(); <-done }()
		benchUnpaid(b, front.Addr().String())
	})
	b.Run("paid", func(b *testing.B) {
		nonce, signed := e.payer.Signed()
		mds := make([]metadata.MD, b.N)
		for i := range mds {
			md, err := e.payer.Metadata(nonce, new(big.Int).Add(signed, big.NewInt(int64(i+1))))
			if err != nil {
				b.Fatal(err)
			}
			mds[i] = md
		}
		b.ResetTimer()
		for i := range b.N {
			if _, err := e.calc.Add(metadata.NewOutgoingContext(context.Background(), mds[i]), &calculatorpb.Numbers{A: 1, B: 2}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if err := e.payer.Sync(context.Background(), e.conn, mustHead(b)); err != nil {
			b.Fatal(err)
		}
	})
}

func mustHead(b testing.TB) uint64 {
	h, err := testSim.Head(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// benchUnpaid makes unpaid calls to the Calculator at addr.
func benchUnpaid(b *testing.B, addr string) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	calc := calculatorpb.NewCalculatorClient(conn)
	for b.Loop() {
		if _, err := calc.Add(context.Background(), &calculatorpb.Numbers{A: 1, B: 2}); err != nil {
			b.Fatal(err)
		}
	}
}
