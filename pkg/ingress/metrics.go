package ingress

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the ingress's Prometheus metrics. Labels are configured source names (unknown
// ones count as "unknown"), status codes and results only.
type metrics struct {
	requests    *prometheus.CounterVec
	events      *prometheus.CounterVec
	authFailed  *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	publish     prometheus.Histogram
	ready       prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_ingress_requests_total",
			Help: "Requests, by source and HTTP status code."}, []string{"source", "code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_ingress_events_total",
			Help: "Events of authenticated requests, by source and result: accepted, duplicate, scheduled, ignored, rejected or failed (not stored: 503)."}, []string{"source", "result"}),
		authFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_ingress_auth_failures_total",
			Help: "Requests that failed authentication (answered 401)."}, []string{"source"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_ingress_rate_limited_total",
			Help: "Requests refused by the source's rate limit (answered 429)."}, []string{"source"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "genesys_ingress_publish_seconds",
			Help:    "Per request, the time from the first publish to the last PubAck.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{Name: "genesys_ingress_ready",
			Help: "1 while NATS is connected and the jobs stream answers (the last readiness check), else 0."}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.events, m.authFailed, m.rateLimited, m.publish, m.ready)
	}
	return m
}
