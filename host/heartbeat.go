package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Heartbeat describes the daemon for GET /heartbeat and grpc.health.v1,
// in snet-daemon's format (clients and the marketplace read it).
type Heartbeat struct {
	DaemonID          string
	ServiceID         string
	Network           string
	BlockchainEnabled bool
	Version           string
	Encoding          string // "proto" or "json", served at GET /encoding
	// Probe reports whether the AI service answers; nil means always.
	Probe func(ctx context.Context) bool
	// Metrics serves GET /metrics (Prometheus); nil: not served.
	Metrics http.Handler
}

// DaemonID is upstream's daemon id: hex SHA-256 of org ‖ service ‖ group ‖ registry.
func DaemonID(orgID, serviceID, groupIDBase64, registry string) string {
	sum := sha256.Sum256([]byte(orgID + serviceID + groupIDBase64 + registry))
	return hex.EncodeToString(sum[:])
}

type heartbeatJSON struct {
	DaemonID          string `json:"daemonID"`
	Timestamp         string `json:"timestamp"`
	Status            string `json:"status"`
	ServiceHeartbeat  string `json:"serviceheartbeat"`
	DaemonVersion     string `json:"daemonVersion"`
	BlockchainEnabled bool   `json:"blockchainEnabled"`
	BlockchainNetwork string `json:"blockchainNetwork"`
	StorageCert       struct {
		ValidFrom string `json:"validFrom"`
		ValidTill string `json:"validTill"`
	} `json:"storageClientCertDetails"`
}

func (h *Heartbeat) serving(ctx context.Context) bool {
	if h.Probe == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return h.Probe(ctx)
}

func (h *Heartbeat) report(ctx context.Context) heartbeatJSON {
	up := h.serving(ctx)
	svc, daemon := "NOT_SERVING", "Offline"
	if up {
		svc, daemon = "SERVING", "Online"
	}
	inner, _ := json.Marshal(struct {
		ServiceID string `json:"serviceID"`
		Status    string `json:"status"`
	}{h.ServiceID, svc})
	return heartbeatJSON{
		DaemonID: h.DaemonID, Timestamp: strconv.FormatInt(time.Now().Unix(), 10), Status: daemon,
		ServiceHeartbeat: string(inner), DaemonVersion: h.Version,
		BlockchainEnabled: h.BlockchainEnabled, BlockchainNetwork: h.Network,
	}
}

// ServeHTTP serves the HTTP/1 side of the daemon's port: /heartbeat,
// /encoding and CORS preflights.
func (h *Heartbeat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS, HEAD, CONNECT")
		w.Header().Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	switch r.URL.Path {
	case "/heartbeat":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(h.report(r.Context()))
	case "/metrics":
		if h.Metrics == nil {
			http.NotFound(w, r)
			return
		}
		h.Metrics.ServeHTTP(w, r)
	case "/encoding":
		enc := h.Encoding
		if enc == "" {
			enc = "proto"
		}
		fmt.Fprintln(w, enc)
	default:
		http.NotFound(w, r)
	}
}

// health is grpc.health.v1 as upstream answers it.
type health struct {
	healthpb.UnimplementedHealthServer
	hb *Heartbeat
}

func (s health) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if !s.hb.serving(ctx) {
		return nil, fmt.Errorf("Service heartbeat unknown: %s", "Offline")
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (s health) Watch(*healthpb.HealthCheckRequest, grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	return nil
}

// Probe returns the service probe of heartbeat type typ ("grpc", "http",
// "https", or tcp for "", "none", "tcp"), as snet-daemon's heartbeat.
func Probe(typ, endpoint, serviceEndpoint, serviceID string) func(context.Context) bool {
	switch typ {
	case "grpc":
		target, creds, err := dialTarget(endpoint)
		if err != nil {
			return func(context.Context) bool { return false }
		}
		return func(ctx context.Context) bool {
			conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds))
			if err != nil {
				return false
			}
			defer conn.Close()
			res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: serviceID})
			return err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING
		}
	case "http", "https":
		return func(ctx context.Context) bool {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
			if err != nil {
				return false
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			defer res.Body.Close()
			var b [1]byte
			n, _ := res.Body.Read(b[:])
			return res.StatusCode == http.StatusOK && n > 0
		}
	}
	target, _, err := dialTarget(serviceEndpoint)
	return func(ctx context.Context) bool {
		if err != nil {
			return false
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", target)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}
}
