package escrow_test

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/escrow"
)

// Gob values written by snet-daemon (spec §13.4).
const (
	wvGobChannel  = "ffbb7f030101125061796d656e744368616e6e656c4461746101ff8000010b01094368616e6e656c494401ff820001054e6f6e636501ff820001055374617465010400010653656e64657201ff84000109526563697069656e7401ff8400010747726f7570494401ff8600010a46756c6c416d6f756e7401ff8200010a45787069726174696f6e01ff820001065369676e657201ff84000110417574686f72697a6564416d6f756e7401ff820001095369676e6174757265010a0000000aff81050102ff8800000017ff83010101074164647265737301ff840001060128000019ff85010101095b33325d75696e743801ff8600010601400000fff2ff800102022a0102020302142c7536ffe3605dff9c16ffa7ffa3ffd7ffb1ff89ff8e52ff93ff96ffa65c23011463fffaffc92014ff94fff0ffbd17ffb9ff892bff9fffae4d52fffe3bffd377012012ff81663779ffef697a5fffe9ffec3cff8cff96ffc83d582113ff93577dff8bffa9145effcfff9119ff95ffc8640104020186a00104026c566001142c7536ffe3605dff9c16ffa7ffa3ffd7ffb1ff89ff8e52ff93ff96ffa65c2301030230390141a33e0f3582b0b8d67d4ddd0deae6397dbab38ab256a115c5c2d0f4482c01640953b7c6e852a02c9880575932c34bf4af5359433ec2bc63d3b2f3639c790e64830100"
	wvGobPrePaid  = "25ff8d0301010b507265506169644461746101ff8e0001010106416d6f756e7401ff820000000aff81050102ff8800000008ff8e010302025800"
	wvGobFreeCall = "74ff8b030101104672656543616c6c557365724461746101ff8c000106010741646472657373010c000106557365724944010c00010d4672656543616c6c734d616465010400010e4f7267616e697a6174696f6e4964010c000109536572766963654964010c00010747726f75704944010c00000076ff8c012a30783263373533364533363035443943313661376133443762313839386535323933393661363563323302040104736e6574010f6578616d706c652d73657276696365012c456f466d4e336e7661587066366577386a4a62495056676845354e5866597570464637506b526d567947513d00"
)

func wvGroupID(t testing.TB) [32]byte {
	b, err := base64.StdEncoding.DecodeString(wvGroupB64)
	require.NoError(t, err)
	require.Len(t, b, 32)
	return [32]byte(b)
}

func wvChannel(t testing.TB) *escrow.ChannelData {
	client := common.HexToAddress(wvClientAddr)
	return &escrow.ChannelData{
		ChannelID:        big.NewInt(42),
		Nonce:            big.NewInt(3),
		State:            0,
		Sender:           client,
		Recipient:        common.HexToAddress(wvProvider),
		GroupID:          wvGroupID(t),
		FullAmount:       big.NewInt(100000),
		Expiration:       big.NewInt(7100000),
		Signer:           client,
		AuthorizedAmount: big.NewInt(12345),
		Signature:        wvHex(t, wvSig1),
	}
}

