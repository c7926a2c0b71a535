package localnet

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"strconv"

	"github.com/tariffd/tariff/escrow"
	"google.golang.org/grpc/metadata"

	"github.com/tariffd/tariff/escrow/paidcall"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// DemoResult is what the demo client did.
type DemoResult struct {
	ChannelID   *big.Int
	Calls       int
	Spent       *big.Int // cumulative signed amount
	StateNonce  *big.Int // from GetChannelState at the end
	StateAmount *big.Int
}

// Demo plays a client: it opens a channel, reads its state from tariffd,
// makes paid calls at the metadata's per-method prices and reads the state
// again, printing what happens to out.
func (n *Network) Demo(ctx context.Context, out io.Writer, rounds int) (*DemoResult, error) {
	id, err := n.OpenChannel(ctx, 1_000_000, 100_000)
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	fmt.Fprintf(out, "client %s opened channel %s with 1000000 cogs\n", n.Sim.Sender.Address.Hex(), id)

	conn, err := grpc.NewClient(n.DaemonAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	head, err := n.Sim.Head(ctx)
	if err != nil {
		return nil, err
	}
	payer := paidcall.NewPayer(n.Sim.Sender.Key, n.Sim.Contracts.MPE, id, new(big.Int), new(big.Int))
	if err := payer.Sync(ctx, conn, head); err != nil {
		return nil, err
	}
	calc := calculatorpb.NewCalculatorClient(conn)
	res := &DemoResult{ChannelID: id}
	for i := range rounds {
		a, b := float32(i+1), float32(2)
		for _, op := range []struct {
			name string
			call func(context.Context, *calculatorpb.Numbers, ...grpc.CallOption) (*calculatorpb.Result, error)
		}{{"add", calc.Add}, {"mul", calc.Mul}} {
			price := big.NewInt(Prices[op.name])
			pctx, err := payer.Pay(ctx, price)
			if err != nil {
				return nil, err
			}
			r, err := op.call(pctx, &calculatorpb.Numbers{A: a, B: b})
			if err != nil {
				payer.Undo(price)
				return nil, fmt.Errorf("paid call %s: %w", op.name, err)
			}
			_, signed := payer.Signed()
			res.Calls++
			fmt.Fprintf(out, "  %s(%g, %g) = %g   paid %d cogs, signed total %s\n", op.name, a, b, r.GetValue(), price, signed)
		}
	}
	if head, err = n.Sim.Head(ctx); err != nil {
		return nil, err
	}
	st, err := paidcall.State(ctx, conn, n.Sim.Sender.Key, n.Sim.Contracts.MPE, id, head)
	if err != nil {
		return nil, fmt.Errorf("channel state: %w", err)
	}
	_, res.Spent = payer.Signed()
	res.StateNonce = new(big.Int).SetBytes(st.GetCurrentNonce())
	res.StateAmount = new(big.Int).SetBytes(st.GetCurrentSignedAmount())
	fmt.Fprintf(out, "tariffd reports channel %s: nonce %s, signed amount %s cogs (the provider can claim it)\n",
		id, res.StateNonce, res.StateAmount)
	return res, nil
}

func (n *Network) calc(conn *grpc.ClientConn) calculatorpb.CalculatorClient {
	return calculatorpb.NewCalculatorClient(conn)
}

func calcArgs(a, b float32) *calculatorpb.Numbers { return &calculatorpb.Numbers{A: a, B: b} }

func withMD(ctx context.Context, md metadata.MD) context.Context {
	return metadata.NewOutgoingContext(ctx, md)
}

func (n *Network) groupB64() string { return base64.StdEncoding.EncodeToString(n.GroupID[:]) }

// freeCallMetadata is what a client sends with a free call (v6 protocol).
func freeCallMetadata(key *ecdsa.PrivateKey, address string, block uint64, token []byte, groupB64 string) (metadata.MD, error) {
	sig, err := escrow.Sign(escrow.FreeCallMessage(address, "", OrgID, ServiceID, groupB64, block, token), key)
	if err != nil {
		return nil, err
	}
	return metadata.Pairs(
		escrow.HeaderPaymentType, escrow.PaymentTypeFreeCall,
		escrow.HeaderFreeCallUserAddress, address,
		escrow.HeaderCurrentBlockNumber, strconv.FormatUint(block, 10),
		escrow.HeaderFreeCallAuthToken, string(token),
		escrow.HeaderChannelSignature, string(sig),
	), nil
}
