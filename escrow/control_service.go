package escrow

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	escrowpb "github.com/tariffd/tariff/proto/escrow"
)

// TrailerClaimFailed is the reply trailer of StartClaimForMultipleChannels
// that names each channel whose claim did not start, as "<id>: <reason>"
// (one value per channel). Clients that do not read it lose nothing: the
// claims that did start are in the reply.
const TrailerClaimFailed = "tariff-claim-failed"

// ControlService is escrow.ProviderControlService: the provider's treasurer
// lists the payments the daemon holds and freezes them for claiming. The
// daemon never sends a transaction; the treasurer submits the claims.
//
// The treasurer flow (what snet-cli's `treasurer claim` does), for client
// authors:
//
//  1. GetListInProgress: claims started earlier and not mined yet (the call
//     first forgets those whose nonce the chain has passed). Submit each to
//     the MultiPartyEscrow contract: channelClaim(channel_id, signed_amount,
//     signed_amount, v, r, s, false) with r‖s‖v = signature and v = v%27+27,
//     or batch them with multiChannelClaim. Do these first: the contract
//     only takes a claim at the channel's current nonce, so an older pending
//     claim blocks a newer one.
//  2. GetListUnclaimed: channels with a payment not yet claimed (no
//     signatures). Skip those whose nonce differs from the chain's: a claim
//     of theirs is still in flight.
//  3. StartClaim (signed over the channel's current nonce) or
//     StartClaimForMultipleChannels: the daemon saves the latest payment as
//     a claim in progress and moves the channel to the next nonce, with the
//     claimed amount taken out of its value; the client keeps paying in the
//     new nonce from 0, and GetChannelState reports the old nonce's amount
//     until the claim is mined.
//  4. Submit the returned signatures as in step 1. Once a claim is mined the
//     chain's nonce passes it and the next GetListInProgress or StartClaim
//     deletes it. If a submission fails, the claim stays in progress: start
//     again from step 1.
//
// Every request is signed by the group's payment address (§2 of the wire
// contract), over a recent block for the lists and the multi-channel claim
// (±5 blocks of the head) and over the channel's current nonce for
// StartClaim, which is what makes a replayed StartClaim fail. Refusals carry
// snet-daemon's texts as plain errors (gRPC code Unknown, as upstream sends
// them); storage and chain failures are Unavailable and change nothing.
type ControlService struct {
	escrowpb.UnimplementedProviderControlServiceServer
	c *Channels
}

// NewControlService serves the claims of c's payment group; it reads the
// chain through c's ChainView (Head for the block window, Refresh for the
// fresh channel reads a claim decision needs).
func NewControlService(c *Channels) *ControlService { return &ControlService{c: c} }

// GetListUnclaimed lists the channels with an unclaimed payment: id, nonce,
// amount and expiry, without signatures (clients reject a reply with one).
func (s *ControlService) GetListUnclaimed(ctx context.Context, req *escrowpb.GetPaymentsListRequest) (*escrowpb.PaymentsListReply, error) {
	if err := s.authorizeList(ctx, req, ListUnclaimedMessage); err != nil {
		return nil, err
	}
	channels, err := s.c.unclaimed(ctx)
	if err != nil {
		return nil, controlError(err)
	}
	reply := &escrowpb.PaymentsListReply{Payments: make([]*escrowpb.PaymentReply, 0, len(channels))}
	for _, ch := range channels {
		reply.Payments = append(reply.Payments, &escrowpb.PaymentReply{
			ChannelId:     U256Bytes(ch.ChannelID),
			ChannelNonce:  U256Bytes(ch.Nonce),
			SignedAmount:  U256Bytes(ch.AuthorizedAmount),
			ChannelExpiry: U256Bytes(ch.Expiration),
		})
	}
	return reply, nil
}

