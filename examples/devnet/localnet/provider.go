package localnet

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/tariffd/tariff/escrow"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Claim plays the provider's treasurer, as snet-cli's "treasurer claim"
// does: list the unclaimed channels, start a claim on each in tariffd, and
// claim the signed amount on chain. It returns the amount claimed.
func (n *Network) Claim(ctx context.Context, out io.Writer) (*big.Int, error) {
	conn, err := grpc.NewClient(n.DaemonAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	control := escrowpb.NewProviderControlServiceClient(conn)
	key, mpe := n.Sim.Provider.Key, n.Sim.Contracts.MPE
	head, err := n.Sim.Head(ctx)
	if err != nil {
		return nil, err
	}
	sig, err := escrow.Sign(escrow.ListUnclaimedMessage(mpe, head), key)
	if err != nil {
		return nil, err
	}
	list, err := control.GetListUnclaimed(ctx, &escrowpb.GetPaymentsListRequest{MpeAddress: mpe.Hex(), CurrentBlock: head, Signature: sig})
	if err != nil {
		return nil, fmt.Errorf("list unclaimed: %w", err)
	}
	before, err := n.Sim.Contracts.MPEBalance(ctx, n.Sim.Provider.Address)
	if err != nil {
		return nil, err
	}
	total := new(big.Int)
	for _, p := range list.GetPayments() {
		id, nonce := new(big.Int).SetBytes(p.GetChannelId()), new(big.Int).SetBytes(p.GetChannelNonce())
		msg, err := escrow.StartClaimMessage(mpe, id, nonce)
		if err != nil {
			return nil, err
		}
		if sig, err = escrow.Sign(msg, key); err != nil {
			return nil, err
		}
		claim, err := control.StartClaim(ctx, &escrowpb.StartClaimRequest{MpeAddress: mpe.Hex(), ChannelId: p.GetChannelId(), Signature: sig})
		if err != nil {
			return nil, fmt.Errorf("start claim on channel %s: %w", id, err)
		}
		amount := new(big.Int).SetBytes(claim.GetSignedAmount())
		// The client's own signature authorises the contract to pay out.
		if err := n.Sim.Contracts.ChannelClaim(ctx, n.Sim.Provider.Opts(), id, amount, amount, claim.GetSignature(), false); err != nil {
			return nil, fmt.Errorf("channelClaim %s on chain: %w", id, err)
		}
		total.Add(total, amount)
		fmt.Fprintf(out, "provider claimed %s cogs from channel %s (nonce %s) on chain\n", amount, id, nonce)
	}
	after, err := n.Sim.Contracts.MPEBalance(ctx, n.Sim.Provider.Address)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "provider's escrow balance: %s -> %s cogs\n", before, after)
	return total, nil
}

// FreeCall plays a new user who has no channel: it asks tariffd for a
// free-call token and makes a free call with it.
func (n *Network) FreeCall(ctx context.Context, out io.Writer) (remaining uint64, err error) {
	conn, err := grpc.NewClient(n.DaemonAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	user := n.Sim.Other
	address := user.Address.Hex()
	head, err := n.Sim.Head(ctx)
	if err != nil {
		return 0, err
	}
	groupB64 := n.groupB64()
	sig, err := escrow.Sign(escrow.FreeCallTokenRequestMessage(address, "", OrgID, ServiceID, groupB64, head), user.Key)
	if err != nil {
		return 0, err
	}
	state := escrowpb.NewFreeCallStateServiceClient(conn)
	tok, err := state.GetFreeCallToken(ctx, &escrowpb.GetFreeCallTokenRequest{Address: address, Signature: sig, CurrentBlock: head})
	if err != nil {
		return 0, fmt.Errorf("free-call token: %w", err)
	}
	md, err := freeCallMetadata(user.Key, address, head, tok.GetToken(), groupB64)
	if err != nil {
		return 0, err
	}
	r, err := n.calc(conn).Add(withMD(ctx, md), calcArgs(40, 2))
	if err != nil {
		return 0, fmt.Errorf("free call: %w", err)
	}
	if sig, err = escrow.Sign(escrow.FreeCallMessage(address, "", OrgID, ServiceID, groupB64, head, tok.GetToken()), user.Key); err != nil {
		return 0, err
	}
	left, err := state.GetFreeCallsAvailable(ctx, &escrowpb.FreeCallStateRequest{Address: address, FreeCallToken: tok.GetToken(), Signature: sig, CurrentBlock: head})
	if err != nil {
		return 0, fmt.Errorf("free calls available: %w", err)
	}
	fmt.Fprintf(out, "user %s made a free call: add(40, 2) = %g; %d free calls left\n", address, r.GetValue(), left.GetFreeCallsAvailable())
	return left.GetFreeCallsAvailable(), nil
}

// Prepaid plays a client in prepaid mode: it signs a larger amount once,
// receives a token from tariffd, and makes calls concurrently with it, with
// no signature per call. It returns how many calls were served.
func (n *Network) Prepaid(ctx context.Context, out io.Writer, calls int) (int, error) {
	id, err := n.OpenChannel(ctx, 1_000_000, 100_000)
	if err != nil {
		return 0, err
	}
	conn, err := grpc.NewClient(n.DaemonAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	key, mpe := n.Sim.Sender.Key, n.Sim.Contracts.MPE
	price := big.NewInt(Prices["add"])
	planned := new(big.Int).Mul(price, big.NewInt(int64(calls)))
	claimMsg, err := escrow.ClaimMessage(mpe, id, new(big.Int), planned)
	if err != nil {
		return 0, err
	}
	claimSig, err := escrow.Sign(claimMsg, key)
	if err != nil {
		return 0, err
	}
	head, err := n.Sim.Head(ctx)
	if err != nil {
		return 0, err
	}
	sig, err := escrow.Sign(escrow.PrepaidTokenMessage(claimSig, head), key)
	if err != nil {
		return 0, err
	}
	tok, err := escrowpb.NewTokenServiceClient(conn).GetToken(ctx, &escrowpb.TokenRequest{
		ChannelId: id.Uint64(), CurrentNonce: 0, SignedAmount: planned.Uint64(),
		Signature: sig, CurrentBlock: head, ClaimSignature: claimSig,
	})
	if err != nil {
		return 0, fmt.Errorf("prepaid token: %w", err)
	}
	fmt.Fprintf(out, "client prepaid %d cogs on channel %s and got a token (planned %d, used %d)\n",
		planned, id, tok.GetPlannedAmount(), tok.GetUsedAmount())
	md := metadata.Pairs(
		escrow.HeaderPaymentType, escrow.PaymentTypePrepaid,
		escrow.HeaderChannelID, id.String(),
		escrow.HeaderChannelNonce, "0",
		escrow.HeaderPrepaidAuthToken, tok.GetToken(),
	)
	calc := n.calc(conn)
	served := make(chan bool, calls+2)
	var wg sync.WaitGroup
	for range calls + 2 { // two more than prepaid: they must be refused
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := calc.Add(withMD(ctx, md), calcArgs(1, 1))
			served <- err == nil
		}()
	}
	wg.Wait()
	close(served)
	ok := 0
	for s := range served {
		if s {
			ok++
		}
	}
	fmt.Fprintf(out, "%d concurrent prepaid calls served, %d refused once the prepaid amount was used\n", ok, calls+2-ok)
	return ok, nil
}
