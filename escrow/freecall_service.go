package escrow

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	escrowpb "github.com/tariffd/tariff/proto/escrow"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Upstream's answers when free-call tokens cannot be issued.
var (
	ErrFreeCallTokenDisabled = errors.New("error in generating token because blockchain is disabled, contact service provider")
	ErrFreeCallStateDisabled = errors.New("error in determining free calls because blockchain is disabled, contact service provider")
)

// FreeCallStateService is escrow.FreeCallStateService: clients get a
// free-call token and ask how many free calls they have left. Its errors
// are plain errors (gRPC code Unknown) with upstream's messages, except
// where noted.
type FreeCallStateService struct {
	escrowpb.UnimplementedFreeCallStateServiceServer
	f *FreeCalls
}

// NewFreeCallStateService serves free-call state from f. With f nil
// (blockchain disabled), or without a signing key that matches the
// metadata signer, it is upstream's disabled stub.
func NewFreeCallStateService(f *FreeCalls) *FreeCallStateService {
	return &FreeCallStateService{f: f}
}

func (s *FreeCallStateService) enabled() bool { return s.f != nil && s.f.issuing }

// GetFreeCallToken issues a token for address (and user_id, for trusted
// signers) valid until head + lifetime.
func (s *FreeCallStateService) GetFreeCallToken(ctx context.Context, req *escrowpb.GetFreeCallTokenRequest) (*escrowpb.FreeCallToken, error) {
	if !s.enabled() {
		return nil, ErrFreeCallTokenDisabled
	}
	f := s.f
	o := &f.opts
	msg := FreeCallTokenRequestMessage(req.GetAddress(), req.GetUserId(), o.OrgID, o.ServiceID, o.GroupIDBase64, req.GetCurrentBlock())
	signer, err := RecoverSigner(msg, req.GetSignature())
	if err != nil {
		return nil, err
	}
	if err := f.curation(signer); err != nil {
		return nil, err
	}
	address := common.HexToAddress(req.GetAddress())
	if signer != address {
		return nil, fmt.Errorf("invalid signer, %s (from request) is not equal to %s (signer)", req.GetAddress(), signer.Hex())
	}
	head, err := headFor(ctx, o.Head, req.GetCurrentBlock())
	if err != nil {
		return nil, fmt.Errorf("cannot determine current block: %w", err)
	}
	if !inBlockWindow(req.GetCurrentBlock(), head) {
		return nil, errors.New("authentication failed as the signature passed has expired")
	}
	if !slices.Contains(o.TrustedSigners, signer) {
		if req.GetUserId() != "" {
			return nil, errors.New("your address is not trusted by this service provider, the use of user_id is not allowed")
		}
		if err := f.checkBalance(ctx, address); err != nil {
			return nil, err
		}
	}
	lifetime := uint64(DefaultFreeCallTokenLifetime)
	if l := req.TokenLifetimeInBlocks; l != nil && *l <= DefaultFreeCallTokenLifetime {
		lifetime = *l // a longer one is ignored, as upstream
	}
	expiry := head + lifetime
	if expiry < head {
		return nil, errors.New("authentication failed as the signature passed has expired") // unreachable with real heads
	}
	sig, err := Sign(FreeCallTokenBody(o.OrgID, o.GroupName, address, req.GetUserId(), expiry), o.SigningKey)
	if err != nil {
		return nil, fmt.Errorf("sign free-call token: %w", err)
	}
	token := FormatFreeCallToken(sig, expiry)
	return &escrowpb.FreeCallToken{Token: token, TokenHex: hex.EncodeToString(token), TokenExpirationBlock: expiry}, nil
}

// checkBalance requires the minimum token balance of untrusted callers.
// Upstream means PermissionDenied but its error type hides the code (the
// client sees Unknown with the status text wrapped); we return the status
// itself, with the same text. A balance that cannot be read refuses the
// token too, but says so (upstream reports it as a low balance).
func (f *FreeCalls) checkBalance(ctx context.Context, addr common.Address) error {
	o := &f.opts
	if o.MinBalance == nil || o.MinBalance.Sign() == 0 {
		return nil
	}
	bal, err := o.Balances.TokenBalance(ctx, o.Token, addr)
	if err != nil {
		f.log.ErrorContext(ctx, "free call token: read balance", "address", addr.Hex(), "token", o.Token.Hex(), "err", err)
		return status.Errorf(codes.Unavailable, "cannot read the FET (ASI) balance of %s, try again later", addr.Hex())
	}
	if bal == nil || bal.Cmp(o.MinBalance) < 0 {
		return status.Errorf(codes.PermissionDenied, "you must have at least %s FET (ASI) in your balance to use free calls", wholeTokens(o.MinBalance))
	}
	return nil
}

// wholeTokens writes an amount of the 18-decimal token in whole tokens, as
// min_balance_for_free_call is configured: 10e18 is "10", 15e17 is "1.5".
func wholeTokens(n *big.Int) string {
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	q, r := new(big.Int).QuoRem(n, unit, new(big.Int))
	if r.Sign() == 0 {
		return q.String()
	}
	frac := strings.TrimRight(fmt.Sprintf("%018s", r.String()), "0")
	return q.String() + "." + frac
}

// GetFreeCallsAvailable validates the request as a free call and reports
// how many free calls the user has left.
func (s *FreeCallStateService) GetFreeCallsAvailable(ctx context.Context, req *escrowpb.FreeCallStateRequest) (*escrowpb.FreeCallStateReply, error) {
	if !s.enabled() {
		return nil, ErrFreeCallStateDisabled
	}
	tokenSig, expiry, err := ParseFreeCallToken(req.GetFreeCallToken())
	if err != nil {
		return nil, err
	}
	p := &FreeCallPayment{
		UserAddress:      req.GetAddress(),
		UserID:           req.GetUserId(),
		CurrentBlock:     req.GetCurrentBlock(),
		Token:            req.GetFreeCallToken(),
		Signature:        req.GetSignature(),
		TokenSignature:   tokenSig,
		TokenExpiryBlock: expiry,
	}
	if r := s.f.validate(ctx, p); r != nil {
		return nil, r
	}
	n, err := s.f.remaining(ctx, p.UserAddress, p.UserID)
	if err != nil {
		return nil, err
	}
	return &escrowpb.FreeCallStateReply{FreeCallsAvailable: n}, nil
}
