package budget

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// Metrics are the budget's Prometheus metrics. Create them with NewMetrics
// and pass them in Config.Metrics; a nil *Metrics records nothing. Labels
// are priorities and modes only, never a client id or secret.
type Metrics struct {
	inForce     prometheus.Gauge
	wait        *prometheus.HistogramVec
	grants      *prometheus.CounterVec
	pauses      prometheus.Counter
	pausedUntil prometheus.Gauge
	limited     prometheus.Counter
	conflicts   prometheus.Counter
	stales      prometheus.Counter
	fallback    prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		inForce: prometheus.NewGauge(prometheus.GaugeOpts{Name: "genesys_budget_limit_in_force",
			Help: "Requests per window the fleet may send now: the configured budget, or less while Genesys says so."}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "genesys_budget_wait_seconds",
			Help: "Time a request waited for the fleet budget, by priority.", Buckets: []float64{
				.001, .005, .01, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300, 900}}, []string{"priority"}),
		grants: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_budget_grants_total",
			Help: "Requests granted, by priority and mode (kv: the shared budget; fallback: the local share)."},
			[]string{"priority", "mode"}),
		pauses: prometheus.NewCounter(prometheus.CounterOpts{Name: "genesys_budget_pauses_total",
			Help: "Fleet pauses after a 429 that this worker started or learnt of."}),
		pausedUntil: prometheus.NewGauge(prometheus.GaugeOpts{Name: "genesys_budget_paused_until_seconds",
			Help: "Unix time at which the latest 429 pause ends."}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{Name: "genesys_budget_rate_limited_total",
			Help: "429 responses this worker saw."}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{Name: "genesys_budget_cas_conflicts_total",
			Help: "Compare-and-set attempts on the shared budget lost to another worker."}),
		stales: prometheus.NewCounter(prometheus.CounterOpts{Name: "genesys_budget_stale_grants_total",
			Help: "Grants dropped unused because their compare-and-set took longer than half the send-jitter allowance."}),
		fallback: prometheus.NewGauge(prometheus.GaugeOpts{Name: "genesys_budget_fallback",
			Help: "1 while KV is unreachable and this worker uses its local share of the budget."}),
	}
	for _, c := range []prometheus.Collector{m.inForce, m.wait, m.grants, m.pauses, m.pausedUntil, m.limited, m.conflicts, m.stales, m.fallback} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) setInForce(n int) {
	if m != nil {
		m.inForce.Set(float64(n))
	}
}

func (m *Metrics) observeWait(p priority.Priority, d time.Duration) {
	if m != nil {
		m.wait.WithLabelValues(string(p)).Observe(d.Seconds())
	}
}

func (m *Metrics) addGrants(p priority.Priority, mode string, n int) {
	if m != nil && n > 0 {
		m.grants.WithLabelValues(string(p), mode).Add(float64(n))
	}
}

func (m *Metrics) paused(until time.Time) {
	if m != nil {
		m.pauses.Inc()
		m.pausedUntil.Set(float64(until.UnixNano()) / 1e9)
	}
}

// resumed records that an operator cleared the pause.
func (m *Metrics) resumed() {
	if m != nil {
		m.pausedUntil.Set(0)
	}
}

func (m *Metrics) rateLimited() {
	if m != nil {
		m.limited.Inc()
	}
}

func (m *Metrics) conflict() {
	if m != nil {
		m.conflicts.Inc()
	}
}

func (m *Metrics) stale() {
	if m != nil {
		m.stales.Inc()
	}
}

func (m *Metrics) setFallback(on bool) {
	if m != nil {
		v := 0.0
		if on {
			v = 1
		}
		m.fallback.Set(v)
	}
}
