package relaycmd

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
)

// Metrics are the relay's Prometheus metrics, a relay.Observer. Labels are endpoint names
// and status labels only. The worker's dev mode can register the same on its own registry.
type Metrics struct {
	deliveries *prometheus.CounterVec
	retries    *prometheus.CounterVec
	dead       *prometheus.CounterVec
	backlog    *prometheus.GaugeVec
	oldest     *prometheus.GaugeVec
	latency    *prometheus.HistogramVec
	endToEnd   *prometheus.HistogramVec
	enabled    *prometheus.GaugeVec
}

var _ relay.Observer = (*Metrics)(nil)

// NewMetrics creates the relay metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	ep := []string{"endpoint"}
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "audit_relay_deliveries_total",
			Help: "Delivery attempts, by endpoint and status: the HTTP status code, or timeout, refused (egress check) or network."}, []string{"endpoint", "status"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "audit_relay_retries_total",
			Help: "Attempts that failed and were scheduled again."}, ep),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "audit_relay_dead_letters_total",
			Help: "Events given up on for an endpoint and stored as relay dead letters."}, ep),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "audit_relay_backlog",
			Help: "Events not yet delivered to the endpoint (consumer pending plus ack pending, plus every audit event a stalled relay stream has not mirrored)."}, ep),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "audit_relay_oldest_undelivered_seconds",
			Help: "Age of the endpoint's oldest undelivered event; compare with the audit stream's max age."}, ep),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "audit_relay_delivery_seconds",
			Help: "Duration of one delivery attempt.", Buckets: prometheus.DefBuckets}, ep),
		endToEnd: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "audit_relay_stored_to_delivered_seconds",
			Help:    "Time from the audit stream storing an event to the endpoint accepting it.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600}}, ep),
		enabled: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "audit_relay_endpoint_enabled",
			Help: "1 while the endpoint is enabled, 0 while disabled (by a 410 or an operator)."}, ep),
	}
	reg.MustRegister(m.deliveries, m.retries, m.dead, m.backlog, m.oldest, m.latency, m.endToEnd, m.enabled)
	return m
}

// Attempted implements relay.Observer.
func (m *Metrics) Attempted(endpoint, status string, took time.Duration) {
	m.deliveries.WithLabelValues(endpoint, status).Inc()
	m.latency.WithLabelValues(endpoint).Observe(took.Seconds())
}

// Delivered implements relay.Observer.
func (m *Metrics) Delivered(endpoint string, sinceStored time.Duration) {
	m.endToEnd.WithLabelValues(endpoint).Observe(sinceStored.Seconds())
}

// Retried implements relay.Observer.
func (m *Metrics) Retried(endpoint string) { m.retries.WithLabelValues(endpoint).Inc() }

// DeadLettered implements relay.Observer.
func (m *Metrics) DeadLettered(endpoint string) { m.dead.WithLabelValues(endpoint).Inc() }

// Backlog implements relay.Observer.
func (m *Metrics) Backlog(endpoint string, events uint64, oldest time.Duration) {
	m.backlog.WithLabelValues(endpoint).Set(float64(events))
	m.oldest.WithLabelValues(endpoint).Set(oldest.Seconds())
}

// EndpointEnabled implements relay.Observer.
func (m *Metrics) EndpointEnabled(endpoint string, enabled bool) {
	v := 0.0
	if enabled {
		v = 1
	}
	m.enabled.WithLabelValues(endpoint).Set(v)
	// The relay reports each endpoint's state when it starts: from then on its dead letters and
	// retries are exported at 0, so that the first one is an increase an alert sees
	// (deploy/prometheus: AuditRelayDeadLetters).
	m.dead.WithLabelValues(endpoint)
	m.retries.WithLabelValues(endpoint)
}
