package escrow

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
)

// ErrGobDecode: a stored value is not a gob stream of the expected type.
var ErrGobDecode = errors.New("cannot decode stored value")

// EncodeGob encodes v as a self-describing gob stream. Each value gets a
// fresh encoder, as upstream does, so any reader can decode it without
// having seen earlier values; upstream reads our values and we read its.
func EncodeGob(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(256) // a channel record is ~480 bytes, the others far less
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("gob encode %T: %w", v, err)
	}
	return buf.Bytes(), nil
}

// DecodeChannelData decodes a channel record written by either daemon.
func DecodeChannelData(data []byte) (*ChannelData, error) {
	return decodeGob[ChannelData](data)
}

// DecodePaymentRecord decodes a claim-in-progress record ("<id>/<nonce>").
func DecodePaymentRecord(data []byte) (*PaymentRecord, error) {
	return decodeGob[PaymentRecord](data)
}

// DecodeFreeCallUserData decodes a free-call counter.
func DecodeFreeCallUserData(data []byte) (*FreeCallUserData, error) {
	return decodeGob[FreeCallUserData](data)
}

// DecodePrePaidData decodes one prepaid counter (P, U or R).
func DecodePrePaidData(data []byte) (*PrePaidData, error) {
	return decodeGob[PrePaidData](data)
}

func decodeGob[T any](data []byte) (*T, error) {
	v := new(T)
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(v); err != nil {
		return nil, fmt.Errorf("%w as %T: %w", ErrGobDecode, v, err)
	}
	return v, nil
}
