// Command devnet starts a complete local SingularityNET network (chain with
// the real contracts, metadata, the example Calculator, tariffd on embedded
// etcd), runs a demo client that makes paid calls, and keeps everything up
// until Ctrl-C so that other clients (snet-sdk, snet-cli) can use it.
//
//	go run ./examples/devnet [-dir DIR] [-calls N] [-exit]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tariffd/tariff/escrow/chaintest"
	"github.com/tariffd/tariff/examples/devnet/localnet"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "tariff-devnet"), "working directory (config, etcd data)")
	rounds := flag.Int("calls", 5, "rounds of demo calls (two paid calls each)")
	exit := flag.Bool("exit", false, "stop after the demo instead of waiting for Ctrl-C")
	serviceType := flag.String("service-type", "grpc", "how the Calculator is served behind tariffd: grpc or http")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := run(*dir, *rounds, *exit, *serviceType, log); err != nil {
		log.Error("devnet", "err", err)
		os.Exit(1)
	}
}

func run(dir string, rounds int, exit bool, serviceType string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A fresh directory each run: the chain is new, so old channel state would not match it.
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	n, err := localnet.Start(ctx, localnet.Options{
		Dir: dir, ChainPort: 8545, IPFSPort: 5002, ServicePort: 7003, DaemonPort: 7000,
		EtcdPorts: [2]int{2379, 2380}, BlockTime: time.Second, Log: log, ServiceType: serviceType,
	})
	if err != nil {
		return err
	}
	defer n.Close()

	c := n.Sim.Contracts
	fmt.Printf(`
local network is up
  chain (JSON-RPC)   %s   chain id %d, a block every second
  Token              %s
  MultiPartyEscrow   %s
  Registry           %s
  metadata (IPFS)    %s
  organization       %s / service %s / group %s
  tariffd            %s   (config %s)
  client key         %s  (%s)

demo client:
`, n.Sim.HTTPURL(), chaintest.SimChainID, c.Token.Hex(), c.MPE.Hex(), c.Registry.Hex(), n.IPFSURL,
		localnet.OrgID, localnet.ServiceID, localnet.GroupName, n.DaemonAddr, n.ConfigPath,
		chaintest.ClientKeyHex, n.Sim.Sender.Address.Hex())

	if _, err := n.Demo(ctx, os.Stdout, rounds); err != nil {
		return err
	}
	fmt.Println("\nprovider (treasurer):")
	if _, err := n.Claim(ctx, os.Stdout); err != nil {
		return err
	}
	fmt.Println("\nprepaid calls:")
	if _, err := n.Prepaid(ctx, os.Stdout, 5); err != nil {
		return err
	}
	fmt.Println("\nfree call:")
	if _, err := n.FreeCall(ctx, os.Stdout); err != nil {
		return err
	}
	if exit {
		return nil
	}
	fmt.Println("\neverything keeps running; press Ctrl-C to stop")
	select {
	case <-ctx.Done():
	case err := <-n.Err():
		return err
	}
	return nil
}
