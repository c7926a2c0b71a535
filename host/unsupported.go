package host

import (
	"errors"

	"github.com/tariffd/tariff/host/config"
)

// errLegacyHTTPDaemon: tariffd has no plain HTTP proxy mode; serving gRPC
// instead would break every caller of such a daemon.
var errLegacyHTTPDaemon = errors.New(`daemon_type "http" (snet-daemon's legacy plain HTTP proxy, without payments) is not supported; ` +
	`use daemon_type "grpc" with service_type http to put an HTTP service behind payments`)

// notActedOn lists the snet-daemon settings a configuration sets that
// tariffd reads but does not act on, so that an operator switching over is
// told at start rather than surprised later. Payments never depend on them.
func notActedOn(cfg config.Config) []string {
	var out []string
	add := func(set bool, what string) {
		if set {
			out = append(out, what)
		}
	}
	add(cfg.Metering.Enabled && !cfg.Blockchain.Enabled, "metering_enabled without a chain: nothing is reported, as with snet-daemon")
	add((cfg.Alerts.Email != "") != (cfg.Alerts.NotificationEndpoint != ""), "alerts need both alerts_email and notification_endpoint: no alerts are sent")
	add(cfg.Training.Enabled, "model_training_enabled: tariffd does not train models; training.Daemon answers as snet-daemon does with training off")
	add(len(cfg.Log.Hooks) > 0, "log hooks (email, telegram_bot): log lines are not sent to them")
	return out
}
