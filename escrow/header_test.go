package escrow_test

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tariffd/tariff/escrow"
)

// requireStatus checks a grpc status error's code and exact message.
func wvRequireStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	st, ok := status.FromError(err)
	require.True(t, ok, "not a status error: %v", err)
	require.Equal(t, code, st.Code(), st.Message())
	require.Equal(t, msg, st.Message())
}

func TestPaymentType(t *testing.T) {
	tests := []struct {
		name    string
		values  []string // nil: header absent
		want    string
		wantErr string
	}{
		{name: "absent", want: "escrow"},
		{name: "empty list", values: []string{}, want: "escrow"},
		{name: "escrow", values: []string{"escrow"}, want: "escrow"},
		{name: "free-call", values: []string{"free-call"}, want: "free-call"},
		{name: "prepaid-call", values: []string{"prepaid-call"}, want: "prepaid-call"},
		{name: "train-call", values: []string{"train-call"}, want: "train-call"},
		{name: "first value wins", values: []string{"free-call", "junk"}, want: "free-call"},
		{name: "unknown", values: []string{"job"}, wantErr: `unexpected "snet-payment-type", value: "job"`},
		{name: "unknown first", values: []string{"Escrow", "escrow"}, wantErr: `unexpected "snet-payment-type", value: "Escrow"`},
		{name: "empty value", values: []string{""}, wantErr: `unexpected "snet-payment-type", value: ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := metadata.MD{}
			if tt.values != nil {
				md[escrow.HeaderPaymentType] = tt.values
			}
			got, err := escrow.PaymentType(md)
			if tt.wantErr != "" {
				wvRequireStatus(t, err, codes.InvalidArgument, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSingleValue(t *testing.T) {
	tests := []struct {
		name    string
		values  []string
		want    string
		wantErr string
	}{
		{name: "one", values: []string{"42"}, want: "42"},
		{name: "empty string is a value", values: []string{""}, want: ""},
		{name: "missing", wantErr: `missing "snet-payment-channel-id"`},
		{name: "two", values: []string{"1", "2"}, wantErr: `too many values for key "snet-payment-channel-id": [1 2]`},
		{name: "three", values: []string{"a b", "", "c"}, wantErr: `too many values for key "snet-payment-channel-id": [a b  c]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := metadata.MD{}
			if tt.values != nil {
				md[escrow.HeaderChannelID] = tt.values
			}
			got, err := escrow.SingleValue(md, escrow.HeaderChannelID)
			if tt.wantErr != "" {
				wvRequireStatus(t, err, codes.InvalidArgument, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestBigIntValue(t *testing.T) {
	tests := []struct {
		in   string
		want string // decimal; empty: must fail
	}{
		{"42", "42"},
		{"0", "0"},
		{"9999999999999999999", "9999999999999999999"},   // 19 digits: fast path
		{"18446744073709551615", "18446744073709551615"}, // 20 digits: big path
		{"010", "8"}, // a bare leading 0 means octal, as in Go source
		{"09", ""},
		{"0x2a", "42"},
		{"0X2A", "42"},
		{"0o52", "42"},
		{"0b101010", "42"},
		{"-5", "-5"},
		{"+5", "5"},
		{"1_000", "1000"},
		{"0x_2a", "42"},
		{"115792089237316195423570985008687907853269984665640564039457584007913129639936", "115792089237316195423570985008687907853269984665640564039457584007913129639936"},
		{"", ""},
		{"abc", ""},
		{"0x", ""},
		{"1.5", ""},
		{" 42", ""},
		{"42 ", ""},
		{"1__0", ""},
		{"_1", ""},
		{"1_", ""},
		{"--1", ""},
		{"0b102", ""},
		{"4\"2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			md := metadata.MD{escrow.HeaderChannelNonce: {tt.in}}
			got, err := escrow.BigIntValue(md, escrow.HeaderChannelNonce)
			if tt.want == "" {
				wvRequireStatus(t, err, codes.InvalidArgument, `incorrect format "snet-payment-channel-nonce": "`+tt.in+`"`)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got.String())
		})
	}
}

func TestBytesValue(t *testing.T) {
	md := metadata.MD{escrow.HeaderChannelSignature: {"\x00\xff_"}, escrow.HeaderChannelID: {"1"}}
	got, err := escrow.BytesValue(md, escrow.HeaderChannelSignature)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0xff, '_'}, got)

	_, err = escrow.BytesValue(md, escrow.HeaderChannelID)
	wvRequireStatus(t, err, codes.InvalidArgument, `incorrect binary key name "snet-payment-channel-id"`)
}

func wvEscrowMD(t *testing.T) metadata.MD {
	return metadata.MD{
		escrow.HeaderPaymentType:      {"escrow"},
		escrow.HeaderChannelID:        {"42"},
		escrow.HeaderChannelNonce:     {"3"},
		escrow.HeaderChannelAmount:    {"12345"},
		escrow.HeaderChannelSignature: {string(wvHex(t, wvSig1))},
	}
}

func TestParseEscrowPayment(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(md metadata.MD)
		wantErr string
	}{
		{name: "valid", edit: func(metadata.MD) {}},
		{name: "no channel id", edit: func(md metadata.MD) { delete(md, escrow.HeaderChannelID) }, wantErr: `missing "snet-payment-channel-id"`},
		{name: "no nonce", edit: func(md metadata.MD) { delete(md, escrow.HeaderChannelNonce) }, wantErr: `missing "snet-payment-channel-nonce"`},
		{name: "no amount", edit: func(md metadata.MD) { delete(md, escrow.HeaderChannelAmount) }, wantErr: `missing "snet-payment-channel-amount"`},
		{name: "no signature", edit: func(md metadata.MD) { delete(md, escrow.HeaderChannelSignature) }, wantErr: `missing "snet-payment-channel-signature-bin"`},
		{
			name: "first error wins",
			edit: func(md metadata.MD) {
				md[escrow.HeaderChannelNonce] = []string{"x"}
				delete(md, escrow.HeaderChannelAmount)
			},
			wantErr: `incorrect format "snet-payment-channel-nonce": "x"`,
		},
		{
			name:    "bad amount",
			edit:    func(md metadata.MD) { md[escrow.HeaderChannelAmount] = []string{"12.5"} },
			wantErr: `incorrect format "snet-payment-channel-amount": "12.5"`,
		},
		{
			name:    "repeated id",
			edit:    func(md metadata.MD) { md[escrow.HeaderChannelID] = []string{"42", "43"} },
			wantErr: `too many values for key "snet-payment-channel-id": [42 43]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := wvEscrowMD(t)
			tt.edit(md)
			p, err := escrow.ParseEscrowPayment(md)
			if tt.wantErr != "" {
				wvRequireStatus(t, err, codes.InvalidArgument, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, &escrow.EscrowPayment{
				ChannelID: big.NewInt(42),
				Nonce:     big.NewInt(3),
				Amount:    big.NewInt(12345),
				Signature: wvHex(t, wvSig1),
			}, p)

			// The parsed payment verifies against vector 1.
			msg, err := escrow.ClaimMessage(common.HexToAddress(wvMPE), p.ChannelID, p.Nonce, p.Amount)
			require.NoError(t, err)
			signer, err := escrow.RecoverSigner(msg, p.Signature)
			require.NoError(t, err)
			require.Equal(t, wvClientAddr, signer.Hex())
		})
	}
}

func wvFreeCallMD(t *testing.T) metadata.MD {
	return metadata.MD{
		escrow.HeaderPaymentType:         {"free-call"},
		escrow.HeaderFreeCallUserAddress: {wvClientAddr},
		escrow.HeaderCurrentBlockNumber:  {"7000000"},
		escrow.HeaderFreeCallAuthToken:   {string(wvHex(t, wvToken))},
		escrow.HeaderChannelSignature: {string(wvHex(t,
			"ab3bbba4dcd56c5dd99d1c763afb9e6a0afd0939dc8e0450c18f084264eccc9142cc750d50d3d817c97d3aaf083463f54ebf8ea5593c466150e3b8716268a01501"))},
	}
}

func TestParseFreeCallPayment(t *testing.T) {
	shortToken := string(bytes.Repeat([]byte{1}, 64)) + "_7172800"
	tests := []struct {
		name       string
		edit       func(md metadata.MD)
		wantUserID string
		wantErr    string
	}{
		{name: "valid", edit: func(metadata.MD) {}},
		{name: "user id", edit: func(md metadata.MD) { md[escrow.HeaderFreeCallUserID] = []string{"a@b.c"} }, wantUserID: "a@b.c"},
		{name: "repeated user id counts as absent", edit: func(md metadata.MD) { md[escrow.HeaderFreeCallUserID] = []string{"a", "b"} }},
		{name: "no address", edit: func(md metadata.MD) { delete(md, escrow.HeaderFreeCallUserAddress) }, wantErr: `missing "snet-free-call-user-address"`},
		{name: "no block", edit: func(md metadata.MD) { delete(md, escrow.HeaderCurrentBlockNumber) }, wantErr: `missing "snet-current-block-number"`},
		{name: "bad block", edit: func(md metadata.MD) { md[escrow.HeaderCurrentBlockNumber] = []string{"7e6"} }, wantErr: `incorrect format "snet-current-block-number": "7e6"`},
		{name: "negative block", edit: func(md metadata.MD) { md[escrow.HeaderCurrentBlockNumber] = []string{"-1"} }, wantErr: `incorrect format "snet-current-block-number": "-1"`},
		{name: "block over uint64", edit: func(md metadata.MD) { md[escrow.HeaderCurrentBlockNumber] = []string{"18446744073709551616"} }, wantErr: `incorrect format "snet-current-block-number": "18446744073709551616"`},
		{name: "no signature", edit: func(md metadata.MD) { delete(md, escrow.HeaderChannelSignature) }, wantErr: `missing "snet-payment-channel-signature-bin"`},
		{name: "no token", edit: func(md metadata.MD) { delete(md, escrow.HeaderFreeCallAuthToken) }, wantErr: `missing "snet-free-call-auth-token-bin"`},
		{name: "token without _", edit: func(md metadata.MD) { md[escrow.HeaderFreeCallAuthToken] = []string{"abc"} }, wantErr: `invalid token: no '_' found`},
		{name: "token bad block", edit: func(md metadata.MD) { md[escrow.HeaderFreeCallAuthToken] = []string{"abc_12a"} }, wantErr: `invalid token: invalid block number`},
		{name: "token short signature", edit: func(md metadata.MD) { md[escrow.HeaderFreeCallAuthToken] = []string{shortToken} }, wantErr: `invalid token: incorrect signature length: got 64 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := wvFreeCallMD(t)
			tt.edit(md)
			p, err := escrow.ParseFreeCallPayment(md)
			if tt.wantErr != "" {
				wvRequireStatus(t, err, codes.InvalidArgument, tt.wantErr)
				return
			}
			require.NoError(t, err)
			token := wvHex(t, wvToken)
			require.Equal(t, wvClientAddr, p.UserAddress)
			require.Equal(t, tt.wantUserID, p.UserID)
			require.Equal(t, uint64(7000000), p.CurrentBlock)
			require.Equal(t, token, p.Token)
			require.Equal(t, token[:65], p.TokenSignature)
			require.Equal(t, uint64(7172800), p.TokenExpiryBlock)

			if tt.wantUserID != "" {
				return // the vector's signature is for an empty user id
			}
			msg := escrow.FreeCallMessage(p.UserAddress, p.UserID, wvOrg, wvService, wvGroupB64, p.CurrentBlock, p.Token)
			signer, err := escrow.RecoverSigner(msg, p.Signature)
			require.NoError(t, err)
			require.Equal(t, common.HexToAddress(p.UserAddress), signer)
		})
	}
}

