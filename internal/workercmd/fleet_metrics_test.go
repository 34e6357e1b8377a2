package workercmd

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// scrapeValues returns the gauges and counters of url's /metrics by "name{k=v,...}".
func scrapeValues(t *testing.T, url string) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(scrape(t, url)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%s", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// wantMetric checks one value of a scrape.
func wantMetric(t *testing.T, got map[string]float64, key string, ok func(float64) bool, what string) {
	t.Helper()
	v, found := got[key]
	if !found {
		t.Errorf("/metrics lacks %s", key)
		return
	}
	if !ok(v) {
		t.Errorf("%s = %v, want %s", key, v, what)
	}
}

func is(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

// The metrics the alerts of deploy/prometheus need that no job reports: readiness, the oldest
// unfinished job, the dead letters and the guard's hold. A rejected job becomes a dead letter;
// with --guard-limit 1 the second deactivation trips the guard (which stores its state, and so
// shows in the metrics, from its first deactivation on), its job stays queued and ages.
func TestFleetMetricsForAlerts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	addr := freeAddr(t)
	var logs syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	})
	start(t, append(e.args(), "--http", addr, "--guard-limit", "1", "--guard-urgent-limit", "1", "--protect-roles", ""), &logs)
	url := "http://" + addr
	logs.waitFor(t, 10*time.Second, "the worker to start", says("worker started"))

	m := scrapeValues(t, url)
	wantMetric(t, m, "genesys_worker_ready", is(1), "1 once started")
	wantMetric(t, m, "genesys_jobs_queued", is(0), "0 with no job")
	wantMetric(t, m, "genesys_jobs_oldest_seconds", is(0), "0 with no job")
	wantMetric(t, m, "genesys_dead_letters", is(0), "0")

	// A job that is not a job: rejected, dead-lettered.
	names := jobs.Names{}
	dead, err := e.bed.NC.SubscribeSync(names.DeadSubjects())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.bed.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(t.Context(), names.NormalSubject()+".garbage", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := dead.NextMsg(20 * time.Second); err != nil {
		t.Fatalf("no dead letter for a malformed job: %v\n%s", err, logs.String())
	}
	// The dead letter is published with a PubAck: stored once we see it.
	wantMetric(t, scrapeValues(t, url), "genesys_dead_letters", is(1), "1 after a rejected job")

	pub, _ := jobs.NewPublisher(e.js, names)
	for i, u := range e.bed.ActiveUsers(2) {
		if _, err := pub.Enqueue(t.Context(), jobs.Job{ID: fmt.Sprintf("guard-%d", i), Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	logs.waitFor(t, 20*time.Second, "the guard to trip", says("the mass-deactivation guard tripped"))
	m = scrapeValues(t, url)
	wantMetric(t, m, `genesys_guard_held{guard=deactivate}`, is(1), "1 while it holds jobs")
	wantMetric(t, m, `genesys_guard_window_count{guard=deactivate}`, is(1), "the one deactivation it let through")
	wantMetric(t, m, `genesys_guard_limit{guard=deactivate}`, is(1), "the --guard-limit")
	wantMetric(t, m, "genesys_jobs_queued", func(v float64) bool { return v >= 1 }, "at least the held job")
	wantMetric(t, m, "genesys_jobs_oldest_seconds", func(v float64) bool { return v > 0 }, "the held job's age")
}
