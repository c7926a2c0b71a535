package host_test

import (
	"context"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/paidcall"
	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/pricing"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// env is tariffd in front of the example Calculator, paying through a fresh
// channel on the simulated chain with the real MultiPartyEscrow.
type env struct {
	calc     calculatorpb.CalculatorClient
	conn     *grpc.ClientConn
	payer    *paidcall.Payer
	price    *big.Int
	chain    *escrow.Chain
	channels *escrow.Channels
	keys     escrow.Keys
	group    escrow.Group
	id       *big.Int
	backend  string // the Calculator's own address
	addr     string // tariffd's address
}

var testGroup = func() [32]byte {
	var g [32]byte
	copy(g[:], crypto.Keccak256([]byte("host-test-group")))
	return g
}()

func listen(t testing.TB) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return lis
}

func newEnv(t testing.TB, price int64) *env { return newEnvWith(t, price, envOptions{}) }

type envOptions struct {
	kv          clientv3.KV  // tariffd's view of etcd; the shared test server if nil
	backend     *grpc.Server // the service, with the Calculator registered; calculator.Serve if nil
	http        http.Handler // the service, served as HTTP instead (set service type with server)
	server      func(*host.ServerOptions)
	commitFirst bool
}

func newEnvWith(t testing.TB, price int64, o envOptions) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	backend := listen(t)
	switch {
	case o.http != nil:
		hs := &http.Server{Handler: o.http, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = hs.Serve(backend) }()
		t.Cleanup(func() { _ = hs.Close() })
	case o.backend != nil:
		go func() { _ = o.backend.Serve(backend) }()
		t.Cleanup(o.backend.Stop)
	default:
		go func() { _ = calculator.Serve(ctx, backend) }()
	}
	if o.kv == nil {
		o.kv = testEtcd.Client()
	}

	head, err := testSim.Head(ctx)
	require.NoError(t, err)
	sim := testSim
	id, err := sim.Contracts.DepositAndOpenChannel(ctx, sim.Sender.Opts(), sim.Sender.Address, sim.Provider.Address,
		testGroup, big.NewInt(1_000_000), new(big.Int).SetUint64(head+100_000))
	require.NoError(t, err)

	chain := escrow.NewChain(sim.Client(), sim.Contracts.MPE, escrow.ChainOptions{PollInterval: time.Hour})
	keys := escrow.NewKeys("test", strings.ReplaceAll(t.Name(), "/", "_"), base64.StdEncoding.EncodeToString(testGroup[:]), sim.Contracts.MPE)
	group := escrow.Group{MPE: sim.Contracts.MPE, ID: testGroup, PaymentAddress: sim.Provider.Address, ExpirationThreshold: 100}
	channels := escrow.NewChannels(escrow.NewStore(o.kv, keys, 0), chain, group, nil)
	table, err := pricing.NewTable([]pricing.PriceEntry{{Model: "fixed_price", PriceInCogs: big.NewInt(price), Default: true}})
	require.NoError(t, err)
	so := host.ServerOptions{
		ServiceEndpoint: backend.Addr().String(),
		ServiceTimeout:  10 * time.Second,
		CommitFirst:     o.commitFirst,
		Channels:        channels,
		Table:           table,
	}
	if o.server != nil {
		o.server(&so)
	}
	srv, err := host.NewServer(so)
	require.NoError(t, err)
	front := listen(t)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, front) }()
	t.Cleanup(func() { cancel(); <-done })

	conn, err := grpc.NewClient(front.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &env{
		calc: calculatorpb.NewCalculatorClient(conn), conn: conn, price: big.NewInt(price),
		payer:    paidcall.NewPayer(sim.Sender.Key, sim.Contracts.MPE, id, new(big.Int), new(big.Int)),
		chain:    chain,
		channels: channels,
		keys:     keys,
		group:    group,
		id:       id,
		backend:  backend.Addr().String(),
		addr:     front.Addr().String(),
	}
}

func (e *env) pay(t testing.TB) context.Context {
	t.Helper()
	ctx, err := e.payer.Pay(context.Background(), e.price)
	require.NoError(t, err)
	return ctx
}

func (e *env) state(t *testing.T) (nonce, amount *big.Int) {
	t.Helper()
	head, err := testSim.Head(context.Background())
	require.NoError(t, err)
	st, err := paidcall.State(context.Background(), e.conn, testSim.Sender.Key, testSim.Contracts.MPE, e.id, head)
	require.NoError(t, err)
	return new(big.Int).SetBytes(st.GetCurrentNonce()), new(big.Int).SetBytes(st.GetCurrentSignedAmount())
}