func TestParseFreeCallToken(t *testing.T) {
	sig := bytes.Repeat([]byte{'_'}, 65) // '_' inside the signature must not confuse the split
	tests := []struct {
		name    string
		token   []byte
		want    uint64
		wantErr error
	}{
		{name: "vector 8", token: wvHex(t, wvToken), want: 7172800},
		{name: "underscores in signature", token: append(bytes.Clone(sig), "_5"...), want: 5},
		{name: "zero", token: append(bytes.Clone(sig), "_0"...), want: 0},
		{name: "leading zeros", token: append(bytes.Clone(sig), "_007"...), want: 7},
		{name: "max uint64", token: append(bytes.Clone(sig), "_18446744073709551615"...), want: 1<<64 - 1},
		{name: "empty", token: nil, wantErr: escrow.ErrTokenNoSeparator},
		{name: "no separator", token: bytes.Repeat([]byte{1}, 70), wantErr: escrow.ErrTokenNoSeparator},
		{name: "empty block", token: sig, wantErr: escrow.ErrTokenBlock},
		{name: "sign", token: append(bytes.Clone(sig), "_+5"...), wantErr: escrow.ErrTokenBlock},
		{name: "minus", token: append(bytes.Clone(sig), "_-5"...), wantErr: escrow.ErrTokenBlock},
		{name: "hex", token: append(bytes.Clone(sig), "_0x10"...), wantErr: escrow.ErrTokenBlock},
		{name: "space", token: append(bytes.Clone(sig), "_5 "...), wantErr: escrow.ErrTokenBlock},
		{name: "overflow", token: append(bytes.Clone(sig), "_18446744073709551616"...), wantErr: escrow.ErrTokenBlock},
		{name: "short signature", token: []byte("abc_5"), wantErr: escrow.ErrSignatureLength},
		{name: "long signature", token: append(bytes.Repeat([]byte{1}, 66), "_5"...), wantErr: escrow.ErrSignatureLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotSig, got, err := escrow.ParseFreeCallToken(tt.token)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.token[:65], gotSig)
		})
	}
}

