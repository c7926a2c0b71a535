package host_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// holdKV holds the next transaction's commit, once armed, until released.
type holdKV struct {
	clientv3.KV
	armed   atomic.Bool
	held    chan struct{} // closed when a commit is being held
	release chan struct{}
}

func newHoldKV() *holdKV {
	return &holdKV{KV: testEtcd.Client(), held: make(chan struct{}), release: make(chan struct{})}
}

func (h *holdKV) Txn(ctx context.Context) clientv3.Txn { return &holdTxn{Txn: h.KV.Txn(ctx), h: h} }

type holdTxn struct {
	clientv3.Txn
	h *holdKV
}

func (t *holdTxn) If(c ...clientv3.Cmp) clientv3.Txn  { t.Txn = t.Txn.If(c...); return t }
func (t *holdTxn) Then(o ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Then(o...); return t }
func (t *holdTxn) Else(o ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(o...); return t }
func (t *holdTxn) Commit() (*clientv3.TxnResponse, error) {
	if t.h.armed.CompareAndSwap(true, false) {
		close(t.h.held)
		<-t.h.release
	}
	return t.Txn.Commit()
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

// The payment's durable write overlaps the call to the service, and the
// client sees nothing of the answer until it is done.
func TestResponseWaitsForDurablePayment(t *testing.T) {
	kv := newHoldKV()
	var calls atomic.Int32
	e := newEnvWith(t, 10, envOptions{kv: kv, backend: countingBackend(&calls)})
	_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
	require.NoError(t, err)

	kv.armed.Store(true)
	got := make(chan error, 1)
	go func() {
		_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 2, B: 2})
		got <- err
	}()
	<-kv.held
	require.Eventually(t, func() bool { return calls.Load() == 2 }, 5*time.Second, time.Millisecond,
		"the service is called while the payment commits")
	select {
	case err := <-got:
		t.Fatalf("the call returned (%v) before its payment was stored", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(kv.release)
	require.NoError(t, <-got)
	_, amount := e.state(t)
	require.Equal(t, int64(20), amount.Int64())
}

// If another replica takes the same payment while the call is forwarded,
// the commit loses, the payment is decided again and refused, and the
// client gets the refusal instead of the service's answer.
func TestLostCommitWithholdsResponse(t *testing.T) {
	kv := newHoldKV()
	var calls atomic.Int32
	e := newEnvWith(t, 10, envOptions{kv: kv, backend: countingBackend(&calls)})
	_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
	require.NoError(t, err)

	ctx := e.pay(t)
	md, _ := metadata.FromOutgoingContext(ctx)
	p, err := escrow.ParseEscrowPayment(md)
	require.NoError(t, err)

	kv.armed.Store(true)
	got := make(chan error, 1)
	var trailer metadata.MD
	go func() {
		_, err := e.calc.Add(ctx, &calculatorpb.Numbers{A: 2, B: 2}, grpc.Trailer(&trailer))
		got <- err
	}()
	<-kv.held
	require.Eventually(t, func() bool { return calls.Load() == 2 }, 5*time.Second, time.Millisecond)
	// The same signed payment, replayed to another replica, lands first.
	replica := escrow.NewChannels(escrow.NewStore(testEtcd.Client(), e.keys, 0), e.chain, e.group, nil)
	_, err = replica.Pay(context.Background(), p, e.price)
	require.NoError(t, err)
	close(kv.release)

	err = <-got
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	require.Contains(t, status.Convert(err).Message(), "income 0 does not equal to price 10")
	require.Empty(t, trailer.Get(calculator.CallerTrailer), "nothing of the service's answer reaches the client")
	require.Equal(t, []string{"10"}, trailer.Get("tariff-price"))
	_, amount := e.state(t)
	require.Equal(t, int64(20), amount.Int64(), "the payment counts once")
}

// With commit_first the service is not called before the payment is stored.
func TestCommitFirst(t *testing.T) {
	kv := newHoldKV()
	var calls atomic.Int32
	e := newEnvWith(t, 10, envOptions{kv: kv, backend: countingBackend(&calls), commitFirst: true})
	kv.armed.Store(true)
	got := make(chan error, 1)
	go func() {
		_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 2, B: 2})
		got <- err
	}()
	<-kv.held
	time.Sleep(50 * time.Millisecond)
	require.Zero(t, calls.Load(), "the service waits for the payment")
	close(kv.release)
	require.NoError(t, <-got)
	require.Equal(t, int32(1), calls.Load())
}
