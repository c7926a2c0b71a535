package host_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// A browser client (gRPC-Web over HTTP/1.1, as snet-dapp) pays for a call
// on the daemon's one port.
func TestGRPCWebPaidCall(t *testing.T) {
	e := newEnv(t, 4)
	md, _ := metadata.FromOutgoingContext(e.pay(t))
	res := grpcWebAdd(t, http.DefaultClient, "http://"+e.addr, md, 20, 22)
	require.Equal(t, float32(42), res.GetValue())
	_, amount := e.state(t)
	require.Equal(t, int64(4), amount.Int64(), "paid once")
}

// grpcWebAdd calls Calculator.add as a browser does (gRPC-Web, binary)
// and checks that it succeeds.
func grpcWebAdd(t *testing.T, client *http.Client, base string, md metadata.MD, a, b float32) *calculatorpb.Result {
	t.Helper()
	msg, err := proto.Marshal(&calculatorpb.Numbers{A: a, B: b})
	require.NoError(t, err)
	body := make([]byte, 5+len(msg))
	binary.BigEndian.PutUint32(body[1:5], uint32(len(msg)))
	copy(body[5:], msg)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost,
		base+"/example_service.Calculator/add", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/grpc-web+proto")
	req.Header.Set("X-Grpc-Web", "1")
	for k, vs := range md {
		for _, v := range vs {
			if strings.HasSuffix(k, "-bin") {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			req.Header.Add(k, v)
		}
	}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)

	// Frames: 0x00 a message, 0x80 the trailers.
	var got calculatorpb.Result
	var trailers string
	for len(raw) >= 5 {
		n := binary.BigEndian.Uint32(raw[1:5])
		frame := raw[5 : 5+n]
		if raw[0]&0x80 != 0 {
			trailers = string(frame)
		} else {
			require.NoError(t, proto.Unmarshal(frame, &got))
		}
		raw = raw[5+n:]
	}
	require.Contains(t, trailers, "grpc-status: 0", trailers+res.Header.Get("Grpc-Message"))
	return &got
}
