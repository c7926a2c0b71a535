package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/tariffd/tariff/host/config"
)

// methodFinder resolves a gRPC method to its message types (the service's
// compiled API, metadata.API).
type methodFinder interface {
	Method(fullMethod string) (protoreflect.MethodDescriptor, bool)
}

// httpBackend serves every method as a JSON POST to an HTTP service
// (service_type http), as snet-daemon does: unary; the request decoded
// with the method's input type and sent as JSON with proto field names to
// endpoint/<method name>; the JSON answer read into the output type.
type httpBackend struct {
	jsonPoster
	api methodFinder
	// url is endpoint/ with the query credentials; the method name is
	// joined to its path per call.
	base      *url.URL
	header    http.Header    // header credentials
	bodyCreds map[string]any // body credentials
	// jsonFrames: the service's encoding is json, so the client's frames
	// are JSON already and pass as they are.
	jsonFrames bool
}

// jsonrpcBackend serves every method as a JSON-RPC 2.0 call to the
// service (service_type jsonrpc): the request frame, which must be JSON,
// is the params; the result is the reply frame.
type jsonrpcBackend struct {
	jsonPoster
	endpoint string
}

// jsonPoster is the HTTP client both JSON backends share.
type jsonPoster struct {
	client *http.Client
	maxMsg int // bound on the answer, as on gRPC messages
}

func newJSONPoster(maxMsg int) jsonPoster {
	if maxMsg <= 0 {
		maxMsg = 4 << 20
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256, // the default 2 would open a connection per concurrent call
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return jsonPoster{client: &http.Client{Transport: t}, maxMsg: maxMsg}
}

// httpURL reads a service endpoint as a URL; host:port means http.
func httpURL(endpoint string) (*url.URL, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("service endpoint %q: not an http(s) URL or host:port", endpoint)
	}
	return u, nil
}

func newHTTPBackend(endpoint string, api methodFinder, encoding string, creds []config.Credential, maxMsg int) (*httpBackend, error) {
	u, err := httpURL(endpoint)
	if err != nil {
		return nil, err
	}
	if api == nil && encoding != "json" {
		return nil, errors.New("backend type http needs the service API (the service metadata's service_api_source) to convert messages to JSON")
	}
	b := &httpBackend{jsonPoster: newJSONPoster(maxMsg), api: api, base: u, header: http.Header{},
		bodyCreds: map[string]any{}, jsonFrames: encoding == "json"}
	q := u.Query()
	for _, c := range creds {
		v, isString := c.Value.(string)
		switch {
		case c.Location == "body":
			b.bodyCreds[c.Key] = c.Value
		case !isString:
			return nil, fmt.Errorf("service credential %q: a %s value must be a string", c.Key, c.Location)
		case c.Location == "query":
			q.Add(c.Key, v)
		case c.Location == "header":
			b.header.Set(c.Key, v)
		}
	}
	u.RawQuery = q.Encode()
	return b, nil
}

func newJSONRPCBackend(endpoint string, maxMsg int) (*jsonrpcBackend, error) {
	u, err := httpURL(endpoint)
	if err != nil {
		return nil, err
	}
	return &jsonrpcBackend{jsonPoster: newJSONPoster(maxMsg), endpoint: u.String()}, nil
}

func (p jsonPoster) Close() error {
	p.client.CloseIdleConnections()
	return nil
}

// methodName is the last segment of "/package.Service/method".
func methodName(fullMethod string) string {
	return fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
}

func (b *httpBackend) forward(ctx context.Context, method string, first *frame, in grpc.ServerStream) error {
	if first == nil {
		return status.Error(codes.InvalidArgument, "no request message: the service's HTTP methods are unary")
	}
	var out protoreflect.MessageDescriptor
	body := first.payload
	if !b.jsonFrames {
		m, ok := b.api.Method(method)
		if !ok {
			return status.Errorf(codes.Unimplemented, "method %s is not in the service API", method)
		}
		req := dynamicpb.NewMessage(m.Input())
		if err := proto.Unmarshal(first.payload, req); err != nil {
			return status.Errorf(codes.InvalidArgument, "request is not a valid %s: %v", m.Input().FullName(), err)
		}
		var err error
		if body, err = (protojson.MarshalOptions{UseProtoNames: true}).Marshal(req); err != nil {
			return status.Errorf(codes.Internal, "request to JSON: %v", err)
		}
		out = m.Output()
	} else if !json.Valid(body) {
		return status.Error(codes.InvalidArgument, "request is not JSON (the service's encoding is json)")
	}

	resp, err := b.do(ctx, b.base.JoinPath(methodName(method)).String(), b.header, withFields(body, b.bodyCreds))
	if err != nil {
		return err
	}
	if out != nil {
		msg := dynamicpb.NewMessage(out)
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true, AllowPartial: true}).Unmarshal(resp, msg); err != nil {
			return status.Errorf(codes.Internal, "service answer is not a valid %s: %v", out.FullName(), err)
		}
		if resp, err = (proto.MarshalOptions{AllowPartial: true}).Marshal(msg); err != nil {
			return status.Errorf(codes.Internal, "service answer: %v", err)
		}
	}
	return in.SendMsg(&frame{payload: resp})
}

