package escrow_test

import (
	"context"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/escrow"
	"github.com/tariffd/tariff/escrow/etcdserver"
)

// Three replicas of one payment group, each talking to a different member
// of a real three-member etcd cluster, race for the same payments: every
// payment is accepted exactly once and the stored amount is their sum.
func TestReplicasOnMultiMemberCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-member etcd cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	members, err := etcdserver.StartCluster(ctx, t.TempDir(), 3, true)
	require.NoError(t, err)
	defer func() {
		for _, m := range members {
			_ = m.Close()
		}
	}()

	chain := newFakeChain()
	chain.set(42, openChannel(0, 1_000_000, 7100000))
	keys := escrow.NewKeys("cluster", "snet", testGroupB64, testMPE)
	var replicas []*escrow.Channels
	for _, m := range members {
		replicas = append(replicas, newChannels(escrow.NewStore(m.Client(), keys, 0), chain))
	}

	const calls = 30
	var accepted atomic.Int32
	for i := int64(1); i <= calls; i++ {
		p := payment(t, clientKey, 42, 0, i*10)
		var wg sync.WaitGroup
		for _, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := r.Pay(ctx, p, price); err == nil {
					accepted.Add(1)
				}
			}()
		}
		wg.Wait()
	}
	require.Equal(t, int32(calls), accepted.Load())
	for _, m := range members {
		ch, _, err := escrow.NewStore(m.Client(), keys, 0).Channel(ctx, big.NewInt(42))
		require.NoError(t, err)
		require.Equal(t, int64(calls*10), ch.AuthorizedAmount.Int64(), "every member agrees")
	}

	// A replica whose member is gone refuses calls rather than serving them free.
	require.NoError(t, members[2].Close())
	members = members[:2]
	_, err = replicas[2].Pay(ctx, payment(t, clientKey, 42, 0, (calls+1)*10), price)
	require.Error(t, err)
	_, err = replicas[0].Pay(ctx, payment(t, clientKey, 42, 0, (calls+1)*10), price)
	require.NoError(t, err, "the two remaining members keep quorum")
}
