package host

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tariffd/tariff/pricing"
)

// metrics are the daemon's Prometheus metrics, served on /metrics of the
// daemon port. One registry per daemon keeps tests and replicas apart.
type metrics struct {
	reg        *prometheus.Registry
	reloads    *prometheus.CounterVec
	reloadOK   prometheus.Gauge
	generation prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tariff_config_reloads_total",
			Help: "Configuration reloads, by result (ok, error).",
		}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tariff_config_last_reload_successful",
			Help: "1 if the last configuration reload was applied, 0 if it was refused.",
		}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tariff_config_generation",
			Help: "Configuration snapshots applied since start (1 at start).",
		}),
	}
	m.reloadOK.Set(1)
	m.generation.Set(1)
	m.reg.MustRegister(m.reloads, m.reloadOK, m.generation,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) reloaded(err error) {
	if err != nil {
		m.reloads.WithLabelValues("error").Inc()
		m.reloadOK.Set(0)
		return
	}
	m.reloads.WithLabelValues("ok").Inc()
	m.reloadOK.Set(1)
	m.generation.Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// policyCollector exports the decisions of the current snapshot's plugins.
// They count from the snapshot's start, so a reload resets them (rate()
// and increase() handle resets).
type policyCollector struct {
	decisions *prometheus.Desc
	current   func() *pricing.Policy
}

func newPolicyCollector(current func() *pricing.Policy) *policyCollector {
	return &policyCollector{
		decisions: prometheus.NewDesc("tariff_plugin_decisions_total",
			"Decisions of each configured plugin since the configuration was loaded, by outcome (ok, pass, deny, error, fallback).",
			[]string{"plugin", "kind", "outcome"}, nil),
		current: current,
	}
}

func (c *policyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.decisions }

func (c *policyCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.current().Stats().Rules {
		for outcome, n := range r.Decisions {
			ch <- prometheus.MustNewConstMetric(c.decisions, prometheus.CounterValue, float64(n), r.Name, r.Kind.String(), outcome.String())
		}
	}
}