func TestParsePrepaidPayment(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig"
	tests := []struct {
		name    string
		md      metadata.MD
		wantErr string
	}{
		{name: "valid", md: metadata.MD{escrow.HeaderChannelID: {"42"}, escrow.HeaderChannelNonce: {"ignored"}, escrow.HeaderPrepaidAuthToken: {jwt}}},
		{name: "no id", md: metadata.MD{escrow.HeaderPrepaidAuthToken: {jwt}}, wantErr: `missing "snet-payment-channel-id"`},
		{name: "no token", md: metadata.MD{escrow.HeaderChannelID: {"42"}}, wantErr: `missing "snet-prepaid-auth-token-bin"`},
		{name: "two tokens", md: metadata.MD{escrow.HeaderChannelID: {"42"}, escrow.HeaderPrepaidAuthToken: {"a", "b"}}, wantErr: `too many values for key "snet-prepaid-auth-token-bin": [a b]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := escrow.ParsePrepaidPayment(tt.md)
			if tt.wantErr != "" {
				wvRequireStatus(t, err, codes.InvalidArgument, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, &escrow.PrepaidPayment{ChannelID: big.NewInt(42), Token: jwt}, p)
		})
	}
}

func TestParseMPEAddress(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{in: wvMPE},
		{in: strings.ToLower(wvMPE)},
		{in: strings.TrimPrefix(wvMPE, "0x")},
		{in: "0x1234", wantErr: `Address is not a valid Hex address "snet-payment-mpe-address": 0x1234`},
		{in: "", wantErr: `Address is not a valid Hex address "snet-payment-mpe-address": `},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := escrow.ParseMPEAddress(metadata.MD{escrow.HeaderMPEAddress: {tt.in}})
			if tt.wantErr != "" {
				wvRequireStatus(t, err, codes.InvalidArgument, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, wvMPE, got.Hex())
		})
	}
	_, err := escrow.ParseMPEAddress(metadata.MD{})
	wvRequireStatus(t, err, codes.InvalidArgument, `missing "snet-payment-mpe-address"`)
}

// FuzzParseEscrowPayment: any header values either parse to exactly what
// big.Int.SetString(s, 0) gives or fail with InvalidArgument; never a panic.
func FuzzParseEscrowPayment(f *testing.F) {
	f.Add("42", "3", "12345", wvHex(f, wvSig1))
	f.Add("0x2a", "0b11", "1_000", []byte{})
	f.Add("-1", "+0", "0o777", []byte("_"))
	f.Add("", "x", "1e5", []byte(nil))
	f.Add("115792089237316195423570985008687907853269984665640564039457584007913129639936", "0", "0", []byte{0xff})
	f.Fuzz(func(t *testing.T, id, nonce, amount string, sig []byte) {
		md := metadata.MD{
			escrow.HeaderChannelID:        {id},
			escrow.HeaderChannelNonce:     {nonce},
			escrow.HeaderChannelAmount:    {amount},
			escrow.HeaderChannelSignature: {string(sig)},
		}
		p, err := escrow.ParseEscrowPayment(md)
		want := make([]*big.Int, 0, 3)
		for _, s := range []string{id, nonce, amount} {
			n, ok := new(big.Int).SetString(s, 0)
			if !ok {
				if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), "incorrect format ") {
					t.Fatalf("value %q: got %v", s, err)
				}
				return
			}
			want = append(want, n)
		}
		if err != nil {
			t.Fatalf("valid values rejected: %v", err)
		}
		if p.ChannelID.Cmp(want[0]) != 0 || p.Nonce.Cmp(want[1]) != 0 || p.Amount.Cmp(want[2]) != 0 || !bytes.Equal(p.Signature, sig) {
			t.Fatalf("got %+v", p)
		}
		// Building the claim message either works or reports ErrU256Range.
		if _, err := escrow.ClaimMessage(common.Address{}, p.ChannelID, p.Nonce, p.Amount); err != nil && !errors.Is(err, escrow.ErrU256Range) {
			t.Fatal(err)
		}
	})
}

// FuzzParseFreeCallToken: a parsed token has a 65-byte signature followed by
// "_" and decimal digits, and formatting it again gives back an equivalent
// token.
func FuzzParseFreeCallToken(f *testing.F) {
	f.Add(wvHex(f, wvToken))
	f.Add([]byte("abc_123"))
	f.Add([]byte("no separator"))
	f.Add(append(bytes.Repeat([]byte{'_'}, 65), "_18446744073709551616"...))
	f.Add(append(bytes.Repeat([]byte{'_'}, 65), "_0007"...))
	f.Fuzz(func(t *testing.T, token []byte) {
		sig, expiry, err := escrow.ParseFreeCallToken(token)
		if err != nil {
			if !errors.Is(err, escrow.ErrTokenNoSeparator) && !errors.Is(err, escrow.ErrTokenBlock) &&
				!errors.Is(err, escrow.ErrSignatureLength) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(sig) != escrow.SignatureLength || !bytes.Equal(sig, token[:65]) || token[65] != '_' {
			t.Fatalf("bad split of %x", token)
		}
		again := escrow.FormatFreeCallToken(sig, expiry)
		sig2, expiry2, err := escrow.ParseFreeCallToken(again)
		if err != nil || !bytes.Equal(sig2, sig) || expiry2 != expiry {
			t.Fatalf("re-parse: %v", err)
		}
		digits := token[66:]
		if (len(digits) == 1 || digits[0] != '0') && !bytes.Equal(again, token) {
			t.Fatalf("canonical token changed: %q -> %q", token, again)
		}
	})
}

func BenchmarkParseEscrowPayment(b *testing.B) {
	md := metadata.MD{
		escrow.HeaderChannelID:        {"42"},
		escrow.HeaderChannelNonce:     {"3"},
		escrow.HeaderChannelAmount:    {"12345"},
		escrow.HeaderChannelSignature: {string(wvHex(b, wvSig1))},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := escrow.ParseEscrowPayment(md); err != nil {
			b.Fatal(err)
		}
	}
}
