package workercmd

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// schedMetrics are the metrics of scheduled jobs (issue 16).
type schedMetrics struct {
	fireLag   prometheus.Histogram
	toRevoked *prometheus.HistogramVec
}

// fireLagBuckets resolve the target (a fired job in its lane less than 1 s after its not_before:
// the scheduler's 250 ms tick plus the source's hop) and what a backlog or an outage adds.
var fireLagBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2, 5, 10, 30, 60, 300}

func newSchedMetrics(reg *prometheus.Registry) *schedMetrics {
	m := &schedMetrics{
		fireLag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "genesys_scheduled_fire_lag_seconds",
			Help:    "Time from a scheduled job's not_before to its fired copy's arrival in its lane (the lane message's stream timestamp).",
			Buckets: fireLagBuckets}),
		// The shape of genesys_job_publish_to_deactivation_seconds, measured from when the job was
		// due instead of when it was published, and to the token revocation instead of the PATCH.
		toRevoked: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "genesys_effective_to_revoked_seconds",
			Help:    "Time from a job's effective time (its not_before when it fired from a schedule, else its publication) to its user's tokens revoked.",
			Buckets: latencyBuckets}, []string{"priority"}),
	}
	reg.MustRegister(m.fireLag, m.toRevoked)
	return m
}

var _ worker.ScheduleObserver = observer{}

func (o observer) Fired(lag time.Duration) { o.m.sched.fireLag.Observe(lag.Seconds()) }

func (o observer) Revoked(p jobs.Priority, sinceEffective time.Duration) {
	o.m.sched.toRevoked.WithLabelValues(string(p)).Observe(sinceEffective.Seconds())
}

// pendingCollector reports the schedules pending in the scheduled stream, asked of the server at
// scrape time with one stream-info request that answers a count, not the subjects
// ([jobs.Scheduler.CountPending]).
type pendingCollector struct {
	sched   *jobs.Scheduler
	pending *prometheus.Desc
}

func newPendingCollector(sched *jobs.Scheduler) *pendingCollector {
	return &pendingCollector{sched: sched, pending: prometheus.NewDesc("genesys_scheduled_pending",
		"Scheduled jobs waiting for their not_before in the scheduled stream (neither fired nor canceled).", nil, nil)}
}

func (c *pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.pending }

func (c *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := c.sched.CountPending(ctx)
	if err != nil {
		return // absent rather than wrong, like genesys_consumer_pending_jobs
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(n))
}
