package config

// deprecatedKeys maps snet-daemon's renamed top-level keys to their current
// names. snetd still honours them; so do we, with a warning. When both the
// old and the new key are set, the new one wins (snetd lets the old one
// win, which silently ignores the key the operator most likely edited last).
var deprecatedKeys = map[string]string{
	"daemon_end_point":           "daemon_endpoint",
	"ipfs_end_point":             "ipfs_endpoint",
	"passthrough_endpoint":       "service_endpoint",
	"metering_end_point":         "metering_endpoint",
	"heartbeat_svc_end_point":    "heartbeat_endpoint",
	"notification_svc_end_point": "notification_endpoint",
	"pvt_key_for_metering":       "private_key_for_metering",
	"pvt_key_for_free_calls":     "private_key_for_free_calls",
}
