package host_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tariffd/tariff/host"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestDaemonIDVectors(t *testing.T) {
	require.Equal(t, "20e986a77adb1ab0900dce6f554128496aa26be1e212d682f37898bae226fcfc",
		host.DaemonID("YOUR_ORG_ID", "YOUR_SERVICE_ID", "", ""))
	require.Equal(t, "689b2737232c07246e22636df0d205771775f30a9ead284d2641903e83a4ff37",
		host.DaemonID("snet", "example-service", "EoFmN3nvaXpf6ew8jJbIPVghE5NXfYupFF7PkRmVyGQ=", "0x4DCc70c6FCE4064803f0ae0cE48497B3f7182e5D"))
}

// The daemon's one port also speaks HTTP/1 (heartbeat, encoding) and
// answers grpc.health.v1, as snet-daemon does.
func TestHeartbeatOnTheSamePort(t *testing.T) {
	e := newEnv(t, 1)
	res, err := http.Get("http://" + e.addr + "/heartbeat")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var hb map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&hb))
	require.Equal(t, "Online", hb["status"])
	require.Contains(t, hb["serviceheartbeat"], `"status":"SERVING"`)

	res, err = http.Get("http://" + e.addr + "/encoding")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, "proto\n", string(body))

	hc, err := healthpb.NewHealthClient(e.conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, hc.GetStatus())
}
