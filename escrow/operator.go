package escrow

import (
	"context"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CheckOperator authenticates a call to snet-daemon's configuration
// service: sig, over OperatorMessage(prefix, block), must be by one of
// operators, and block within a few blocks of the head. heads nil (no
// chain) skips the block check, as snet-daemon does.
func CheckOperator(ctx context.Context, heads HeadReader, operators []common.Address, prefix string, block uint64, sig []byte) (common.Address, error) {
	if heads != nil {
		ok, err := checkBlockWindow(ctx, heads, block)
		if err != nil {
			return common.Address{}, status.Errorf(codes.Unavailable, "cannot determine current block: %v", err)
		}
		if !ok {
			return common.Address{}, status.Error(codes.Unauthenticated, "authentication failed as the signature passed has expired")
		}
	}
	signer, err := RecoverSigner(OperatorMessage(prefix, block), sig)
	if err != nil {
		return common.Address{}, status.Errorf(codes.Unauthenticated, "invalid signature: %v", err)
	}
	if !slices.Contains(operators, signer) {
		return common.Address{}, status.Errorf(codes.PermissionDenied, "unauthorized access, %s is not authorized", signer.Hex())
	}
	return signer, nil
}
