package host

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// clientStart is what an HTTP/2 client sends first: the preface, its
// SETTINGS, optionally an ACK, and the first request's headers.
func clientStart(t testing.TB, ack bool, contentType string) []byte {
	var buf bytes.Buffer
	buf.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&buf, nil)
	require.NoError(t, fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20}))
	if ack {
		require.NoError(t, fr.WriteSettingsAck())
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "POST"}, {Name: ":path", Value: "/s/m"}, {Name: "content-type", Value: contentType}} {
		require.NoError(t, enc.WriteField(f))
	}
	require.NoError(t, fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true}))
	return buf.Bytes()
}

func TestIsGRPC(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/grpc":           true,
		"application/grpc+proto":     true,
		"application/grpc+json":      true,
		"application/grpc-web+proto": false,
		"application/grpc-web-text":  false,
		"application/json":           false,
	} {
		var out bytes.Buffer
		require.Equal(t, want, isGRPC(&out, bytes.NewReader(clientStart(t, false, ct))), ct)
		// One SETTINGS frame answered the client's.
		f, err := http2.NewFramer(nil, &out).ReadFrame()
		require.NoError(t, err, ct)
		require.IsType(t, &http2.SettingsFrame{}, f)
	}
	require.False(t, isGRPC(io.Discard, bytes.NewReader([]byte("GET / HTTP/1.1\r\n\r\n"))))
}

func TestSettingsAckFilter(t *testing.T) {
	in := append(clientStart(t, true, "application/grpc-web+proto"), clientStart(t, true, "x")[len(http2.ClientPreface):]...)
	got := filtered(in)
	// Exactly the first ACK (9 bytes) is gone; everything else is intact.
	require.Len(t, got, len(in)-9)
	fr := http2.NewFramer(nil, bytes.NewReader(got[len(http2.ClientPreface):]))
	var acks int
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			break
		}
		if s, ok := f.(*http2.SettingsFrame); ok && s.IsAck() {
			acks++
		}
	}
	require.Equal(t, 1, acks, "the second ACK passes")
}

func filtered(in []byte) []byte {
	c := &settingsAckFilter{r: bufio.NewReader(bytes.NewReader(in)), preface: len(http2.ClientPreface)}
	var out bytes.Buffer
	buf := make([]byte, 7) // small reads cross frame boundaries
	for {
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			return out.Bytes()
		}
	}
}

func FuzzIsGRPC(f *testing.F) {
	f.Add(clientStart(f, false, "application/grpc"))
	f.Add(clientStart(f, true, "application/grpc-web"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = isGRPC(io.Discard, bytes.NewReader(b))
		out := filtered(b)
		if len(out) != len(b) && len(out) != len(b)-9 {
			t.Fatalf("filter turned %d bytes into %d", len(b), len(out))
		}
	})
}
