// Command calculator runs the example calculator service (see package
// github.com/tariffd/tariff/examples/calculator) as a backend for tariffd:
// gRPC by default, or HTTP or JSON-RPC (-type). It stops gracefully on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tariffd/tariff/examples/calculator"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7003", "address to serve on")
	typ := flag.String("type", "grpc", "service type: grpc, http or jsonrpc")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		slog.Error("listen", "addr", *listen, "err", err)
		os.Exit(1)
	}
	slog.Info("calculator serving", "addr", lis.Addr().String(), "type", *typ)
	switch *typ {
	case "grpc":
		err = calculator.Serve(ctx, lis)
	case "http", "jsonrpc":
		h := calculator.HTTPHandler()
		if *typ == "jsonrpc" {
			h = calculator.JSONRPCHandler()
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		context.AfterFunc(ctx, func() { _ = srv.Shutdown(context.Background()) })
		if err = srv.Serve(lis); errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	default:
		slog.Error("unknown -type (want grpc, http or jsonrpc)", "type", *typ)
		os.Exit(2)
	}
	if err != nil {
		slog.Error("serve", "err", err)
		os.Exit(1)
	}
	slog.Info("calculator stopped")
}
