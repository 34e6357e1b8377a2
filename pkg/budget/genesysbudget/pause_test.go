package genesysbudget_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget/genesysbudget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// startWorker runs a jobs.Worker with its own NATS connection, fleet budget
// and Genesys client, until the test ends.
func startWorker(t *testing.T, srv *server.Server, sim *genesyssim.TestServer, id string, bcfg budget.Config) {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), jobs.Names{}.BudgetBucket())
	if err != nil {
		t.Fatal(err)
	}
	bcfg.KV, bcfg.Key, bcfg.WorkerID, bcfg.Logger = kv, "sim-client", id, zaptest.NewLogger(t).Named(id)
	b, err := budget.New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := genesys.NewClient(sim.URL, genesys.WithCredentials("sim-client", "sim-secret"),
		genesys.WithLimiter(genesysbudget.New(b)), genesys.WithMaxElapsedTime(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	w, err := jobs.NewWorker(t.Context(), jobs.WorkerConfig{JetStream: js, Genesys: c, ID: id, Concurrency: 4,
		AckWait: 5 * time.Second, PollWait: 50 * time.Millisecond, Logger: zaptest.NewLogger(t).Named(id),
		Backoff: func(int) time.Duration { return 20 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; b.Close(); nc.Close() })
}

// TestA429PausesTheFleetWithoutSpendingAttempts runs two workers on a
// backlog, makes Genesys answer 429 with Retry-After: 2, and checks in the
// simulator's request log that no worker sent anything for the next 2 s,
// and that every job still ended deactivated with no attempt spent.
func TestA429PausesTheFleetWithoutSpendingAttempts(t *testing.T) {
	t.Parallel()
	srv, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := jobs.Provision(ctx, js, jobs.TopologyConfig{Storage: jetstream.MemoryStorage, AckWait: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 120, RateLimit: 40, RateWindow: time.Second})
	bcfg := budget.Config{Limit: 40, Window: time.Second, MaxClockSkew: 10 * time.Millisecond, MaxSendJitter: 20 * time.Millisecond}
	startWorker(t, srv, sim, "a", bcfg)
	startWorker(t, srv, sim, "b", bcfg)

	pub, err := jobs.NewPublisher(js, jobs.Names{})
	if err != nil {
		t.Fatal(err)
	}
	active := slices.DeleteFunc(sim.Users(), func(u genesyssim.User) bool { return !u.Active || u.Deleted })[:40]
	var ids []string
	for i, u := range active {
		j := jobs.Job{ID: fmt.Sprintf("pause-%d", i), Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID},
			RequestedBy: "hr-system", Reason: "left the company", Ticket: "HR-1"}
		if _, err := pub.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	waitFor(t, 10*time.Second, func() bool { return sim.Counters().Total >= 20 })
	const retryAfter = 2 * time.Second
	if err := sim.SetFaults(genesyssim.Faults{BurstRate: 1, BurstLength: 1, BurstRetryAfter: retryAfter}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool { return sim.Counters().ByStatus[429] > 0 })
	if err := sim.SetFaults(genesyssim.Faults{}); err != nil {
		t.Fatal(err)
	}

	status, err := jobs.NewStatusStore(ctx, js, jobs.Names{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		var st jobs.Status
		waitFor(t, 30*time.Second, func() bool { st, err = status.Get(ctx, id); return err == nil && st.State == jobs.StateDone })
		if st.Outcome != audit.OutcomeDeactivated || len(st.Attempts) != 0 {
			t.Errorf("job %s: outcome %s, attempts %v; want deactivated with no attempt spent", id, st.Outcome, st.Attempts)
		}
	}
	checkPauses(t, sim.Requests(), retryAfter)
}

// checkPauses fails the test if any request reached Genesys during a 429's
// Retry-After, after a grace for requests already on their way.
func checkPauses(t *testing.T, log []genesyssim.Request, retryAfter time.Duration) {
	t.Helper()
	const grace = 100 * time.Millisecond
	var pauses int
	for _, p := range log {
		if p.Status != 429 {
			continue
		}
		if p.Fault != genesyssim.FaultBurst {
			t.Errorf("a 429 from the simulator's rate limit at %v: the budget let too much through", p.Time)
		}
		pauses++
		for _, r := range log {
			if r.Time.After(p.Time.Add(grace)) && r.Time.Before(p.Time.Add(retryAfter)) {
				t.Errorf("%s at +%v during the pause after the 429 at %v", r.Route, r.Time.Sub(p.Time), p.Time.Format("15:04:05.000"))
			}
		}
	}
	if pauses == 0 {
		t.Fatal("no 429 happened")
	}
	t.Logf("%d requests, %d answered 429", len(log), pauses)
}

func waitFor(t *testing.T, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