// GetListInProgress lists the claims started and not completed on chain,
// with the signatures to submit.
func (s *ControlService) GetListInProgress(ctx context.Context, req *escrowpb.GetPaymentsListRequest) (*escrowpb.PaymentsListReply, error) {
	if err := s.authorizeList(ctx, req, ListInProgressMessage); err != nil {
		return nil, err
	}
	claims, err := s.c.collectClaims(ctx)
	if err != nil {
		return nil, controlError(err)
	}
	reply := &escrowpb.PaymentsListReply{Payments: make([]*escrowpb.PaymentReply, 0, len(claims))}
	for _, rec := range claims {
		if len(rec.Signature) == 0 || rec.Amount.Sign() == 0 {
			s.c.log.WarnContext(ctx, "claim without signature or amount skipped", "channel", rec.ChannelID, "nonce", rec.ChannelNonce)
			continue
		}
		p := claimReply(rec)
		ch, err := s.c.Load(ctx, rec.ChannelID)
		switch {
		case errors.Is(err, ErrStorage):
			return nil, controlError(err)
		case err != nil:
			// Upstream drops the claim here; it is listed without an expiry
			// instead, so that its signature is not hidden from the treasurer.
			s.c.log.WarnContext(ctx, "no channel state for claim in progress", "channel", rec.ChannelID, "err", err)
		default:
			p.ChannelExpiry = U256Bytes(ch.Expiration)
		}
		reply.Payments = append(reply.Payments, p)
	}
	return reply, nil
}

// StartClaim starts the claim of one channel's latest payment. There is no
// block window: the signature covers the channel's current nonce instead.
func (s *ControlService) StartClaim(ctx context.Context, req *escrowpb.StartClaimRequest) (*escrowpb.PaymentReply, error) {
	c := s.c
	if err := s.checkMPE(req.GetMpeAddress()); err != nil {
		return nil, err
	}
	id := new(big.Int).SetBytes(req.GetChannelId())
	if id.BitLen() > 256 {
		return nil, claimNotFound(id) // no such channel; not worth an etcd read
	}
	ch, err := c.Load(ctx, id)
	if errors.Is(err, ErrChannelNotFound) {
		return nil, claimNotFound(id)
	}
	if err != nil {
		return nil, controlError(err)
	}
	msg, err := StartClaimMessage(c.group.MPE, id, ch.Nonce)
	if err != nil {
		return nil, claimNotFound(id) // an id outside uint256 has no channel
	}
	if err := s.checkSigner(msg, req.GetSignature()); err != nil {
		return nil, err
	}
	if _, err := c.collectClaims(ctx); err != nil {
		return nil, controlError(err)
	}
	rec, err := c.startClaim(ctx, id, ch.Nonce)
	if err != nil {
		return nil, controlError(err)
	}
	return claimReply(rec), nil
}

