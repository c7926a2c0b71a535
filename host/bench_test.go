package host_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// BenchmarkCall compares a unary call to the Calculator directly with the
// same call paid through tariffd (payments signed before the clock starts).
// Read the two together: the difference is what tariffd adds.
func BenchmarkCall(b *testing.B) {
	e := newEnv(b, 1)
	b.Run("direct", func(b *testing.B) {
		conn, err := grpc.NewClient(e.backend, grpc.WithTransportCredentials(insecure.NewCredentials()))
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
