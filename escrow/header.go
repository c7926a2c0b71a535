package escrow

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Metadata headers read by the daemon. Keys ending in -bin carry raw bytes
// (grpc has already base64-decoded them); the others are ASCII text.
const (
	HeaderPaymentType          = "snet-payment-type"
	HeaderChannelID            = "snet-payment-channel-id"
	HeaderChannelNonce         = "snet-payment-channel-nonce"
	HeaderChannelAmount        = "snet-payment-channel-amount"
	HeaderChannelSignature     = "snet-payment-channel-signature-bin"
	HeaderMPEAddress           = "snet-payment-mpe-address"
	HeaderFreeCallUserAddress  = "snet-free-call-user-address"
	HeaderFreeCallUserID       = "snet-free-call-user-id"
	HeaderCurrentBlockNumber   = "snet-current-block-number"
	HeaderFreeCallAuthToken    = "snet-free-call-auth-token-bin"
	HeaderPrepaidAuthToken     = "snet-prepaid-auth-token-bin"
	HeaderTrainModelID         = "snet-train-model-id"
	HeaderClientType           = "snet-client-type"
	HeaderUserInfo             = "snet-user-info"
	HeaderUserAgent            = "user-agent"
	HeaderFreeCallTokenExpiry  = "snet-free-call-token-expiry-block" // no longer read: expiry is in the token
	HeaderDerivedDynamicPrice  = "snet-derived-dynamic-price-cost"   // no longer read
	HeaderUserAddress          = "snet-user-address"                 // written: the payer, EIP-55 hex
	HeaderDaemonDebug          = "snet-daemon-debug"                 // written: which interceptor forwarded
	DaemonDebugStreamIntercept = "streamIntercept"
	DaemonDebugUnaryIntercept  = "unaryIntercept"
)

// Values of HeaderPaymentType.
const (
	PaymentTypeEscrow   = "escrow"
	PaymentTypeFreeCall = "free-call"
	PaymentTypePrepaid  = "prepaid-call"
	PaymentTypeTrain    = "train-call"
)

// Free-call token errors; ParseFreeCallPayment reports them as
// InvalidArgument "invalid token: <err>".
var (
	ErrTokenNoSeparator = errors.New("no '_' found")
	ErrTokenBlock       = errors.New("invalid block number")
)

// EscrowPayment is the payment sent with an escrow (or train) call.
type EscrowPayment struct {
	ChannelID *big.Int
	Nonce     *big.Int
	Amount    *big.Int // cumulative amount signed in this nonce, not the price
	Signature []byte
}

// FreeCallPayment is the payment sent with a free call.
type FreeCallPayment struct {
	UserAddress  string // as sent: the exact text is hashed and keys the counter
	UserID       string // empty when absent
	CurrentBlock uint64
	Token        []byte // the whole token, part of the signed message
	Signature    []byte // the user's signature over FreeCallMessage

	TokenSignature   []byte // Token[:65], the daemon's signature over FreeCallTokenBody
	TokenExpiryBlock uint64
}

// PrepaidPayment is the payment sent with a prepaid call.
type PrepaidPayment struct {
	ChannelID *big.Int
	Token     string // the JWT from TokenService.GetToken
}

// PaymentType returns the payment type of a call: only the first value
// counts, and an absent header means escrow.
func PaymentType(md metadata.MD) (string, error) {
	vals := md.Get(HeaderPaymentType)
	if len(vals) == 0 {
		return PaymentTypeEscrow, nil
	}
	switch v := vals[0]; v {
	case PaymentTypeEscrow, PaymentTypeFreeCall, PaymentTypePrepaid, PaymentTypeTrain:
		return v, nil
	default:
		return "", status.Errorf(codes.InvalidArgument, "unexpected \"%s\", value: \"%s\"", HeaderPaymentType, v)
	}
}

// SingleValue returns the only value of key; a missing or repeated header is
// an InvalidArgument error.
func SingleValue(md metadata.MD, key string) (string, error) {
	vals := md.Get(key)
	switch len(vals) {
	case 1:
		return vals[0], nil
	case 0:
		return "", status.Errorf(codes.InvalidArgument, "missing \"%s\"", key)
	default:
		return "", status.Errorf(codes.InvalidArgument, "too many values for key \"%s\": %v", key, vals)
	}
}

// BigIntValue parses the only value of key as an integer. Like upstream it
// auto-detects the base as Go source does (0x, 0o, 0b, and a bare leading 0
// for octal: "010" is 8), with an optional sign and _ separators. Range
// checks are the caller's business.
func BigIntValue(md metadata.MD, key string) (*big.Int, error) {
	s, err := SingleValue(md, key)
	if err != nil {
		return nil, err
	}
	// Fast path for what clients actually send: plain decimal that fits in
	// uint64 (SetString's reader costs three allocations). A leading 0 is
	// left to SetString because it means octal.
	if len(s) <= 19 && (s == "0" || len(s) > 0 && s[0] != '0') {
		if v, ok := parseDecimal([]byte(s)); ok {
			return new(big.Int).SetUint64(v), nil
		}
	}
	n, ok := new(big.Int).SetString(s, 0)
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "incorrect format \"%s\": \"%s\"", key, s)
	}
	return n, nil
}

