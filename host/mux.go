package host

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The daemon's one port carries three kinds of connection (spec §9.1):
// native gRPC (HTTP/2, content type application/grpc or application/grpc+x),
// HTTP/1.1 (gRPC-Web from browsers, /heartbeat, /encoding, /metrics), and,
// once TLS offers h2, the same browser traffic over HTTP/2 (content type
// application/grpc-web*). The listener tells them apart by their first
// bytes.

// isGRPC matches an HTTP/2 connection whose first request has a gRPC
// content type other than gRPC-Web. While it reads, it answers the
// client's SETTINGS with its own: gRPC clients wait for the server's
// SETTINGS before they send the request it needs to see.
func isGRPC(w io.Writer, r io.Reader) bool {
	ct, ok := h2ContentType(w, r)
	return ok && strings.HasPrefix(ct, "application/grpc") && !strings.HasPrefix(ct, "application/grpc-web")
}

// h2ContentType reads the client preface and frames up to the end of the
// first request's headers, writing one SETTINGS frame in answer to the
// client's, and returns the request's content-type.
func h2ContentType(w io.Writer, r io.Reader) (contentType string, ok bool) {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(r, preface); err != nil || string(preface) != http2.ClientPreface {
		return "", false
	}
	framer := http2.NewFramer(w, r)
	framer.SetMaxReadFrameSize(1 << 20)
	dec := hpack.NewDecoder(4<<10, func(f hpack.HeaderField) {
		if f.Name == "content-type" {
			contentType = f.Value
		}
	})
	dec.SetMaxStringLength(8 << 10)
	for {
		f, err := framer.ReadFrame()
		if err != nil {
			return "", false
		}
		var frag []byte
		var end bool
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if err := framer.WriteSettings(); err != nil {
					return "", false
				}
			}
			continue
		case *http2.HeadersFrame:
			frag, end = f.HeaderBlockFragment(), f.HeadersEnded()
		case *http2.ContinuationFrame:
			frag, end = f.HeaderBlockFragment(), f.HeadersEnded()
		default:
			continue
		}
		if _, err := dec.Write(frag); err != nil {
			return "", false
		}
		if end {
			return contentType, true
		}
	}
}

// isHTTP2 matches any other HTTP/2 connection (by its preface).
func isHTTP2(r io.Reader) bool {
	preface := make([]byte, len(http2.ClientPreface))
	_, err := io.ReadFull(r, preface)
	return err == nil && string(preface) == http2.ClientPreface
}

// settingsAckListener hands out connections that drop the client's first
// SETTINGS acknowledgement. It acknowledges the SETTINGS isGRPC sent while
// sniffing; the HTTP/2 server behind never sent those and would close the
// connection with a protocol error.
type settingsAckListener struct{ net.Listener }

func (l settingsAckListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &settingsAckFilter{Conn: c, r: bufio.NewReader(c), preface: len(http2.ClientPreface)}, nil
}

// settingsAckFilter passes the client preface and whole frames through
// until it has dropped one SETTINGS ACK frame, then gets out of the way.
type settingsAckFilter struct {
	net.Conn
	r       *bufio.Reader
	preface int  // preface bytes still to pass
	left    int  // bytes of the current frame still to pass
	dropped bool // the ACK is gone: plain reads from here on
}

const (
	frameHeaderLen   = 9
	frameTypeSetting = 0x4
	flagAck          = 0x1
)

func (c *settingsAckFilter) Read(p []byte) (int, error) {
	for !c.dropped && c.preface == 0 && c.left == 0 {
		h, err := c.r.Peek(frameHeaderLen)
		if err != nil {
			// The stream ends inside a frame header: pass what is left.
			c.dropped = true
			break
		}
		length := int(binary.BigEndian.Uint32(append([]byte{0}, h[:3]...)))
		if h[3] == frameTypeSetting && h[4]&flagAck != 0 && length == 0 {
			_, _ = c.r.Discard(frameHeaderLen)
			c.dropped = true
			break
		}
		c.left = frameHeaderLen + length
	}
	switch {
	case c.preface > 0:
		p = p[:min(len(p), c.preface)]
	case c.left > 0:
		p = p[:min(len(p), c.left)]
	}
	n, err := c.r.Read(p)
	switch {
	case c.preface > 0:
		c.preface -= n
	case c.left > 0:
		c.left -= n
	}
	return n, err
}
