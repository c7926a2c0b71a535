package host_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tariffd/tariff/escrow/chaintest"
	"github.com/tariffd/tariff/escrow/etcdserver"
)

// One embedded etcd and one simulated chain with the real contracts for the
// whole package: each costs seconds to start.
var (
	testEtcd *etcdserver.Server
	testSim  *chaintest.Sim
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "host-etcd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ports, err := etcdserver.FreePorts(2)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testEtcd, err = etcdserver.Start(ctx, etcdserver.Config{
		DataDir:   dir,
		ClientURL: fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		PeerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		LogLevel:  "error",
		NoFsync:   true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testEtcd.Close()
	testSim, err = chaintest.NewSim(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testSim.Close()
	return m.Run()
}
