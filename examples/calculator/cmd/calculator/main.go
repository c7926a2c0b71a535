// Command calculator runs the example calculator service (see package
// github.com/tariffd/tariff/examples/calculator) as a plain gRPC backend for
// tariffd. It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/tariffd/tariff/examples/calculator"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7003", "address to serve gRPC on")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		slog.Error("listen", "addr", *listen, "err", err)
		os.Exit(1)
	}
	slog.Info("calculator serving", "addr", lis.Addr().String())
	if err := calculator.Serve(ctx, lis); err != nil {
		slog.Error("serve", "err", err)
		os.Exit(1)
	}
	slog.Info("calculator stopped")
}
