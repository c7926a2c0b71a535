package escrow

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
)

// ErrGobDecode: a stored value is not a gob stream of the expected type.
var ErrGobDecode = errors.New("cannot decode stored value")

// EncodeGob encodes v as a self-describing gob stream, exactly as a fresh
// encoder does (upstream encodes every value that way), so any reader can
// decode it without having seen earlier values; upstream reads our values
// and we read its.
//
// It is on the paid-call path, so it does not pay for a fresh encoder each
// time: a stream is the type's descriptors followed by the value, and the
// descriptors never change for a type. They are learnt once per type; then
// pooled encoders that have already sent them write only the value.
func EncodeGob(v any) ([]byte, error) {
	t := reflect.TypeOf(v)
	pi, ok := gobPools.Load(t)
	if !ok {
		pi, _ = gobPools.LoadOrStore(t, &gobPool{})
	}
	p := pi.(*gobPool)
	if prefix := p.prefix.Load(); prefix != nil {
		if e, ok := p.encoders.Get().(*gobEncoder); ok {
			e.buf.Reset()
			if err := e.enc.Encode(v); err != nil {
				return nil, fmt.Errorf("gob encode %T: %w", v, err)
			}
			out := make([]byte, 0, len(*prefix)+e.buf.Len())
			out = append(append(out, *prefix...), e.buf.Bytes()...)
			p.encoders.Put(e)
			return out, nil
		}
	}
	// A fresh encoder: its output is the answer, and it joins the pool.
	e := &gobEncoder{}
	e.enc = gob.NewEncoder(&e.buf)
	if err := e.enc.Encode(v); err != nil {
		return nil, fmt.Errorf("gob encode %T: %w", v, err)
	}
	out := bytes.Clone(e.buf.Bytes())
	if p.prefix.Load() == nil {
		// The same value again, without descriptors, tells where they end.
		e.buf.Reset()
		if err := e.enc.Encode(v); err != nil {
			return nil, fmt.Errorf("gob encode %T: %w", v, err)
		}
		prefix := bytes.Clone(out[:len(out)-e.buf.Len()])
		p.prefix.CompareAndSwap(nil, &prefix)
	}
	p.encoders.Put(e)
	return out, nil
}

type gobEncoder struct {
	buf bytes.Buffer
	enc *gob.Encoder
}

type gobPool struct {
	prefix   atomic.Pointer[[]byte] // the type's descriptors
	encoders sync.Pool              // *gobEncoder that have sent them
}

var gobPools sync.Map // reflect.Type -> *gobPool

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