func TestDecodeUpstreamGob(t *testing.T) {
	t.Run("PaymentChannelData", func(t *testing.T) {
		got, err := escrow.DecodeChannelData(wvHex(t, wvGobChannel))
		require.NoError(t, err)
		require.Equal(t, wvChannel(t), got)
		// Spot-check the fields by value as well, independent of the helper.
		require.Equal(t, int64(42), got.ChannelID.Int64())
		require.Equal(t, int64(3), got.Nonce.Int64())
		require.Equal(t, wvClientAddr, got.Sender.Hex())
		require.Equal(t, wvClientAddr, got.Signer.Hex())
		require.Equal(t, wvProvider, got.Recipient.Hex())
		require.Equal(t, wvGroupB64, base64.StdEncoding.EncodeToString(got.GroupID[:]))
		require.Equal(t, int64(100000), got.FullAmount.Int64())
		require.Equal(t, int64(7100000), got.Expiration.Int64())
		require.Equal(t, int64(12345), got.AuthorizedAmount.Int64())
		require.Equal(t, wvSig1, common.Bytes2Hex(got.Signature))
	})
	t.Run("PrePaidData", func(t *testing.T) {
		got, err := escrow.DecodePrePaidData(wvHex(t, wvGobPrePaid))
		require.NoError(t, err)
		require.Equal(t, &escrow.PrePaidData{Amount: big.NewInt(600)}, got)
	})
	t.Run("FreeCallUserData", func(t *testing.T) {
		got, err := escrow.DecodeFreeCallUserData(wvHex(t, wvGobFreeCall))
		require.NoError(t, err)
		require.Equal(t, &escrow.FreeCallUserData{
			Address:        wvClientAddr,
			UserID:         "",
			FreeCallsMade:  2,
			OrganizationId: wvOrg,
			ServiceId:      wvService,
			GroupID:        wvGroupB64,
		}, got)
	})
}

func TestGobRoundTrip(t *testing.T) {
	payment := &escrow.PaymentRecord{
		MpeContractAddress: common.HexToAddress(wvMPE),
		ChannelID:          big.NewInt(42),
		ChannelNonce:       big.NewInt(3),
		Amount:             big.NewInt(12345),
		Signature:          wvHex(t, wvSig1),
	}
	free := &escrow.FreeCallUserData{Address: wvClientAddr, UserID: "u", FreeCallsMade: 7,
		OrganizationId: wvOrg, ServiceId: wvService, GroupID: wvGroupB64}
	huge := new(big.Int).Lsh(big.NewInt(1), 255)
	tests := []struct {
		name   string
		value  any
		decode func([]byte) (any, error)
	}{
		{"channel", wvChannel(t), func(b []byte) (any, error) { return escrow.DecodeChannelData(b) }},
		{"channel, zero amounts", &escrow.ChannelData{ChannelID: big.NewInt(0), Nonce: big.NewInt(0),
			FullAmount: huge, Expiration: big.NewInt(1), AuthorizedAmount: big.NewInt(0)},
			func(b []byte) (any, error) { return escrow.DecodeChannelData(b) }},
		{"payment record", payment, func(b []byte) (any, error) { return escrow.DecodePaymentRecord(b) }},
		{"free-call user", free, func(b []byte) (any, error) { return escrow.DecodeFreeCallUserData(b) }},
		{"prepaid", &escrow.PrePaidData{Amount: big.NewInt(600)}, func(b []byte) (any, error) { return escrow.DecodePrePaidData(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := escrow.EncodeGob(tt.value)
			require.NoError(t, err)
			got, err := tt.decode(b)
			require.NoError(t, err)
			require.Equal(t, tt.value, got)

			// Every value carries its own type description, so encoding the
			// same value twice gives the same bytes and either decodes alone.
			again, err := escrow.EncodeGob(tt.value)
			require.NoError(t, err)
			require.Equal(t, b, again)
		})
	}
}

// TestUpstreamReadsOurGob decodes our encodings into separately declared
// types carrying upstream's type and field names, as upstream would.
func TestUpstreamReadsOurGob(t *testing.T) {
	type PaymentChannelData struct {
		ChannelID        *big.Int
		Nonce            *big.Int
		State            int
		Sender           common.Address
		Recipient        common.Address
		GroupID          [32]byte
		FullAmount       *big.Int
		Expiration       *big.Int
		Signer           common.Address
		AuthorizedAmount *big.Int
		Signature        []byte
	}
	type Payment struct {
		MpeContractAddress common.Address
		ChannelID          *big.Int
		ChannelNonce       *big.Int
		Amount             *big.Int
		Signature          []byte
	}

	t.Run("channel", func(t *testing.T) {
		ours := wvChannel(t)
		b, err := escrow.EncodeGob(ours)
		require.NoError(t, err)
		var theirs PaymentChannelData
		require.NoError(t, wvGobDecode(b, &theirs))
		require.Equal(t, PaymentChannelData(*ours), theirs)
	})
	t.Run("payment", func(t *testing.T) {
		ours := &escrow.PaymentRecord{
			MpeContractAddress: common.HexToAddress(wvMPE),
			ChannelID:          big.NewInt(42),
			ChannelNonce:       big.NewInt(3),
			Amount:             big.NewInt(12345),
			Signature:          wvHex(t, wvSig1),
		}
		b, err := escrow.EncodeGob(ours)
		require.NoError(t, err)
		var theirs Payment
		require.NoError(t, wvGobDecode(b, &theirs))
		require.Equal(t, Payment(*ours), theirs)
	})
}

func TestDecodeGobErrors(t *testing.T) {
	sample := wvHex(t, wvGobChannel)
	free, err := escrow.EncodeGob(&escrow.FreeCallUserData{Address: "x"})
	require.NoError(t, err)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not gob")},
		{"truncated", sample[:len(sample)/2]},
		{"other type", free}, // no field in common with ChannelData
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := escrow.DecodeChannelData(tt.data)
			require.ErrorIs(t, err, escrow.ErrGobDecode)
		})
	}
}

