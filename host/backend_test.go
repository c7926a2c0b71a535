package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tariffd/tariff/examples/calculator"
	"github.com/tariffd/tariff/examples/calculator/calculatorpb"
	"github.com/tariffd/tariff/host"
	"github.com/tariffd/tariff/host/config"
	"github.com/tariffd/tariff/host/metadata"
)

// bytesCodec sends and receives frames as they are, for services whose
// messages are not protobuf (jsonrpc, process). Its name is the call's
// content subtype.
type bytesCodec struct{ name string }

func (bytesCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (bytesCodec) Unmarshal(b []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), b...)
	return nil
}
func (c bytesCodec) Name() string { return c.name }

// raw calls method with req as the message (content type
// application/grpc+proto).
func (e *env) raw(ctx context.Context, method string, req []byte) ([]byte, error) {
	return e.rawAs(ctx, "proto", method, req)
}

// rawAs calls method as a client of a service with that encoding does
// (content type application/grpc+<encoding>).
func (e *env) rawAs(ctx context.Context, encoding, method string, req []byte) ([]byte, error) {
	var out []byte
	err := e.conn.Invoke(ctx, method, &req, &out, grpc.ForceCodec(bytesCodec{encoding}))
	return out, err
}

// requireAmount checks the signed amount tariffd stores for the channel.
func (e *env) requireAmount(t *testing.T, want int64, msg string) {
	t.Helper()
	_, amount := e.state(t)
	require.Equal(t, want, amount.Int64(), msg)
}

// seenRequest is what an HTTP service received.
type seenRequest struct {
	path, query, apiKey string
	body                map[string]any
}

func TestHTTPBackend(t *testing.T) {
	api, err := metadata.CompileAPI(context.Background(), calculator.APIArchive())
	require.NoError(t, err)
	var (
		mu   sync.Mutex
		seen []seenRequest
	)
	calc := http.StripPrefix("/calc", calculator.HTTPHandler())
	e := newEnvWith(t, 4, envOptions{
		http: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			s := seenRequest{path: r.URL.Path, query: r.URL.RawQuery, apiKey: r.Header.Get("X-Api-Key")}
			_ = json.Unmarshal(b, &s.body)
			mu.Lock()
			seen = append(seen, s)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
			calc.ServeHTTP(w, r)
		}),
		server: func(o *host.ServerOptions) {
			o.ServiceType, o.API = "http", api
			o.ServiceEndpoint = "http://" + o.ServiceEndpoint + "/calc/"
			o.Credentials = []config.Credential{
				{Key: "X-Api-Key", Value: "secret", Location: "header"},
				{Key: "account", Value: "acme", Location: "query"},
				{Key: "depth", Value: json.Number("3"), Location: "body"},
			}
		},
	})

	res, err := e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 2, B: 3})
	require.NoError(t, err)
	require.Equal(t, float32(5), res.GetValue())
	e.requireAmount(t, 4, "the HTTP call is paid")
	mu.Lock()
	require.Equal(t, []seenRequest{{
		path: "/calc/add", query: "account=acme", apiKey: "secret",
		body: map[string]any{"a": 2.0, "b": 3.0, "depth": 3.0},
	}}, seen)
	mu.Unlock()

	// A status other than 2xx is Unavailable with the service's text, and
	// the payment is undone.
	_, err = e.calc.Div(e.pay(t), &calculatorpb.Numbers{A: 1, B: 0})
	requireStatus(t, err, codes.Unavailable, "upstream http status 400: division by zero")
	e.payer.Undo(e.price)
	e.requireAmount(t, 4, "a failed call is not charged")

	// Methods are found in the service API; others are refused unpaid.
	_, err = e.raw(e.pay(t), "/example_service.Calculator/pow", nil)
	requireStatus(t, err, codes.Unimplemented, "method /example_service.Calculator/pow is not in the service API")
	e.payer.Undo(e.price)
	_, err = e.raw(e.pay(t), "/example_service.Calculator/add", []byte{0xff, 0xff})
	require.Equal(t, codes.InvalidArgument, status.Code(err), err)
	e.payer.Undo(e.price)

	res, err = e.calc.Mul(e.pay(t), &calculatorpb.Numbers{A: 2, B: 8})
	require.NoError(t, err)
	require.Equal(t, float32(16), res.GetValue())
	e.requireAmount(t, 8, "only the two answered calls are paid")
}

