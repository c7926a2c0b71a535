package config

import "time"

// Defaults are snet-daemon's, so that an unchanged
// snetd.config.json behaves the same under tariffd; tariff's own settings
// (poll interval) are documented with their field.
const (
	defaultListen          = "127.0.0.1:8080"
	defaultGroup           = "default_group"
	defaultDaemonType      = "grpc"
	defaultOrganizationID  = "YOUR_ORG_ID"
	defaultServiceID       = "YOUR_SERVICE_ID"
	defaultNetwork         = "sepolia"
	defaultServiceEndpoint = "http://localhost:5000"
	defaultServiceTimeout  = 100 * time.Second
	defaultMaxMessageMB    = 4
	maxMessageMB           = 2048 // gRPC's limit: 2 GiB
	defaultIPFSEndpoint    = "https://ipfs.singularitynet.io:443"
	defaultLighthouse      = "https://gateway.lighthouse.storage/ipfs/"
	defaultIPFSTimeout     = 30 * time.Second
	defaultPollInterval    = 5 * time.Second
	defaultAutoSSLCacheDir = ".certs"
	defaultMinBalance      = "10"
	defaultTokenExpiry     = 1440 * time.Minute
	defaultTokenSecret     = "test-secret-key-at-least-32-bytes-long"
	minTokenSecretLen      = 32

	defaultEmbeddedID       = "storage-1"
	defaultEmbeddedScheme   = "http"
	defaultEmbeddedHost     = "127.0.0.1"
	defaultClientPort       = 2379
	defaultPeerPort         = 2380
	defaultEmbeddedToken    = "unique-token"
	defaultStartupTimeout   = time.Minute
	defaultEmbeddedDataDir  = "storage-data-dir-1.etcd"
	defaultEmbeddedLogLevel = "info"

	defaultLogLevel        = "info"
	defaultLogFormat       = "text"
	defaultLogTimezone     = "UTC"
	defaultTimestampFormat = "2006-01-02T15:04:05.999Z07:00"
	defaultLogFilePattern  = "./snet-daemon.%Y%m%d.log"
	defaultLogCurrentLink  = "./snet-daemon.log"
	defaultLogMaxSizeMB    = 10
	defaultLogMaxAgeDays   = 7
)

var (
	defaultTrustedSigners = []string{
		"0x3Bb9b2499c283cec176e7C707Ecb495B7a961ebf",
		"0x7DF35C98f41F3Af0df1dc4c7F7D4C19a71Dd059F",
	}
	defaultEmbeddedLogOutputs = []string{"./etcd-server.log"}
	defaultLogOutputs         = []string{"file", "stdout"}
)