// StartClaimForMultipleChannels starts the claims of several channels, in
// request order.
//
// Upstream stops at the first failure and returns only the error, dropping
// the claims it had already started from the reply (they are still started,
// and only GetListInProgress shows them again). Here every channel is tried
// and the reply lists every claim that started; each failure is logged and
// named in the TrailerClaimFailed trailer. Only when no claim started is the
// (first) failure returned as the call's error, so a single-channel request
// fails exactly as upstream's does. A storage or chain failure stops the
// loop: the remaining channels could not be claimed either, and are named in
// the trailer as not attempted. Repeated ids are claimed once.
func (s *ControlService) StartClaimForMultipleChannels(ctx context.Context, req *escrowpb.StartMultipleClaimRequest) (*escrowpb.PaymentsListReply, error) {
	c := s.c
	if err := s.checkMPE(req.GetMpeAddress()); err != nil {
		return nil, err
	}
	if err := c.checkBlock(ctx, req.GetCurrentBlock()); err != nil {
		return nil, err
	}
	// The message hashes the ids in ascending order, whatever the request order.
	msg := StartMultipleClaimMessage(c.group.MPE, req.GetChannelIds(), req.GetCurrentBlock())
	if err := s.checkSigner(msg, req.GetSignature()); err != nil {
		return nil, err
	}
	if _, err := c.collectClaims(ctx); err != nil {
		return nil, controlError(err)
	}

	reply := &escrowpb.PaymentsListReply{Payments: make([]*escrowpb.PaymentReply, 0, len(req.GetChannelIds()))}
	var (
		failed []string
		first  error
		done   = make(map[uint64]bool, len(req.GetChannelIds()))
	)
	for i, id := range req.GetChannelIds() {
		if done[id] {
			continue
		}
		done[id] = true
		rec, err := c.startClaim(ctx, new(big.Int).SetUint64(id), nil)
		if err == nil {
			reply.Payments = append(reply.Payments, claimReply(rec))
			continue
		}
		c.log.WarnContext(ctx, "claim not started", "channel", id, "err", err)
		failed = append(failed, trailerValue(fmt.Sprintf("%d: %v", id, err)))
		if first == nil {
			first = err
		}
		if errors.Is(err, ErrStorage) || errors.Is(err, ErrChainUnavailable) {
			for _, rest := range req.GetChannelIds()[i+1:] {
				if !done[rest] {
					done[rest] = true
					failed = append(failed, fmt.Sprintf("%d: not attempted", rest))
				}
			}
			break
		}
	}
	if len(reply.Payments) == 0 && first != nil {
		return nil, controlError(first)
	}
	if len(failed) > 0 {
		// Outside a gRPC server (direct calls) there is no trailer to set.
		_ = grpc.SetTrailer(ctx, metadata.MD{TrailerClaimFailed: failed})
	}
	return reply, nil
}

// authorizeList runs the checks common to the two lists, in upstream's
// order: MPE address, block window, signer.
func (s *ControlService) authorizeList(ctx context.Context, req *escrowpb.GetPaymentsListRequest, message func(common.Address, uint64) []byte) error {
	if err := s.checkMPE(req.GetMpeAddress()); err != nil {
		return err
	}
	if err := s.c.checkBlock(ctx, req.GetCurrentBlock()); err != nil {
		return err
	}
	return s.checkSigner(message(s.c.group.MPE, req.GetCurrentBlock()), req.GetSignature())
}

// checkMPE compares the address as upstream does (HexToAddress, so letter
// case does not matter).
func (s *ControlService) checkMPE(mpe string) error {
	if common.HexToAddress(mpe) != s.c.group.MPE {
		return fmt.Errorf("the mpeAddress: %s passed does not match to what has been registered", mpe)
	}
	return nil
}

// checkSigner accepts only the group's payment address.
func (s *ControlService) checkSigner(message, sig []byte) error {
	signer, err := RecoverSigner(message, sig)
	if err != nil {
		return err
	}
	if signer != s.c.group.PaymentAddress {
		return fmt.Errorf("the address: %s does not match to what has been expected / registered", signer.Hex())
	}
	return nil
}

// claimReply is a claim as PaymentReply carries it (no expiry).
func claimReply(rec *PaymentRecord) *escrowpb.PaymentReply {
	return &escrowpb.PaymentReply{
		ChannelId:    U256Bytes(rec.ChannelID),
		ChannelNonce: U256Bytes(rec.ChannelNonce),
		SignedAmount: U256Bytes(rec.Amount),
		Signature:    rec.Signature,
	}
}

// controlError gives a failure its gRPC status. Refusals stay plain errors
// with upstream's texts (code Unknown, as upstream sends them); storage and
// chain failures are Unavailable: nothing changed, and the call may be
// retried.
// Storage is checked first: etcd's own errors are gRPC statuses (such as
// DeadlineExceeded), and wrapped in ErrStorage they must not leak as such.
func controlError(err error) error {
	if errors.Is(err, ErrStorage) || errors.Is(err, ErrChainUnavailable) {
		return status.Error(codes.Unavailable, err.Error())
	}
	return err
}

// trailerValue keeps a metadata value to printable ASCII, as gRPC requires.
func trailerValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