// withFields adds body credentials to a JSON object; other JSON (and a
// body with no credentials) is sent as it is, as snet-daemon does.
func withFields(body []byte, fields map[string]any) []byte {
	if len(fields) == 0 {
		return body
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return body
	}
	for k, v := range fields {
		raw, err := json.Marshal(v)
		if err != nil {
			continue // config values are decoded JSON: always marshal
		}
		obj[k] = raw
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return body
	}
	return out
}

// jsonrpcError is the error member of a JSON-RPC 2.0 response.
type jsonrpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (b *jsonrpcBackend) forward(ctx context.Context, method string, first *frame, in grpc.ServerStream) error {
	if first == nil {
		return status.Error(codes.InvalidArgument, "no request message: JSON-RPC methods are unary")
	}
	if !json.Valid(first.payload) {
		return status.Error(codes.InvalidArgument, "request is not JSON: a JSON-RPC service takes JSON messages (encoding json)")
	}
	id := rand.Uint64() >> 11 // exact in a JSON number
	req, err := json.Marshal(struct {
		Version string          `json:"jsonrpc"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
		ID      uint64          `json:"id"`
	}{"2.0", methodName(method), first.payload, id})
	if err != nil {
		return status.Errorf(codes.Internal, "JSON-RPC request: %v", err)
	}
	raw, err := b.do(ctx, b.endpoint, nil, req)
	if err != nil {
		return err
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *jsonrpcError   `json:"error"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return status.Errorf(codes.Internal, "service answer is not a JSON-RPC response: %v", err)
	}
	if e := resp.Error; e != nil {
		return status.Errorf(jsonrpcCode(e.Code), "json-rpc error %d: %s", e.Code, e.Message)
	}
	if resp.Result == nil {
		return status.Error(codes.Internal, "service answer has neither result nor error")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, resp.Result); err != nil {
		return status.Errorf(codes.Internal, "service answer: %v", err)
	}
	return in.SendMsg(&frame{payload: buf.Bytes()})
}

// jsonrpcCode maps JSON-RPC 2.0's reserved error codes to gRPC codes; a
// service's own codes are Unknown.
func jsonrpcCode(c int) codes.Code {
	switch c {
	case -32700, -32600, -32602: // parse error, invalid request, invalid params
		return codes.InvalidArgument
	case -32601: // method not found
		return codes.Unimplemented
	case -32603: // internal error
		return codes.Internal
	}
	return codes.Unknown
}

// do POSTs a JSON body and returns the answer of a 2xx response. Errors
// are gRPC statuses: a status other than 2xx is Unavailable
// "upstream http status <code>: <body>", as snet-daemon reports it.
func (p jsonPoster) do(ctx context.Context, url string, header http.Header, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, status.Errorf(codes.Internal, "HTTP request to the service: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, status.Errorf(codes.Unavailable, "can't connect to service: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(p.maxMsg)+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, status.Errorf(codes.Unavailable, "reading the service's answer: %v", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, status.Errorf(codes.Unavailable, "upstream http status %d: %s", resp.StatusCode, excerpt(data))
	}
	if len(data) > p.maxMsg {
		return nil, status.Errorf(codes.ResourceExhausted, "service answer larger than max_message_size (%d bytes)", p.maxMsg)
	}
	return data, nil
}

// excerpt is the start of a service's output, fit for an error message.
func excerpt(b []byte) string {
	const max = 512
	s := strings.TrimSpace(strings.ToValidUTF8(string(b[:min(len(b), max)]), "\uFFFD"))
	if len(b) > max {
		s += "…"
	}
	return s
}
