package calculator_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tariffd/tariff/examples/calculator"
)

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestHTTPHandler(t *testing.T) {
	srv := httptest.NewServer(calculator.HTTPHandler())
	defer srv.Close()
	for _, tc := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/add", `{"a": 2, "b": 3}`, 200, `{"value":5}`},
		{"/div", `{"a": 1, "b": 4}`, 200, `{"value":0.25}`},
		{"/div", `{"a": 1, "b": 0}`, 400, "division by zero"},
		{"/pow", `{"a": 1, "b": 0}`, 404, "404 page not found"},
		{"/add", `{"a": "x"}`, 400, "body: json: cannot unmarshal string into Go struct field numbers.a of type float32"},
	} {
		code, body := post(t, srv.URL+tc.path, tc.body)
		require.Equal(t, tc.code, code, tc.path)
		require.Equal(t, tc.want, body, tc.path)
	}
}

func TestJSONRPCHandler(t *testing.T) {
	srv := httptest.NewServer(calculator.JSONRPCHandler())
	defer srv.Close()
	for _, tc := range []struct{ req, want string }{
		{`{"jsonrpc":"2.0","method":"mul","params":{"a":3,"b":4},"id":7}`, `{"id":7,"jsonrpc":"2.0","result":{"value":12}}`},
		{`{"jsonrpc":"2.0","method":"div","params":{"a":3,"b":0},"id":8}`, `{"error":{"code":1,"message":"division by zero"},"id":8,"jsonrpc":"2.0"}`},
		{`{"jsonrpc":"2.0","method":"pow","params":{},"id":"x"}`, `{"error":{"code":-32601,"message":"method not found: pow"},"id":"x","jsonrpc":"2.0"}`},
	} {
		code, body := post(t, srv.URL, tc.req)
		require.Equal(t, 200, code)
		require.JSONEq(t, tc.want, body)
	}
}
