package escrow

import (
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Curated checks a call in the allowed-user mode without a chain
// (allowed_user_flag with blockchain_enabled false, test networks only):
// the escrow headers must be complete, and their MPE claim signature, over
// the snet-payment-mpe-address header's contract, must recover to one of
// allowed. Nothing is charged or stored. It returns the user.
func Curated(md metadata.MD, allowed []common.Address) (common.Address, error) {
	p, err := ParseEscrowPayment(md)
	if err != nil {
		return common.Address{}, err
	}
	mpe, err := ParseMPEAddress(md)
	if err != nil {
		return common.Address{}, err
	}
	msg, err := ClaimMessage(mpe, p.ChannelID, p.Nonce, p.Amount)
	if err != nil {
		return common.Address{}, status.Errorf(codes.InvalidArgument, "payment: %v", err)
	}
	signer, err := RecoverSigner(msg, p.Signature)
	if err != nil || !slices.Contains(allowed, signer) {
		return common.Address{}, status.Error(codes.Unauthenticated, "payment signature is not valid")
	}
	return signer, nil
}
