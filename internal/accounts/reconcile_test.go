package accounts_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/reconcile"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget/genesysbudget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// newReconciler builds a reconciliation as `worker reconcile` does, on c's connection: the fleet
// budget in c's budget bucket, the share limiter, the audit stream and, with enqueue, the jobs.
func newReconciler(ctx context.Context, t *testing.T, c *client, sim *genesyssim.TestServer, enq bool) (*reconcile.Reconciler, error) {
	kv, err := c.js.KeyValue(ctx, names.BudgetBucket())
	if err != nil {
		return nil, err
	}
	fleet, err := budget.New(budget.Config{KV: kv, Key: "sim-client", WorkerID: "reconcile-" + c.role, Limit: 6_000_000,
		Window: time.Minute, MaxFleet: 1, Logger: zaptest.NewLogger(t)})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { fleet.Close() })
	g, err := genesys.NewClient(sim.URL, genesys.WithCredentials("sim-client", "sim-secret"),
		genesys.WithLimiter(reconcile.NewShareLimiter(6_000_000, 0.1, genesysbudget.New(fleet))))
	if err != nil {
		return nil, err
	}
	return reconcile.New(ctx, reconcile.Config{Names: names, JetStream: c.js, Genesys: g.WithPriority(priority.Normal), Enqueue: enq})
}

// Reconcile under the accounts: the operator runs it (the audit stream's user subjects, the
// budget, the status bucket, a normal deactivation job); the worker user, which may not publish
// normal jobs, cannot --enqueue; a worker then deactivates the person the operator's run found.
func TestReconcileUnderAccounts(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	runWorker(t, connect(t, url, "worker"), sim)
	ours, err := sim.AddUser(genesyssim.User{UserName: "rec-ours@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	active, err := sim.AddUser(genesyssim.User{UserName: "rec-active@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	producer := connect(t, url, "producer")
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	producer.allowed("publish a deactivation", func(ctx context.Context) error {
		_, err := pub.Enqueue(ctx, jobs.Job{ID: "acc-rec-ours", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: ours.ID}, RequestedBy: "hr"})
		return err
	})
	if st := waitDone(t, producer, "acc-rec-ours"); st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("deactivation: %s %s", st.Outcome, st.Error)
	}
	hr := filepath.Join(t.TempDir(), "hr.csv")
	os.WriteFile(hr, []byte("id,terminated_at\n"+ours.ID+",2026-11-30\n"+active.ID+",2026-11-30\n"), 0o600)
	list, err := enqueue.ReadHR(hr, enqueue.FormatAuto, nil)
	if err != nil {
		t.Fatal(err)
	}

	workerUser := connect(t, url, "worker")
	workerUser.denied("publish a reconcile deactivation job", "genesys.jobs.normal", true, func(ctx context.Context) error {
		r, err := newReconciler(ctx, t, workerUser, sim, true)
		if err != nil {
			return err
		}
		if res := r.One(ctx, list.Rows[1]); res.Error != "" {
			return errors.New(res.Error)
		}
		return nil
	})

	op := connect(t, url, "operator")
	var got []reconcile.Result
	op.allowed("reconcile with --enqueue", func(ctx context.Context) error {
		r, err := newReconciler(ctx, t, op, sim, true)
		if err != nil {
			return err
		}
		_, err = r.Run(ctx, list, func(res reconcile.Result) error { got = append(got, res); return nil })
		return err
	})
	if len(got) != 2 || got[0].Class != reconcile.DeactivatedByUs || got[0].AuditJobID != "acc-rec-ours" ||
		got[1].Class != reconcile.StillActive || got[1].Enqueued != reconcile.Published {
		t.Fatalf("results %+v", got)
	}
	if st := waitDone(t, op, got[1].JobID); st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("the reconcile job: %s %s", st.Outcome, st.Error)
	}
}
