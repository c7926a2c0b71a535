package host

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the proto codec we fall back to
	"google.golang.org/grpc/mem"
)

// frame is one gRPC message as raw bytes: the proxy never decodes the
// service's messages, so it works for any API without its protos.
type frame struct {
	payload []byte
}

// rawCodec passes frames through untouched and encodes everything else
// (the daemon's own services) with the proto codec. Its name is "proto", so
// content-subtype negotiation is unchanged for clients.
type rawCodec struct {
	proto encoding.CodecV2
}

func newRawCodec() rawCodec {
	return rawCodec{proto: encoding.GetCodecV2("proto")}
}

func (c rawCodec) Name() string { return "proto" }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*frame); ok {
		return mem.BufferSlice{mem.SliceBuffer(f.payload)}, nil
	}
	if c.proto == nil {
		return nil, fmt.Errorf("no proto codec for %T", v)
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if f, ok := v.(*frame); ok {
		// Materialize copies: the buffers are recycled once we return.
		f.payload = data.Materialize()
		return nil
	}
	if c.proto == nil {
		return fmt.Errorf("no proto codec for %T", v)
	}
	return c.proto.Unmarshal(data, v)
}
