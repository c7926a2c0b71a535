package host_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/paidcall"
	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/host"
)

// Without a chain, allowed_user_flag still admits only the allowed users:
// each call carries an escrow payment signed by one of them (spec §3.5).
func TestCuratedWithoutChain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	backend := listen(t)
	go func() { _ = calculator.Serve(ctx, backend) }()
	allowed := testSim.Sender.Address
	srv, err := host.NewServer(host.ServerOptions{
		ServiceEndpoint: backend.Addr().String(),
		ServiceTimeout:  10 * time.Second,
		Payments:        map[string]host.PaymentHandler{escrow.PaymentTypeEscrow: host.CuratedHandler([]common.Address{allowed})},
	})
	require.NoError(t, err)
	front := listen(t)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, front) }()
	defer func() { cancel(); <-done }()
	conn, err := grpc.NewClient(front.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	calc := calculatorpb.NewCalculatorClient(conn)

	mpe := common.HexToAddress("0x5e592F9b1d303183d963635f895f0f0C48284f4e")
	signed := func(p *paidcall.Payer) metadata.MD {
		md, err := p.Metadata(big.NewInt(0), big.NewInt(10))
		require.NoError(t, err)
		return md
	}
	member := signed(paidcall.NewPayer(testSim.Sender.Key, mpe, big.NewInt(7), new(big.Int), new(big.Int)))
	stranger := signed(paidcall.NewPayer(testSim.Provider.Key, mpe, big.NewInt(7), new(big.Int), new(big.Int)))
	badMPE := member.Copy()
	badMPE.Set(escrow.HeaderMPEAddress, "0x12")

	var trailer metadata.MD
	res, err := calc.Add(metadata.NewOutgoingContext(ctx, member), &calculatorpb.Numbers{A: 1, B: 2}, grpc.Trailer(&trailer))
	require.NoError(t, err)
	require.Equal(t, float32(3), res.GetValue())
	require.Equal(t, []string{allowed.Hex()}, trailer.Get(calculator.CallerTrailer))

	for _, tc := range []struct {
		name string
		md   metadata.MD
		code codes.Code
		msg  string
	}{
		{"not allowed", stranger, codes.Unauthenticated, "payment signature is not valid"},
		{"no payment", metadata.MD{}, codes.InvalidArgument, `missing "snet-payment-channel-id"`},
		{"bad mpe", badMPE, codes.InvalidArgument, `Address is not a valid Hex address "snet-payment-mpe-address": 0x12`},
		{"free call", metadata.Pairs(escrow.HeaderPaymentType, "free-call"), codes.Unimplemented, `payment type "free-call" is not enabled on this daemon`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := calc.Add(metadata.NewOutgoingContext(ctx, tc.md), &calculatorpb.Numbers{A: 1, B: 2})
			requireStatus(t, err, tc.code, tc.msg)
		})
	}
}
