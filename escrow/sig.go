package escrow

import (
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// SignatureLength is the size of an r‖s‖v secp256k1 signature.
const SignatureLength = 65

// Prefixes of the signed messages. They are part of the wire contract: clients
// (snet-cli, the SDKs) hash exactly these bytes.
const (
	claimPrefix              = "__MPE_claim_message"
	channelStatePrefix       = "__get_channel_state"
	listUnclaimedPrefix      = "__list_unclaimed"
	listInProgressPrefix     = "__list_in_progress"
	startClaimPrefix         = "__start_claim"
	startMultipleClaimPrefix = "__StartClaimForMultipleChannels_"
	freeCallPrefix           = "__prefix_free_trial"
	meteringPrefix           = "_usage"
)

// Prefixes accepted by ConfigurationMessage, one per configuration-service
// method.
const (
	ConfigGetConfiguration           = "_GetConfiguration"
	ConfigUpdateConfiguration        = "_UpdateConfiguration"
	ConfigStopProcessingRequests     = "_StopProcessingRequests"
	ConfigStartProcessingRequests    = "_StartProcessingRequests"
	ConfigIsDaemonProcessingRequests = "_IsDaemonProcessingRequests"
)

// Errors returned by the message builders and by signature recovery.
var (
	// ErrU256Range: a value is negative, nil or wider than 256 bits, so it has
	// no U256 encoding. Such a value can never carry a valid signature.
	ErrU256Range = errors.New("value out of uint256 range")
	// ErrSignatureLength: a signature is not exactly 65 bytes.
	ErrSignatureLength = errors.New("incorrect signature length")
	// ErrRecoveryID: v mod 27 is not 0 or 1.
	ErrRecoveryID = errors.New("invalid signature recovery id")
	// ErrInvalidSignature: secp256k1 could not recover a public key.
	ErrInvalidSignature = errors.New("invalid signature")
)

const (
	u256Len = 32
	addrLen = common.AddressLength
)

// zeroPad is the left padding of a uint64 inside a U256.
var zeroPad [u256Len - 8]byte

// signedPrefix is what personal_sign puts in front of the 32-byte inner hash.
var signedPrefix = []byte("\x19Ethereum Signed Message:\n32")

// appendUint64 appends v as a U256.
func appendUint64(b []byte, v uint64) []byte {
	b = append(b, zeroPad[:]...)
	return binary.BigEndian.AppendUint64(b, v)
}

// putU256 appends n as a U256. It reports false, leaving b untouched, when n
// has no U256 form; callers turn that into ErrU256Range. Unlike upstream
// (which encodes |n| and keeps the low 32 bytes) we refuse, so a negative or
// oversized header value can never match a signature made for another value.
func putU256(b []byte, n *big.Int) ([]byte, bool) {
	if n == nil || n.Sign() < 0 || n.BitLen() > 8*u256Len {
		return b, false
	}
	l := len(b)
	b = append(b, make([]byte, u256Len)...) // does not allocate: callers pre-size b
	n.FillBytes(b[l : l+u256Len])
	return b, true
}

func u256Error(name string, n *big.Int) error {
	return fmt.Errorf("%s %v: %w", name, n, ErrU256Range)
}

// ClaimMessage is the MPE claim message signed by the channel signer for an
// escrow payment: "__MPE_claim_message" ‖ mpe ‖ U256(channelID) ‖ U256(nonce)
// ‖ U256(amount). The contract's channelClaim verifies the same bytes.
func ClaimMessage(mpe common.Address, channelID, nonce, amount *big.Int) ([]byte, error) {
	b := make([]byte, 0, len(claimPrefix)+addrLen+3*u256Len)
	b = append(b, claimPrefix...)
	b = append(b, mpe[:]...)
	var ok bool
	if b, ok = putU256(b, channelID); !ok {
		return nil, u256Error("channel id", channelID)
	}
	if b, ok = putU256(b, nonce); !ok {
		return nil, u256Error("nonce", nonce)
	}
	if b, ok = putU256(b, amount); !ok {
		return nil, u256Error("amount", amount)
	}
	return b, nil
}

// ChannelStateMessage is signed by a channel party to call GetChannelState.
func ChannelStateMessage(mpe common.Address, channelID *big.Int, currentBlock uint64) ([]byte, error) {
	b := make([]byte, 0, len(channelStatePrefix)+addrLen+2*u256Len)
	b = append(b, channelStatePrefix...)
	b = append(b, mpe[:]...)
	var ok bool
	if b, ok = putU256(b, channelID); !ok {
		return nil, u256Error("channel id", channelID)
	}
	return appendUint64(b, currentBlock), nil
}

// ListUnclaimedMessage is signed by the provider to call GetListUnclaimed.
func ListUnclaimedMessage(mpe common.Address, currentBlock uint64) []byte {
	return mpeBlockMessage(listUnclaimedPrefix, mpe, currentBlock)
}

// ListInProgressMessage is signed by the provider to call GetListInProgress.
func ListInProgressMessage(mpe common.Address, currentBlock uint64) []byte {
	return mpeBlockMessage(listInProgressPrefix, mpe, currentBlock)
}

func mpeBlockMessage(prefix string, mpe common.Address, currentBlock uint64) []byte {
	b := make([]byte, 0, len(prefix)+addrLen+u256Len)
	b = append(b, prefix...)
	b = append(b, mpe[:]...)
	return appendUint64(b, currentBlock)
}

// StartClaimMessage is signed by the provider to call StartClaim. nonce is
// the daemon's current nonce for the channel, not a client-chosen value.
func StartClaimMessage(mpe common.Address, channelID, nonce *big.Int) ([]byte, error) {
	b := make([]byte, 0, len(startClaimPrefix)+addrLen+2*u256Len)
	b = append(b, startClaimPrefix...)
	b = append(b, mpe[:]...)
	var ok bool
	if b, ok = putU256(b, channelID); !ok {
		return nil, u256Error("channel id", channelID)
	}
	if b, ok = putU256(b, nonce); !ok {
		return nil, u256Error("nonce", nonce)
	}
	return b, nil
}

// StartMultipleClaimMessage is signed by the provider to call
// StartClaimForMultipleChannels. The ids are hashed in ascending order
// whatever the request order; ids itself is not modified.
func StartMultipleClaimMessage(mpe common.Address, ids []uint64, currentBlock uint64) []byte {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	b := make([]byte, 0, len(startMultipleClaimPrefix)+addrLen+(len(ids)+1)*u256Len)
	b = append(b, startMultipleClaimPrefix...)
	b = append(b, mpe[:]...)
	for _, id := range sorted {
		b = appendUint64(b, id)
	}
	return appendUint64(b, currentBlock)
}

// OperatorMessage is signed by an operator (one of the daemon's
// authentication_addresses) to call snet-daemon's configuration service:
// the method's prefix ("_GetConfiguration", "_StopProcessingRequests", ...)
// followed by the current block.
func OperatorMessage(prefix string, currentBlock uint64) []byte {
	return appendUint64(append(make([]byte, 0, len(prefix)+u256Len), prefix...), currentBlock)
}

// FreeCallTokenRequestMessage is signed by the user (or a trusted web2
// signer) to call GetFreeCallToken. address is hashed as the text the client
// sent, not as 20 bytes, so its case matters.
func FreeCallTokenRequestMessage(address, userID, orgID, serviceID, groupIDB64 string, currentBlock uint64) []byte {
	return freeCallMessage(address, userID, orgID, serviceID, groupIDB64, currentBlock, nil)
}

// FreeCallMessage is signed by the user for a free call or for
// GetFreeCallsAvailable: the token request message followed by the whole
// token (signature ‖ "_" ‖ expiry block).
func FreeCallMessage(address, userID, orgID, serviceID, groupIDB64 string, currentBlock uint64, token []byte) []byte {
	return freeCallMessage(address, userID, orgID, serviceID, groupIDB64, currentBlock, token)
}

func freeCallMessage(address, userID, orgID, serviceID, groupIDB64 string, currentBlock uint64, token []byte) []byte {
	b := make([]byte, 0, len(freeCallPrefix)+len(address)+len(userID)+len(orgID)+
		len(serviceID)+len(groupIDB64)+u256Len+len(token))
	b = append(b, freeCallPrefix...)
	b = append(b, address...)
	b = append(b, userID...)
	b = append(b, orgID...)
	b = append(b, serviceID...)
	b = append(b, groupIDB64...)
	b = appendUint64(b, currentBlock)
	return append(b, token...)
}

// FreeCallTokenBody is what the daemon's free-call key signs to mint a token.
// groupName is the payment group's name (e.g. "default_group"), not its id.
func FreeCallTokenBody(orgID, groupName string, address common.Address, userID string, expiryBlock uint64) []byte {
	b := make([]byte, 0, len(orgID)+len(groupName)+addrLen+len(userID)+u256Len)
	b = append(b, orgID...)
	b = append(b, groupName...)
	b = append(b, address[:]...)
	b = append(b, userID...)
	return appendUint64(b, expiryBlock)
}

// PrepaidTokenMessage is signed by a channel party to call
// TokenService.GetToken: the MPE claim signature followed by the block.
func PrepaidTokenMessage(claimSig []byte, currentBlock uint64) []byte {
	b := make([]byte, 0, len(claimSig)+u256Len)
	b = append(b, claimSig...)
	return appendUint64(b, currentBlock)
}

// ConfigurationMessage is signed by an operator for the configuration
// service; prefix is one of the Config* constants.
func ConfigurationMessage(prefix string, currentBlock uint64) []byte {
	b := make([]byte, 0, len(prefix)+u256Len)
	b = append(b, prefix...)
	return appendUint64(b, currentBlock)
}

// TrainingMessage authenticates training calls: message is the method name
// (or "unified" for the read-only methods).
func TrainingMessage(message string, signer common.Address, currentBlock uint64) []byte {
	b := make([]byte, 0, len(message)+addrLen+u256Len)
	b = append(b, message...)
	b = append(b, signer[:]...)
	return appendUint64(b, currentBlock)
}

// MeteringMessage is what the daemon signs with its metering key to
// authenticate requests to the metering service.
func MeteringMessage(username, orgID, serviceID, groupIDB64 string, currentBlock uint64) []byte {
	b := make([]byte, 0, len(meteringPrefix)+len(username)+len(orgID)+len(serviceID)+
		len(groupIDB64)+u256Len)
	b = append(b, meteringPrefix...)
	b = append(b, username...)
	b = append(b, orgID...)
	b = append(b, serviceID...)
	b = append(b, groupIDB64...)
	return appendUint64(b, currentBlock)
}

// SignedHash returns keccak256("\x19Ethereum Signed Message:\n32" ‖
// keccak256(message)), the digest every signature in the protocol covers.
func SignedHash(message []byte) []byte {
	h := signedHash(message)
	return h[:]
}

func signedHash(message []byte) common.Hash {
	s := scratchPool.Get().(*scratch)
	h := s.signedHash(message)
	scratchPool.Put(s)
	return h
}

// scratch holds a keccak state and the buffers that would otherwise escape
// to the heap on every call (through the hash.Hash interface and cgo).
type scratch struct {
	keccak crypto.KeccakState
	hash   common.Hash
	sig    [SignatureLength]byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{keccak: crypto.NewKeccakState()} }}

