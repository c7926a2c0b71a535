package host

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/host/config"
	"github.com/tariffd/tariff/host/metadata"
)

func TestMetadataRestartFields(t *testing.T) {
	env := &PaymentEnv{
		Service:      &metadata.Service{MPEAddress: common.HexToAddress("0x01"), Encoding: "proto"},
		OrgGroup:     &metadata.OrgGroup{PaymentAddress: common.HexToAddress("0x02"), ExpirationThreshold: 100},
		ServiceGroup: &metadata.ServiceGroup{FreeCalls: 3},
	}
	same := func() (*metadata.Service, *metadata.OrgGroup, *metadata.ServiceGroup) {
		svc, og, sg := *env.Service, *env.OrgGroup, *env.ServiceGroup
		return &svc, &og, &sg
	}
	svc, og, sg := same()
	sg.PriceEntries = nil // prices reload live
	require.Empty(t, metadataRestartFields(env, svc, og, sg))

	svc, og, sg = same()
	og.PaymentAddress = common.HexToAddress("0x03")
	sg.FreeCalls = 5
	require.Equal(t, []string{"payment_address", "free_calls"}, metadataRestartFields(env, svc, og, sg))
}

func TestNotActedOn(t *testing.T) {
	require.Empty(t, notActedOn(config.Config{}))
	var cfg config.Config
	cfg.Metering.Enabled = true
	cfg.Training.Enabled = true
	cfg.Log.Hooks = []config.LogHook{{Name: "mail", Type: "email"}}
	got := notActedOn(cfg)
	require.Len(t, got, 3)
	require.Contains(t, got[0], "metering_enabled")
	require.Contains(t, got[1], "model_training_enabled")
	require.Contains(t, got[2], "log hooks")
}
