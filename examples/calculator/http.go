package calculator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// The calculator's four unary methods as HTTP and JSON-RPC services, the
// other service types snet-daemon (and tariffd) can sit in front of.

// numbers and result are the JSON forms of calculatorpb.Numbers and
// calculatorpb.Result (proto field names).
type numbers struct {
	A float32 `json:"a"`
	B float32 `json:"b"`
}

type result struct {
	Value float32 `json:"value"`
}

var errDivByZero = errors.New("division by zero")

// compute runs one of the unary methods; ok is false for an unknown method.
func compute(method string, n numbers) (r result, ok bool, err error) {
	switch method {
	case "add":
		return result{n.A + n.B}, true, nil
	case "sub":
		return result{n.A - n.B}, true, nil
	case "mul":
		return result{n.A * n.B}, true, nil
	case "div":
		if n.B == 0 {
			return result{}, true, errDivByZero
		}
		return result{n.A / n.B}, true, nil
	}
	return result{}, false, nil
}

// HTTPHandler serves the unary methods as HTTP: POST /add with
// {"a": 2, "b": 3} answers {"value": 5}. An unknown method is 404, a
// malformed body or a division by zero 400.
func HTTPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		var n numbers
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&n); err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		res, ok, err := compute(strings.TrimPrefix(r.URL.Path, "/"), n)
		switch {
		case !ok:
			http.NotFound(w, r)
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
		default:
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(res)
		}
	})
}

// JSONRPCHandler serves the unary methods as JSON-RPC 2.0 on any path:
// {"jsonrpc":"2.0","method":"add","params":{"a":2,"b":3},"id":1} answers
// {"jsonrpc":"2.0","result":{"value":5},"id":1}.
func JSONRPCHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Method string          `json:"method"`
			Params numbers         `json:"params"`
			ID     json.RawMessage `json:"id"`
		}
		resp := map[string]any{"jsonrpc": "2.0"}
		fail := func(code int, msg string) { resp["error"] = map[string]any{"code": code, "message": msg} }
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			fail(-32700, "parse error: "+err.Error())
		} else if res, ok, err := compute(req.Method, req.Params); !ok {
			fail(-32601, "method not found: "+req.Method)
		} else if err != nil {
			fail(1, err.Error())
		} else {
			resp["result"] = res
		}
		resp["id"] = req.ID
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	})
}
