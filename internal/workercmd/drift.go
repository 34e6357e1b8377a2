package workercmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift/watchlist"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// driftFlags are the flags of the drift watch role (issue 17).
type driftFlags struct {
	DriftWatch  bool
	DriftDays   int
	DriftShare  string
	DriftPolicy string
}

func (d *driftFlags) declare(fs *flag.FlagSet) {
	fs.BoolVar(&d.DriftWatch, "drift-watch", envdefault.Bool("GENESYS_DRIFT_WATCH"), "also run the drift watch: one instance per fleet is active (a lease in NATS KV), the others stand by; it re-reads the users this fleet deactivated and reports those active again or holding a token issued after our revocation (ops event drift_found); needs audits:audit:view to name who re-activated them (env GENESYS_DRIFT_WATCH)")
	fs.IntVar(&d.DriftDays, "drift-days", envdefault.Int("GENESYS_DRIFT_DAYS", 90), "drift watch: how many days after its deactivation a user is watched (env GENESYS_DRIFT_DAYS)")
	fs.StringVar(&d.DriftShare, "drift-share", envdefault.String("GENESYS_DRIFT_SHARE", "5%"), "drift watch: the share of --rate-per-minute it may use, as a percentage (5%) or a fraction (0.05); its calls also pass the fleet budget at normal priority (env GENESYS_DRIFT_SHARE)")
	fs.StringVar(&d.DriftPolicy, "drift-policy", envdefault.String("GENESYS_DRIFT_POLICY", drift.PolicyAlert), "drift watch: what a finding does: alert (the ops event alone) or redeactivate (also an urgent deactivation job whose reason says drift) (env GENESYS_DRIFT_POLICY)")
}

// share parses --drift-share: "5%" or "0.05".
func (d *driftFlags) share() (float64, error) {
	v, err := drift.ParseShare(d.DriftShare)
	if err != nil {
		return 0, fmt.Errorf("--drift-share %q: %w", d.DriftShare, err)
	}
	return v, nil
}

func (d *driftFlags) validate() []error {
	var errs []error
	if d.DriftDays < 1 {
		errs = append(errs, errors.New("--drift-days must be at least 1"))
	}
	if _, err := d.share(); err != nil {
		errs = append(errs, err)
	}
	if d.DriftPolicy != drift.PolicyAlert && d.DriftPolicy != drift.PolicyRedeactivate {
		errs = append(errs, fmt.Errorf("--drift-policy %q: want %s or %s", d.DriftPolicy, drift.PolicyAlert, drift.PolicyRedeactivate))
	}
	return errs
}

// startDrift runs the drift watch when --drift-watch is set, until ctx ends or the returned func
// is called, which stops it and waits.
func startDrift(ctx context.Context, cfg Config, names jobs.Names, js jetstream.JetStream, client *genesys.Client, m *metrics, log *zap.Logger) (func(), error) {
	if !cfg.DriftWatch {
		return func() {}, nil
	}
	share, _ := cfg.share() // validated
	dm := newDriftMetrics()
	if err := dm.register(m.reg); err != nil {
		return nil, err
	}
	w, err := drift.New(ctx, drift.Config{Names: names, JetStream: js, Genesys: client, ClientID: cfg.ClientID,
		RatePerMinute: cfg.RatePerMinute, Share: share, Days: cfg.DriftDays, Policy: cfg.DriftPolicy,
		Instance: cfg.WorkerID, Logger: log, Observer: dm})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			log.Error("drift watch stopped", zap.Error(err))
		}
	})
	log.Info("drift watch standing by", zap.Float64("calls_per_minute", w.CallsPerMinute()), zap.Int("days", cfg.DriftDays), zap.String("policy", cfg.DriftPolicy))
	return func() { cancel(); wg.Wait() }, nil
}

// driftMetrics are the drift watch's metrics; it is also the watch's Observer.
type driftMetrics struct {
	active   prometheus.Gauge
	watched  prometheus.Gauge
	checks   prometheus.Counter
	findings *prometheus.CounterVec
	cycle    prometheus.Histogram
}

var _ drift.Observer = (*driftMetrics)(nil)

func newDriftMetrics() *driftMetrics {
	return &driftMetrics{
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "genesys_drift_active",
			Help: "1 while this instance is the fleet's active drift watch (it holds the lease)."}),
		watched: prometheus.NewGauge(prometheus.GaugeOpts{Name: "genesys_drift_watched_users",
			Help: "Users on the drift watch list, at the start of the latest cycle of this instance."}),
		checks: prometheus.NewCounter(prometheus.CounterOpts{Name: "genesys_drift_checks_total",
			Help: "Users the drift watch checked."}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_drift_findings_total",
			Help: "Drift findings reported, by kind: active_again, token_after_revocation."}, []string{"kind"}),
		cycle: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "genesys_drift_cycle_seconds",
			Help:    "Time one full cycle of the drift watch list took.",
			Buckets: []float64{1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}}),
	}
}

func (d *driftMetrics) register(reg *prometheus.Registry) error {
	// Every kind is exported from the start at 0, so that the first finding is an increase an
	// alert sees (deploy/prometheus: GenesysDriftFound).
	for _, k := range []string{watchlist.KindActive, watchlist.KindToken} {
		d.findings.WithLabelValues(k)
	}
	for _, c := range []prometheus.Collector{d.active, d.watched, d.checks, d.findings, d.cycle} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (d *driftMetrics) Active(a bool) {
	if a {
		d.active.Set(1)
	} else {
		d.active.Set(0)
	}
}
func (d *driftMetrics) Watched(n int)                        { d.watched.Set(float64(n)) }
func (d *driftMetrics) Checked(string, time.Time, time.Time) { d.checks.Inc() }
func (d *driftMetrics) Found(kind string)                    { d.findings.WithLabelValues(kind).Inc() }
func (d *driftMetrics) CycleDone(took time.Duration)         { d.cycle.Observe(took.Seconds()) }
