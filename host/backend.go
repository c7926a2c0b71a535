package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// backend forwards one call to the AI service. first is the request message
// the pipeline already read; the rest is streamed from in.
type backend interface {
	forward(ctx context.Context, method string, first *frame, in grpc.ServerStream) error
	Close() error
}

// newBackend makes the backend of o.ServiceType.
func newBackend(o ServerOptions) (backend, error) {
	if o.Echo {
		return echoBackend{}, nil
	}
	switch o.ServiceType {
	case "", "grpc":
		return newGRPCBackend(o.ServiceEndpoint, o.Encoding, o.MaxMessageBytes)
	case "http":
		var api methodFinder
		if o.API != nil {
			api = o.API
		}
		return newHTTPBackend(o.ServiceEndpoint, api, o.Encoding, o.Credentials, o.MaxMessageBytes)
	case "jsonrpc":
		return newJSONRPCBackend(o.ServiceEndpoint, o.MaxMessageBytes)
	case "process":
		return newProcessBackend(o.ExecutablePath, o.MaxMessageBytes)
	}
	return nil, fmt.Errorf("unknown service type %q (want grpc, http, jsonrpc or process)", o.ServiceType)
}

// grpcBackend is a transparent frame proxy to a gRPC service: any method,
// all four streaming kinds, metadata in, headers and trailers back.
type grpcBackend struct {
	conn    *grpc.ClientConn
	subtype string
}

var proxyDesc = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

// newGRPCBackend dials endpoint ("host:port", "http://host:port" or
// "https://host:port" for TLS with the system roots). encoding is the
// metadata "encoding" (proto or json), sent as the content-subtype.
func newGRPCBackend(endpoint, encoding string, maxMsg int) (*grpcBackend, error) {
	target, creds, err := dialTarget(endpoint)
	if err != nil {
		return nil, err
	}
	codec := newRawCodec()
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(codec)),
	}
	if maxMsg > 0 {
		opts = append(opts, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("service endpoint %q: %w", endpoint, err)
	}
	sub := ""
	if encoding != "" && encoding != "proto" {
		sub = encoding
	}
	return &grpcBackend{conn: conn, subtype: sub}, nil
}

func dialTarget(endpoint string) (string, credentials.TransportCredentials, error) {
	if !strings.Contains(endpoint, "://") {
		return endpoint, insecure.NewCredentials(), nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", nil, fmt.Errorf("service endpoint %q: not host:port or a URL", endpoint)
	}
	if u.Scheme == "https" {
		return u.Host, credentials.NewTLS(nil), nil
	}
	return u.Host, insecure.NewCredentials(), nil
}

func (b *grpcBackend) Close() error { return b.conn.Close() }

func (b *grpcBackend) forward(ctx context.Context, method string, first *frame, in grpc.ServerStream) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var opts []grpc.CallOption
	if b.subtype != "" {
		opts = append(opts, grpc.CallContentSubtype(b.subtype))
	}
	out, err := b.conn.NewStream(ctx, proxyDesc, method, opts...)
	if err != nil {
		return backendError(err)
	}
	// client -> service
	upErr := make(chan error, 1)
	go func() {
		upErr <- pump(first, in, out)
	}()
	// service -> client
	var f frame
	headerSent := false
	for {
		err := out.RecvMsg(&f)
		if err != nil {
			if !headerSent {
				if md, herr := out.Header(); herr == nil && len(md) > 0 {
					_ = in.SetHeader(md)
				}
			}
			in.SetTrailer(out.Trailer())
			if errors.Is(err, io.EOF) {
				return nil
			}
			return backendError(err)
		}
		if !headerSent {
			if md, herr := out.Header(); herr == nil {
				_ = in.SendHeader(md)
			}
			headerSent = true
		}
		if err := in.SendMsg(&f); err != nil {
			// The client went away; cancel the service call too.
			return err
		}
		select {
		case err := <-upErr:
			if err != nil {
				return err
			}
			upErr = nil // nil channel: never selected again
		default:
		}
	}
}

// pump sends the first request and then everything else the client sends.
func pump(first *frame, in grpc.ServerStream, out grpc.ClientStream) error {
	if first != nil {
		if err := out.SendMsg(first); err != nil {
			return nil // the service's status arrives through RecvMsg
		}
	}
	for {
		var f frame
		if err := in.RecvMsg(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return out.CloseSend()
			}
			return err
		}
		if err := out.SendMsg(&f); err != nil {
			return nil
		}
	}
}

// backendError keeps the service's own statuses and labels transport failures.
func backendError(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Errorf(codes.Unavailable, "can't connect to service: %v", err)
}

// echoBackend answers with the first request frame (passthrough_enabled=false), as upstream.
type echoBackend struct{}

func (echoBackend) forward(_ context.Context, _ string, first *frame, in grpc.ServerStream) error {
	if first == nil {
		return nil
	}
	return in.SendMsg(first)
}

func (echoBackend) Close() error { return nil }