func wvGobDecode(b []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(b)).Decode(v)
}

func FuzzDecodeChannelData(f *testing.F) {
	f.Add(wvHex(f, wvGobChannel))
	f.Add(wvHex(f, wvGobPrePaid))
	f.Add(wvHex(f, wvGobFreeCall))
	ours, err := escrow.EncodeGob(wvChannel(f))
	require.NoError(f, err)
	f.Add(ours)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ch, err := escrow.DecodeChannelData(data)
		if err != nil {
			return
		}
		// Whatever decoded must survive a round trip. Compare encodings, not
		// structs: gob turns an empty slice into nil.
		b, err := escrow.EncodeGob(ch)
		if err != nil {
			t.Fatal(err)
		}
		again, err := escrow.DecodeChannelData(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := escrow.EncodeGob(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed %x into %x", b, b2)
		}
	})
}

// The pooled encoder must write exactly what a fresh encoder writes.
func TestEncodeGobMatchesFreshEncoder(t *testing.T) {
	values := []any{
		&escrow.ChannelData{ChannelID: big.NewInt(42), Nonce: big.NewInt(3), FullAmount: big.NewInt(100000),
			Expiration: big.NewInt(7100000), AuthorizedAmount: big.NewInt(12345), Signature: []byte{1, 2, 3}},
		&escrow.ChannelData{ChannelID: big.NewInt(7), Nonce: new(big.Int), FullAmount: big.NewInt(1),
			Expiration: big.NewInt(2), AuthorizedAmount: new(big.Int)},
		&escrow.PrePaidData{Amount: big.NewInt(600)},
		&escrow.FreeCallUserData{Address: "0xabc", FreeCallsMade: 2},
	}
	for range 3 {
		for _, v := range values {
			var fresh bytes.Buffer
			require.NoError(t, gob.NewEncoder(&fresh).Encode(v))
			got, err := escrow.EncodeGob(v)
			require.NoError(t, err)
			require.Equal(t, fresh.Bytes(), got, "%T", v)
		}
	}
}

func BenchmarkEncodeGobChannel(b *testing.B) {
	v := &escrow.ChannelData{ChannelID: big.NewInt(42), Nonce: big.NewInt(3), FullAmount: big.NewInt(100000),
		Expiration: big.NewInt(7100000), AuthorizedAmount: big.NewInt(12345), Signature: make([]byte, 65)}
	for b.Loop() {
		if _, err := escrow.EncodeGob(v); err != nil {
			b.Fatal(err)
		}
	}
}
