package workercmd

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// The metrics an on-call person alerts on that no single job reports: whether
// this worker is ready, how old the oldest unfinished job is, how many dead
// letters wait, and the guards' state. All are read at scrape time from what
// the worker already may read (its readiness, stream info of the jobs and
// dead-letter streams, the guard bucket); none needs a new NATS permission.

// newReadyGauge is genesys_worker_ready: 1 while /readyz answers 200 (NATS
// connected, not paused, token grants succeeding, results storable), so that
// "no worker ready" is sum(genesys_worker_ready) == 0.
func newReadyGauge(w *atomic.Pointer[worker.Worker], c *atomic.Pointer[nats.Conn], gc *atomic.Pointer[genesys.Client]) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "genesys_worker_ready",
		Help: "1 while this worker is ready (its /readyz answers 200): NATS connected, not paused, token grants succeeding, results storable."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if ready(ctx, w, c, gc) != nil {
				return 0
			}
			return 1
		})
}

// streamCollector reports genesys_jobs_oldest_seconds (the age of the oldest
// job still in the jobs stream: a work queue keeps a job until it is
// finished, so this is the longest any job has waited, whatever holds it)
// and genesys_dead_letters (dead letters stored, which an operator replays or
// purges). A stream whose info the server does not give is left out.
type streamCollector struct {
	js      jetstream.JetStream
	names   jobs.Names
	nowFunc func() time.Time
	oldest  *prometheus.Desc
	queued  *prometheus.Desc
	dead    *prometheus.Desc
}

func newStreamCollector(js jetstream.JetStream, names jobs.Names) *streamCollector {
	return &streamCollector{js: js, names: names, nowFunc: time.Now,
		oldest: prometheus.NewDesc("genesys_jobs_oldest_seconds", "Age of the oldest job not yet finished (still in the jobs stream, any lane); 0 when there is none.", nil, nil),
		queued: prometheus.NewDesc("genesys_jobs_queued", "Jobs not yet finished (in the jobs stream, any lane, held and in flight included).", nil, nil),
		dead:   prometheus.NewDesc("genesys_dead_letters", "Dead letters stored, waiting for an operator (genesysctl dead list/replay/purge).", nil, nil),
	}
}

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.oldest
	ch <- c.queued
	ch <- c.dead
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if st, ok := c.state(ctx, c.names.JobsStream()); ok {
		age := 0.0
		if st.Msgs > 0 && !st.FirstTime.IsZero() {
			age = max(c.nowFunc().Sub(st.FirstTime).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
		ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(st.Msgs))
	}
	if st, ok := c.state(ctx, c.names.DeadStream()); ok {
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(st.Msgs))
	}
}

func (c *streamCollector) state(ctx context.Context, name string) (jetstream.StreamState, bool) {
	s, err := c.js.Stream(ctx, name)
	if err != nil {
		return jetstream.StreamState{}, false
	}
	// Stream fetched the info just now; CachedInfo does not ask again.
	return s.CachedInfo().State, true
}

// guardKeys are the guards in the guard bucket by the label they get: the
// mass-deactivation guard's key is "state" (jobs.NewGuard's default).
var guardKeys = []struct{ label, key string }{
	{"deactivate", "state"},
	{"reactivate", jobs.ReactivateGuardKey},
	{"delete", jobs.DeleteGuardKey},
}

// guardCollector reports each guard's state from the guard bucket:
// genesys_guard_held{guard} (1 while it holds jobs for an operator),
// genesys_guard_window_count{guard} (what it counted in its window) and
// genesys_guard_limit{guard}. A guard that is off (no stored state) is left out.
type guardCollector struct {
	js      jetstream.JetStream
	names   jobs.Names
	nowFunc func() time.Time
	held    *prometheus.Desc
	count   *prometheus.Desc
	limit   *prometheus.Desc
}

func newGuardCollector(js jetstream.JetStream, names jobs.Names) *guardCollector {
	l := []string{"guard"}
	return &guardCollector{js: js, names: names, nowFunc: time.Now,
		held:  prometheus.NewDesc("genesys_guard_held", "1 while the guard holds jobs for an operator (genesysctl guard status).", l, nil),
		count: prometheus.NewDesc("genesys_guard_window_count", "Jobs the guard counted in its rolling window.", l, nil),
		limit: prometheus.NewDesc("genesys_guard_limit", "The guard's limit per window in force.", l, nil),
	}
}

func (c *guardCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.held
	ch <- c.count
	ch <- c.limit
}

func (c *guardCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	kv, err := c.js.KeyValue(ctx, c.names.GuardBucket())
	if err != nil {
		return
	}
	now := c.nowFunc()
	for _, g := range guardKeys {
		e, err := kv.Get(ctx, g.key)
		if err != nil {
			continue
		}
		var st jobs.GuardState
		if json.Unmarshal(e.Value(), &st) != nil {
			continue
		}
		held, n := 0.0, 0
		if st.Held || st.UrgentHeld {
			held = 1
		}
		for _, s := range st.Slots {
			if s.At.After(now.Add(-st.Window)) {
				n++
			}
		}
		ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, held, g.label)
		ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(n), g.label)
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(st.Limit), g.label)
	}
}