// BytesValue returns the only value of a -bin key as bytes.
func BytesValue(md metadata.MD, key string) ([]byte, error) {
	if !strings.HasSuffix(key, "-bin") {
		return nil, status.Errorf(codes.InvalidArgument, "incorrect binary key name \"%s\"", key)
	}
	s, err := SingleValue(md, key)
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// ParseEscrowPayment reads the escrow headers in upstream's order, so the
// first error reported is the same.
func ParseEscrowPayment(md metadata.MD) (*EscrowPayment, error) {
	id, err := BigIntValue(md, HeaderChannelID)
	if err != nil {
		return nil, err
	}
	nonce, err := BigIntValue(md, HeaderChannelNonce)
	if err != nil {
		return nil, err
	}
	amount, err := BigIntValue(md, HeaderChannelAmount)
	if err != nil {
		return nil, err
	}
	sig, err := BytesValue(md, HeaderChannelSignature)
	if err != nil {
		return nil, err
	}
	return &EscrowPayment{ChannelID: id, Nonce: nonce, Amount: amount, Signature: sig}, nil
}

// ParseFreeCallPayment reads the free-call headers and splits the token.
func ParseFreeCallPayment(md metadata.MD) (*FreeCallPayment, error) {
	// The user id is optional; like upstream, a repeated one counts as absent.
	var userID string
	if vals := md.Get(HeaderFreeCallUserID); len(vals) == 1 {
		userID = vals[0]
	}
	addr, err := SingleValue(md, HeaderFreeCallUserAddress)
	if err != nil {
		return nil, err
	}
	block, err := BigIntValue(md, HeaderCurrentBlockNumber)
	if err != nil {
		return nil, err
	}
	// Upstream keeps any integer and lets the ±5 block window reject it; a
	// block number outside uint64 can never be within the window.
	if !block.IsUint64() {
		return nil, status.Errorf(codes.InvalidArgument, "incorrect format \"%s\": \"%s\"",
			HeaderCurrentBlockNumber, md.Get(HeaderCurrentBlockNumber)[0])
	}
	sig, err := BytesValue(md, HeaderChannelSignature)
	if err != nil {
		return nil, err
	}
	token, err := BytesValue(md, HeaderFreeCallAuthToken)
	if err != nil {
		return nil, err
	}
	tokenSig, expiry, err := ParseFreeCallToken(token)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "invalid token: %v", err)
	}
	return &FreeCallPayment{
		UserAddress:      addr,
		UserID:           userID,
		CurrentBlock:     block.Uint64(),
		Token:            token,
		Signature:        sig,
		TokenSignature:   tokenSig,
		TokenExpiryBlock: expiry,
	}, nil
}

// ParsePrepaidPayment reads the prepaid-call headers. The nonce header that
// clients also send is ignored, as upstream does.
func ParsePrepaidPayment(md metadata.MD) (*PrepaidPayment, error) {
	id, err := BigIntValue(md, HeaderChannelID)
	if err != nil {
		return nil, err
	}
	token, err := SingleValue(md, HeaderPrepaidAuthToken)
	if err != nil {
		return nil, err
	}
	return &PrepaidPayment{ChannelID: id, Token: token}, nil
}

// ParseMPEAddress reads the MPE address header, which only the allowed-user
// (blockchain disabled) mode uses.
func ParseMPEAddress(md metadata.MD) (common.Address, error) {
	s, err := SingleValue(md, HeaderMPEAddress)
	if err != nil {
		return common.Address{}, err
	}
	if !common.IsHexAddress(s) {
		return common.Address{}, status.Errorf(codes.InvalidArgument,
			"Address is not a valid Hex address \"%s\": %s", HeaderMPEAddress, s)
	}
	return common.HexToAddress(s), nil
}

// ParseFreeCallToken splits a free-call token, signature(65) ‖ "_" ‖ decimal
// expiry block, at its last '_' (the signature bytes may contain '_'). sig
// aliases token. The block must be plain decimal digits; unlike upstream we
// also reject a signature that is not 65 bytes here, since it could never
// verify.
func ParseFreeCallToken(token []byte) (sig []byte, expiryBlock uint64, err error) {
	i := bytes.LastIndexByte(token, '_')
	if i < 0 {
		return nil, 0, ErrTokenNoSeparator
	}
	expiryBlock, ok := parseDecimal(token[i+1:])
	if !ok {
		return nil, 0, ErrTokenBlock
	}
	if i != SignatureLength {
		return nil, 0, fmt.Errorf("%w: got %d bytes", ErrSignatureLength, i)
	}
	return token[:i:i], expiryBlock, nil
}

// FormatFreeCallToken builds the token GetFreeCallToken returns.
func FormatFreeCallToken(sig []byte, expiryBlock uint64) []byte {
	b := make([]byte, 0, len(sig)+1+20) // 20 = digits of max uint64
	b = append(b, sig...)
	b = append(b, '_')
	return strconv.AppendUint(b, expiryBlock, 10)
}

// parseDecimal parses a non-empty run of ASCII digits that fits in uint64,
// without the string conversion strconv would need.
func parseDecimal(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (^uint64(0)-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}
