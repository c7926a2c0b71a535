package escrow_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tariffd/tariff/escrow"
)

var benchRound atomic.Int64

// BenchmarkStoreSwap measures one compare-and-swap on the shared embedded
// etcd, one key per goroutine (as one channel per client).
func BenchmarkStoreSwap(b *testing.B) {
	store := escrow.NewStore(etcdClient(), escrow.NewKeys("bench", "org", "g", testMPE), 0)
	ctx := context.Background()
	round := benchRound.Add(1)
	var next atomic.Int64
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		key := fmt.Sprintf("bench/swap/%d/%d", round, next.Add(1))
		var rev int64
		val := make([]byte, 300)
		for pb.Next() {
			res, err := store.Swap(ctx, key, rev, val, val)
			if err != nil || !res.Swapped {
				b.Fatal(err, res)
			}
			rev = res.Rev
		}
	})
}