func TestPaidCallsEveryStreamingKind(t *testing.T) {
	e := newEnv(t, 7)

	var trailer metadata.MD
	res, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 2, B: 3}, grpc.Trailer(&trailer))
	require.NoError(t, err)
	require.Equal(t, float32(5), res.GetValue())
	// The service sees who paid, set by the daemon from the channel's sender.
	require.Equal(t, []string{testSim.Sender.Address.Hex()}, trailer.Get(calculator.CallerTrailer))

	cs, err := e.calc.SumStream(e.pay(t))
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, cs.Send(&calculatorpb.Numbers{A: float32(i), B: 1}))
	}
	res, err = cs.CloseAndRecv()
	require.NoError(t, err)
	require.Equal(t, float32(6), res.GetValue())

	ss, err := e.calc.Count(e.pay(t), &calculatorpb.Numbers{A: 4})
	require.NoError(t, err)
	var got []float32
	for {
		r, err := ss.Recv()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, r.GetValue())
	}
	require.Equal(t, []float32{1, 2, 3, 4}, got)

	bs, err := e.calc.EchoStream(e.pay(t))
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, bs.Send(&calculatorpb.Numbers{A: float32(i), B: 10}))
		r, err := bs.Recv()
		require.NoError(t, err)
		require.Equal(t, float32(i+10), r.GetValue())
	}
	require.NoError(t, bs.CloseSend())
	_, err = bs.Recv()
	require.Equal(t, io.EOF, err)

	nonce, amount := e.state(t)
	require.Zero(t, nonce.Sign())
	require.Equal(t, int64(28), amount.Int64())
}

func TestClientSuppliedPayerIsOverwritten(t *testing.T) {
	e := newEnv(t, 1)
	ctx := metadata.AppendToOutgoingContext(e.pay(t), escrow.HeaderUserAddress, "0x000000000000000000000000000000000000dEaD")
	var trailer metadata.MD
	_, err := e.calc.Add(ctx, &calculatorpb.Numbers{A: 1, B: 1}, grpc.Trailer(&trailer))
	require.NoError(t, err)
	require.Equal(t, []string{testSim.Sender.Address.Hex()}, trailer.Get(calculator.CallerTrailer))
}

func TestServiceErrorRollsBackPayment(t *testing.T) {
	e := newEnv(t, 5)
	_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
	require.NoError(t, err)

	_, err = e.calc.Div(e.pay(t), &calculatorpb.Numbers{A: 1, B: 0})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "the service's own status reaches the client")
	e.payer.Undo(e.price)
	_, amount := e.state(t)
	require.Equal(t, int64(5), amount.Int64(), "a failed call is not charged")

	// The client signs the same amount again and it is accepted.
	_, err = e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
	require.NoError(t, err)
	_, amount = e.state(t)
	require.Equal(t, int64(10), amount.Int64())
}

func TestBadPaymentsKeepTheirStatusOnTheWire(t *testing.T) {
	e := newEnv(t, 5)
	_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
	require.NoError(t, err)
	n0, a0 := e.state(t)

	nonce, amount := e.payer.Signed()
	replay, err := e.payer.Metadata(nonce, amount)
	require.NoError(t, err)
	wrongNonce, err := e.payer.Metadata(big.NewInt(1), new(big.Int).Add(amount, e.price))
	require.NoError(t, err)
	missing := replay.Copy()
	missing.Delete(escrow.HeaderChannelAmount)
	repeated := replay.Copy()
	repeated.Append(escrow.HeaderChannelID, "1")

	for _, tc := range []struct {
		name string
		md   metadata.MD
		code codes.Code
		msg  string
	}{
		{"no payment", metadata.MD{}, codes.InvalidArgument, `missing "snet-payment-channel-id"`},
		{"missing amount", missing, codes.InvalidArgument, `missing "snet-payment-channel-amount"`},
		{"repeated id", repeated, codes.InvalidArgument, `too many values for key "snet-payment-channel-id": [` + e.id.String() + ` 1]`},
		{"replay", replay, codes.Unauthenticated, "income 0 does not equal to price 5"},
		{"wrong nonce", wrongNonce, escrow.CodeIncorrectNonce, "incorrect payment channel nonce, latest: 0, sent: 1"},
		{"unknown type", metadata.Pairs(escrow.HeaderPaymentType, "barter"), codes.InvalidArgument, `unexpected "snet-payment-type", value: "barter"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.calc.Add(metadata.NewOutgoingContext(context.Background(), tc.md), &calculatorpb.Numbers{A: 1, B: 1})
			st := status.Convert(err)
			require.Equal(t, tc.code, st.Code(), st.Message())
			require.Equal(t, tc.msg, st.Message())
		})
	}
	n1, a1 := e.state(t)
	require.Equal(t, n0, n1)
	require.Equal(t, a0, a1)
}

// In steady state a paid call costs no chain RPC and one etcd write.
func TestSteadyStateCosts(t *testing.T) {
	e := newEnv(t, 3)
	_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
	require.NoError(t, err)
	rpcs, etcd := e.chain.Stats().Total(), e.channels.Stats()
	const calls = 20
	for range calls {
		_, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 1, B: 1})
		require.NoError(t, err)
	}
	require.Equal(t, rpcs, e.chain.Stats().Total(), "chain RPCs during paid calls")
	after := e.channels.Stats()
	require.Equal(t, uint64(calls), after.Swaps-etcd.Swaps)
	require.Equal(t, etcd.Reads, after.Reads)
}