func TestHTTPBackendUnreachable(t *testing.T) {
	api, err := metadata.CompileAPI(context.Background(), calculator.APIArchive())
	require.NoError(t, err)
	closed := listen(t)
	addr := closed.Addr().String()
	require.NoError(t, closed.Close())
	e := newEnvWith(t, 4, envOptions{server: func(o *host.ServerOptions) {
		o.ServiceType, o.API, o.ServiceEndpoint = "http", api, addr
	}})
	_, err = e.calc.Add(e.pay(t), &calculatorpb.Numbers{A: 2, B: 3})
	require.Equal(t, codes.Unavailable, status.Code(err), err)
	e.payer.Undo(e.price)
	e.requireAmount(t, 0, "nothing is charged when the service cannot be reached")
}

func TestJSONRPCBackend(t *testing.T) {
	e := newEnvWith(t, 6, envOptions{
		http:   calculator.JSONRPCHandler(),
		server: func(o *host.ServerOptions) { o.ServiceType, o.Encoding = "jsonrpc", "json" },
	})
	// As a client of a json-encoded service calls it: application/grpc+json.
	out, err := e.rawAs(e.pay(t), "json", "/example_service.Calculator/add", []byte(`{"a": 2, "b": 3}`))
	require.NoError(t, err)
	require.Equal(t, `{"value":5}`, string(out))
	e.requireAmount(t, 6, "the JSON-RPC call is paid")

	for _, tc := range []struct {
		method, req string
		code        codes.Code
		msg         string
	}{
		{"div", `{"a": 1, "b": 0}`, codes.Unknown, "json-rpc error 1: division by zero"},
		{"pow", `{"a": 1, "b": 2}`, codes.Unimplemented, "json-rpc error -32601: method not found: pow"},
		{"add", `not json`, codes.InvalidArgument, "request is not JSON: a JSON-RPC service takes JSON messages (encoding json)"},
	} {
		_, err := e.rawAs(e.pay(t), "json", "/example_service.Calculator/"+tc.method, []byte(tc.req))
		requireStatus(t, err, tc.code, tc.msg)
		e.payer.Undo(e.price)
	}
	e.requireAmount(t, 6, "failed calls are not charged")
}

func TestProcessBackend(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "service.sh")
	// The method is the argument, the request on stdin; the answer is
	// stdout and stderr together.
	require.NoError(t, os.WriteFile(script, []byte(`#!/bin/sh
case "$1" in
fail) echo "cannot do that" >&2; exit 3 ;;
flood) head -c 2000000 /dev/zero ;;
*) printf '%s:' "$1" >&2; cat ;;
esac
`), 0o755))
	e := newEnvWith(t, 2, envOptions{server: func(o *host.ServerOptions) {
		o.ServiceType, o.ExecutablePath, o.MaxMessageBytes = "process", script, 1<<20
	}})
	out, err := e.raw(e.pay(t), "/example_service.Calculator/add", []byte("request bytes"))
	require.NoError(t, err)
	require.Equal(t, "add:request bytes", string(out))
	e.requireAmount(t, 2, "the process call is paid")

	_, err = e.raw(e.pay(t), "/example_service.Calculator/fail", []byte("x"))
	requireStatus(t, err, codes.Unknown, "service process exit status 3: cannot do that")
	e.payer.Undo(e.price)
	_, err = e.raw(e.pay(t), "/example_service.Calculator/flood", nil)
	requireStatus(t, err, codes.ResourceExhausted, fmt.Sprintf("service process output larger than max_message_size (%d bytes)", 1<<20))
	e.payer.Undo(e.price)
	e.requireAmount(t, 2, "failed calls are not charged")
}

func TestBackendConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    host.ServerOptions
		want string
	}{
		{"http without API", host.ServerOptions{ServiceType: "http", ServiceEndpoint: "127.0.0.1:1"}, "backend type http needs the service API"},
		{"http endpoint", host.ServerOptions{ServiceType: "http", ServiceEndpoint: "ftp://x", Encoding: "json"}, `service endpoint "ftp://x": not an http(s) URL or host:port`},
		{"process without program", host.ServerOptions{ServiceType: "process"}, "backend type process needs executable_path"},
		{"process not found", host.ServerOptions{ServiceType: "process", ExecutablePath: "/nonexistent/service"}, "/nonexistent/service"},
		{"unknown", host.ServerOptions{ServiceType: "smoke-signals"}, `unknown service type "smoke-signals"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := host.NewServer(tc.o)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func requireStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st := status.Convert(err)
	require.Equal(t, code, st.Code(), st.Message())
	require.Equal(t, msg, st.Message())
}
