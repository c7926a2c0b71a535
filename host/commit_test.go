package host_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/etcdfault"
	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// holdNextWrite makes the next write to etcd wait until release is
// closed; held is closed once it waits.
func holdNextWrite(kv *etcdfault.KV) (held, release chan struct{}) {
	held, release = make(chan struct{}), make(chan struct{})
	kv.OnNextWrites(func(commit func() (*clientv3.TxnResponse, error)) (*clientv3.TxnResponse, error) {
		close(held)
		<-release
		return commit()
	})
	return held, release
}

// countingBackend is the Calculator, counting the calls that reach it.
func countingBackend(calls *atomic.Int32) *grpc.Server {
	s := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		calls.Add(1)
		return h(ctx, req)
	}))
	calculator.Register(s)
	return s
}

// heldEnv is tariffd whose next etcd write can be held, in front of a
// Calculator that counts its calls.
type heldEnv struct {
	*env
	kv    *etcdfault.KV
	calls atomic.Int32
}

func newHeldEnv(t *testing.T, commitFirst bool) *heldEnv {
	h := &heldEnv{kv: etcdfault.New(testEtcd.Client())}
	h.env = newEnvWith(t, 10, envOptions{kv: h.kv, backend: countingBackend(&h.calls), commitFirst: commitFirst})
	return h
}

// add starts a call with ctx whose payment's write is held; it returns once
// the write waits, with the call's outcome to come and the release.
func (h *heldEnv) add(ctx context.Context, opts ...grpc.CallOption) (got <-chan error, release func()) {
	held, rel := holdNextWrite(h.kv)
	done := make(chan error, 1)
	go func() {
		_, err := h.calc.Add(ctx, &calculatorpb.Numbers{A: 2, B: 2}, opts...)
		done <- err
	}()
	<-held
	return done, func() { close(rel) }
}

// The payment's durable write overlaps the call to the service, and the
// client sees nothing of the answer until it is done.
func TestResponseWaitsForDurablePayment(t *testing.T) {
	h := newHeldEnv(t, false)
	_, err := h.calc.Add(h.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
	require.NoError(t, err)

	got, release := h.add(h.pay(t))
	require.Eventually(t, func() bool { return h.calls.Load() == 2 }, 5*time.Second, time.Millisecond,
		"the service is called while the payment commits")
	select {
	case err := <-got:
		t.Fatalf("the call returned (%v) before its payment was stored", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	require.NoError(t, <-got)
	_, amount := h.state(t)
	require.Equal(t, int64(20), amount.Int64())
}

// If another replica takes the same payment while the call is forwarded,
// the commit loses, the payment is decided again and refused, and the
// client gets the refusal instead of the service's answer.
func TestLostCommitWithholdsResponse(t *testing.T) {
	h := newHeldEnv(t, false)
	_, err := h.calc.Add(h.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
	require.NoError(t, err)

	ctx := h.pay(t)
	md, _ := metadata.FromOutgoingContext(ctx)
	p, err := escrow.ParseEscrowPayment(md)
	require.NoError(t, err)

	var trailer metadata.MD
	got, release := h.add(ctx, grpc.Trailer(&trailer))
	require.Eventually(t, func() bool { return h.calls.Load() == 2 }, 5*time.Second, time.Millisecond)
	// The same signed payment, replayed to another replica, lands first.
	replica := escrow.NewChannels(escrow.NewStore(testEtcd.Client(), h.keys, 0), h.chain, h.group, nil)
	_, err = replica.Pay(context.Background(), p, h.price)
	require.NoError(t, err)
	release()

	err = <-got
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "income 0 does not equal to price 10")
	require.Empty(t, trailer.Get(calculator.CallerTrailer), "nothing of the service's answer reaches the client")
	require.Equal(t, []string{"10"}, trailer.Get("tariff-price"))
	_, amount := h.state(t)
	require.Equal(t, int64(20), amount.Int64(), "the payment counts once")
}

// With commit_first the service is not called before the payment is stored.
func TestCommitFirst(t *testing.T) {
	h := newHeldEnv(t, true)
	got, release := h.add(h.pay(t))
	time.Sleep(50 * time.Millisecond)
	require.Zero(t, h.calls.Load(), "the service waits for the payment")
	release()
	require.NoError(t, <-got)
	require.Equal(t, int32(1), h.calls.Load())
}
