package host_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/host/config"
)

// rate_limit bounds calls to the service with a token bucket, before they
// are paid; the daemon's own services are not limited (spec §9.3).
func TestRateLimit(t *testing.T) {
	e := newEnvWith(t, 3, envOptions{server: func(o *host.ServerOptions) {
		o.RateLimit = config.RateLimit{PerMinute: 1, Burst: 2} // refills once a minute: the test never sees it
	}})
	for range 2 {
		_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
		require.NoError(t, err)
	}
	_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
	requireStatus(t, err, codes.ResourceExhausted, "rate limiting , too many requests to handle")
	e.payer.Undo(e.price)
	e.requireAmount(t, 6, "a limited call is not charged")

	for range 5 {
		_, err := healthpb.NewHealthClient(e.conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err)
	}
}
