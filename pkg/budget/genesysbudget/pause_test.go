package genesysbudget_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget/genesysbudget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// startWorker runs a worker with its own NATS connection, fleet budget and Genesys client (which
// waits out a 429 within its 10 s of retries), until the test ends.
func startWorker(t *testing.T, b *testbed.T, id string, bcfg budget.Config) {
	t.Helper()
	nc, err := nats.Connect(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), b.Names.BudgetBucket())
	if err != nil {
		t.Fatal(err)
	}
	bcfg.KV, bcfg.Key, bcfg.WorkerID, bcfg.Logger = kv, "sim-client", id, zaptest.NewLogger(t).Named(id)
	bud, err := budget.New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bud.Close() }) // after the worker has stopped (cleanups run last-in first-out)
	c := b.Client(genesys.WithLimiter(genesysbudget.New(bud)), genesys.WithMaxElapsedTime(10*time.Second))
	b.Worker(worker.Config{JetStream: js, Genesys: c, ID: id, Concurrency: 4, Logger: zaptest.NewLogger(t).Named(id)})
}

// TestA429PausesTheFleetWithoutSpendingAttempts runs two workers on a
// backlog, makes Genesys answer 429 with Retry-After: 2, and checks in the
// simulator's request log that no worker sent anything for the next 2 s,
// and that every job still ended deactivated with no attempt spent.
func TestA429PausesTheFleetWithoutSpendingAttempts(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 120, RateLimit: 40, RateWindow: time.Second}})
	sim := b.Sim
	bcfg := budget.Config{Limit: 40, Window: time.Second, MaxClockSkew: 10 * time.Millisecond, MaxSendJitter: 20 * time.Millisecond}
	startWorker(t, b, "a", bcfg)
	startWorker(t, b, "b", bcfg)
	ids := b.Enqueue(testbed.Refs(b.ActiveUsers(40)), nil)
	testbed.WaitFor(t, "20 requests", b.SimChanges(), testbed.Until[struct{}](func() bool { return sim.Counters().Total >= 20 }))
	const retryAfter = 2 * time.Second
	if err := sim.SetFaults(genesyssim.Faults{BurstRate: 1, BurstLength: 1, BurstRetryAfter: retryAfter}); err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, "a 429", b.SimChanges(), testbed.Until[struct{}](func() bool { return sim.Counters().ByStatus[429] > 0 }))
	if err := sim.SetFaults(genesyssim.Faults{}); err != nil {
		t.Fatal(err)
	}

	for id, st := range b.WaitDone(ids...) {
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
