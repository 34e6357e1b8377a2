package workercmd

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// scrape returns the /metrics page of the worker at url.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// The scheduled-job metrics move on a real worker: the pending gauge counts the schedules, a job
// that fires adds one fire lag and one effective-to-revoked observation of its priority.
func TestScheduledMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	addr := freeAddr(t)
	var logs syncBuffer
	start(t, append(e.args("--skip-self-check"), "--http", addr), &logs)
	logs.waitFor(t, 10*time.Second, "the worker to start", says("worker started"))
	url := "http://" + addr
	if m := scrape(t, url); !strings.Contains(m, "genesys_scheduled_pending 0") {
		t.Errorf("/metrics lacks genesys_scheduled_pending 0 before anything is scheduled")
	}

	pub, err := jobs.NewPublisher(e.js, jobs.Names{})
	if err != nil {
		t.Fatal(err)
	}
	users := e.bed.ActiveUsers(2)
	later, soon := time.Now().Add(time.Hour), time.Now().Add(2*time.Second)
	for i, at := range []time.Time{later, soon} {
		id := []string{"metrics-later", "metrics-soon"}[i]
		if res, err := pub.Enqueue(t.Context(), jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: users[i].ID},
			RequestedBy: "test", NotBefore: at}); err != nil || !res.Scheduled {
			t.Fatalf("enqueue %s: %+v, %v", id, res, err)
		}
	}
	if st := e.bed.WaitDone("metrics-soon")["metrics-soon"]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("metrics-soon: %s (%s)", st.Outcome, st.Error)
	}
	m := scrape(t, url)
	for _, want := range []string{
		"genesys_scheduled_pending 1",
		"genesys_scheduled_fire_lag_seconds_count 1",
		`genesys_effective_to_revoked_seconds_count{priority="normal"} 1`,
	} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", m)
	}
}