func (s *scratch) signedHash(message []byte) common.Hash {
	s.keccak.Reset()
	s.keccak.Write(message)
	s.keccak.Read(s.hash[:])
	s.keccak.Reset()
	s.keccak.Write(signedPrefix)
	s.keccak.Write(s.hash[:])
	s.keccak.Read(s.hash[:])
	return s.hash
}

// Sign signs message the way clients do (personal_sign over its keccak). The
// result is 65 bytes with v in {0,1}, the go-ethereum convention the daemon
// uses for its own signatures.
func Sign(message []byte, key *ecdsa.PrivateKey) ([]byte, error) {
	h := signedHash(message)
	sig, err := crypto.Sign(h[:], key)
	if err != nil {
		return nil, fmt.Errorf("sign message: %w", err)
	}
	return sig, nil
}

// RecoverSigner returns the address whose key produced sig over message.
// v is taken mod 27, so both the raw (0/1) and the Ethereum (27/28) forms are
// accepted; any other recovery id fails with ErrRecoveryID. The caller must
// still compare the address with the expected signer.
func RecoverSigner(message, sig []byte) (common.Address, error) {
	if len(sig) != SignatureLength {
		return common.Address{}, fmt.Errorf("%w: got %d bytes", ErrSignatureLength, len(sig))
	}
	v := sig[SignatureLength-1] % 27
	if v > 1 {
		// Upstream would hand ids 2 and 3 to secp256k1; they only recover
		// when r ≥ n, which honest signers never produce.
		return common.Address{}, fmt.Errorf("%w: v=%d", ErrRecoveryID, sig[SignatureLength-1])
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	// Normalise v in a copy: the caller's buffer is never written.
	copy(s.sig[:], sig)
	s.sig[SignatureLength-1] = v
	s.signedHash(message) // into s.hash: a local would escape through cgo
	pub, err := crypto.Ecrecover(s.hash[:], s.sig[:])
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	// pub is 0x04 ‖ X ‖ Y and the address is the low 20 bytes of keccak(X ‖
	// Y); hashing it here avoids SigToPub's big.Int unmarshalling.
	s.keccak.Reset()
	s.keccak.Write(pub[1:])
	s.keccak.Read(s.hash[:])
	return common.Address(s.hash[12:]), nil
}
