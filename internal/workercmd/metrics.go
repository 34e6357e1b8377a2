package workercmd

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// metrics are the worker's Prometheus metrics. None carries a secret: labels
// are outcomes, priorities, route templates and status codes.
type metrics struct {
	reg          *prometheus.Registry
	jobs         *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	toPatch      *prometheus.HistogramVec
	toAudit      *prometheus.HistogramVec
	attempts     prometheus.Counter
	paused       prometheus.Gauge
	requests     *prometheus.CounterVec
	requestTimes *prometheus.HistogramVec
	grants       *prometheus.CounterVec
	grantTimes   prometheus.Histogram
	sched        *schedMetrics
	verifyMetrics
}

var latencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_jobs_total",
			Help: "Jobs finished, by outcome and priority."}, []string{"outcome", "priority"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "genesys_job_duration_seconds",
			Help: "Time one delivery of a job took, from receipt to stored outcome.", Buckets: latencyBuckets}, []string{"priority"}),
		toPatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "genesys_job_publish_to_deactivation_seconds",
			Help: "Time from a job's publication to Genesys confirming the user inactive.", Buckets: latencyBuckets}, []string{"priority"}),
		toAudit: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "genesys_job_publish_to_audit_seconds",
			Help: "Time from a job's publication to its stored audit event.", Buckets: latencyBuckets}, []string{"priority"}),
		attempts: prometheus.NewCounter(prometheus.CounterOpts{Name: "genesys_job_attempts_failed_total",
			Help: "Job attempts that failed transiently and will be retried (or ended exhausted)."}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{Name: "genesys_fleet_paused",
			Help: "1 while this worker holds the fleet paused because Genesys refuses its credentials."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_api_requests_total",
			Help: "Requests sent to Genesys Cloud, retries included, by route and status (\"error\": no response)."}, []string{"route", "status"}),
		requestTimes: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "genesys_api_request_seconds",
			Help: "Duration of requests to Genesys Cloud, by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
		grants: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genesys_token_grants_total",
			Help: "OAuth token grants, by result: ok, refused (credentials), failed (transient or timed out)."}, []string{"result"}),
		grantTimes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "genesys_token_grant_seconds",
			Help: "Duration of OAuth token grants, failed ones included.", Buckets: prometheus.DefBuckets}),
	}
	m.verifyMetrics = newVerifyMetrics(m.reg)
	m.reg.MustRegister(m.jobs, m.duration, m.toPatch, m.toAudit, m.attempts, m.paused, m.requests, m.requestTimes, m.grants, m.grantTimes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.sched = newSchedMetrics(m.reg)
	return m
}

// observer adapts metrics to worker.Observer.
type observer struct{ m *metrics }

var _ worker.Observer = observer{}

func (o observer) JobFinished(outcome audit.Outcome, p jobs.Priority, took, sincePublish time.Duration) {
	o.m.jobs.WithLabelValues(string(outcome), string(p)).Inc()
	o.m.duration.WithLabelValues(string(p)).Observe(took.Seconds())
	if sincePublish > 0 {
		o.m.toAudit.WithLabelValues(string(p)).Observe(sincePublish.Seconds())
	}
}

func (o observer) Deactivated(p jobs.Priority, sincePublish time.Duration) {
	if sincePublish > 0 {
		o.m.toPatch.WithLabelValues(string(p)).Observe(sincePublish.Seconds())
	}
}

func (o observer) AttemptFailed() { o.m.attempts.Inc() }

func (o observer) Paused(p bool) {
	if p {
		o.m.paused.Set(1)
	} else {
		o.m.paused.Set(0)
	}
}

// observeGrant counts a token grant (genesys.WithGrantObserver).
func (m *metrics) observeGrant(r genesys.GrantResult) {
	result := "ok"
	switch {
	case errors.Is(r.Err, genesys.ErrCredentials):
		result = "refused"
	case r.Err != nil:
		result = "failed"
	}
	m.grants.WithLabelValues(result).Inc()
	m.grantTimes.Observe(r.Took.Seconds())
}

// idSegment matches a path segment that is an id, so that routes are
// templates ("/api/v2/tokens/{id}") and label values stay few.
var idSegment = regexp.MustCompile(`/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// countingTransport counts every request the Genesys client sends.
type countingTransport struct {
	next http.RoundTripper
	m    *metrics
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	route := r.Method + " " + idSegment.ReplaceAllString(r.URL.Path, "/{id}")
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	t.m.requestTimes.WithLabelValues(route).Observe(time.Since(start).Seconds())
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	t.m.requests.WithLabelValues(route, status).Inc()
	return resp, err
}

// consumerCollector reports the job consumers' pending and redelivered
// counts, asked of the server at scrape time.
type consumerCollector struct {
	js        jetstream.JetStream
	names     jobs.Names
	pending   *prometheus.Desc
	redeliver *prometheus.Desc
	ackPend   *prometheus.Desc
}

func newConsumerCollector(js jetstream.JetStream, names jobs.Names) *consumerCollector {
	return &consumerCollector{
		js: js, names: names,
		pending:   prometheus.NewDesc("genesys_consumer_pending_jobs", "Jobs waiting in a lane, not yet delivered.", []string{"consumer"}, nil),
		redeliver: prometheus.NewDesc("genesys_consumer_redelivered_jobs", "Jobs delivered more than once and not yet acknowledged.", []string{"consumer"}, nil),
		ackPend:   prometheus.NewDesc("genesys_consumer_ack_pending_jobs", "Jobs delivered and being worked on.", []string{"consumer"}, nil),
	}
}

func (c *consumerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.redeliver
	ch <- c.ackPend
}

func (c *consumerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, name := range []string{c.names.UrgentConsumer(), c.names.NormalConsumer(), c.names.CleanupConsumer(), c.names.IntakeConsumer()} {
		cons, err := c.js.Consumer(ctx, c.names.JobsStream(), name)
		if err != nil {
			continue
		}
		info, err := cons.Info(ctx)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(info.NumPending), name)
		ch <- prometheus.MustNewConstMetric(c.redeliver, prometheus.GaugeValue, float64(info.NumRedelivered), name)
		ch <- prometheus.MustNewConstMetric(c.ackPend, prometheus.GaugeValue, float64(info.NumAckPending), name)
	}
}
