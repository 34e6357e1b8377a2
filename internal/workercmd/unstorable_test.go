package workercmd

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Review L3, probe 42: with the audit stream full, /readyz turns false and the gauge
// genesys_results_unstorable is 1.
func TestFullAuditStreamShowsInReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	addr := freeAddr(t)
	var logs syncBuffer
	start(t, append(e.args(), "--http", addr), &logs)
	url := "http://" + addr
	// The worker is ready once it says it started (its HTTP listener is bound before).
	logs.waitFor(t, 10*time.Second, "the worker to start", says("worker started"))
	if code := Main(t.Context(), []string{"healthcheck", "--url", url + "/readyz"}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("healthcheck /readyz exit %d after the worker started\n%s", code, logs.String())
	}
	names := jobs.Names{}
	s, err := e.js.Stream(t.Context(), names.AuditStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cfg := info.Config
	cfg.MaxBytes = int64(info.State.Bytes) + 64 // no event fits any more
	if _, err := e.js.UpdateStream(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	pub, _ := jobs.NewPublisher(e.js, names)
	if _, err := pub.Enqueue(t.Context(), jobs.Job{ID: "full-1", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: e.sim.Users()[0].ID}, RequestedBy: "t"}); err != nil {
		t.Fatal(err)
	}
	// The worker logs the failure after it recorded it; readiness is false from then on.
	logs.waitFor(t, 20*time.Second, "the worker to say that results cannot be stored", says("cannot be stored"))
	if code := Main(t.Context(), []string{"healthcheck", "--url", url + "/readyz"}, io.Discard, io.Discard); code != 1 {
		t.Errorf("healthcheck /readyz exit %d with results unstorable, want 1", code)
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "genesys_results_unstorable 1") {
		t.Errorf("/metrics does not show genesys_results_unstorable 1")
	}
	if !strings.Contains(string(body), "genesys_worker_ready 0") {
		t.Errorf("/metrics does not show genesys_worker_ready 0")
	}
	if !strings.Contains(logs.String(), "cannot be stored") {
		t.Errorf("no error log says that results cannot be stored:\n%s", logs.String())
	}
}
