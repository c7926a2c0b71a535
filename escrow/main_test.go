package escrow_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/tariffd/tariff/escrow/etcdserver"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// One embedded etcd for the whole package: starting one costs ~1 s.
var testEtcd *etcdserver.Server

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "escrow-etcd-")
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
	testEtcd, err = etcdserver.Start(context.Background(), etcdserver.Config{
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
	return m.Run()
}

func etcdClient() *clientv3.Client { return testEtcd.Client() }
