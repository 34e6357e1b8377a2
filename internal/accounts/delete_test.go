package accounts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Deletes and legal holds under the accounts: producers may not publish delete jobs (now or for
// later) nor touch the holds; operators may add a hold, publish a delete job and replay it; the
// worker reads the hold (the delete ends held), takes the delete lane, and may not write holds.
func TestDeletesAndHoldsUnderAccounts(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	worker := connect(t, url, "worker")
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	runWorker(t, worker, sim)
	u, err := sim.AddUser(genesyssim.User{UserName: "acc-leaver@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	del := jobs.Job{ID: "acc-delete", Action: jobs.ActionDelete, User: jobs.UserRef{ID: u.ID}, RequestedBy: "ops", Reason: "retention"}

	producer := connect(t, url, "producer")
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	producer.denied("publish a delete job", "genesys.jobs.delete", true, func(ctx context.Context) error {
		_, err := pub.Enqueue(ctx, del)
		return err
	})
	producer.denied("publish a delete job for later", "genesys.jobs.at.delete", true, func(ctx context.Context) error {
		later := del
		later.NotBefore = time.Now().Add(time.Hour)
		_, err := pub.Enqueue(ctx, later)
		return err
	})
	producer.denied("add a legal hold", "$KV.genesys-holds", true, func(ctx context.Context) error {
		_, err := producer.js.Publish(ctx, "$KV.genesys-holds.forged", []byte(`{}`))
		return err
	})
	worker.denied("add a legal hold", "$KV.genesys-holds", true, func(ctx context.Context) error {
		_, err := worker.js.Publish(ctx, "$KV.genesys-holds.forged", []byte(`{}`))
		return err
	})
	worker.denied("publish a delete job", "genesys.jobs.delete", false, func(ctx context.Context) error {
		if err := worker.nc.Publish("genesys.jobs.delete", []byte(`{}`)); err != nil {
			return err
		}
		return worker.nc.Flush()
	})

	if code, out, errOut := ctlAs(t, url, "operator", "hold", "add", "id:"+u.ID, "--reason", "matter 7", "--operator", "alice"); code != 0 {
		t.Fatalf("hold add as operator: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := ctlAs(t, url, "operator", "hold", "list"); code != 0 || !strings.Contains(out, u.ID) {
		t.Fatalf("hold list as operator: exit %d\n%s%s", code, out, errOut)
	}
	operator := connect(t, url, "operator")
	opPub, err := jobs.NewPublisher(operator.js, names)
	if err != nil {
		t.Fatal(err)
	}
	operator.allowed("publish a delete job", func(ctx context.Context) error {
		_, err := opPub.Enqueue(ctx, del)
		return err
	})
	if st := waitDone(t, operator, del.ID); st.Outcome != audit.OutcomeHeld {
		t.Fatalf("delete of a held user ended %s %q, want held", st.Outcome, st.Error)
	}
	if sim.Deleted(u.ID) {
		t.Fatal("a held user was deleted")
	}
	if code, out, errOut := ctlAs(t, url, "operator", "hold", "remove", "id:"+u.ID, "--reason", "closed", "--operator", "alice"); code != 0 {
		t.Fatalf("hold remove as operator: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := ctlAs(t, url, "operator", "dead", "replay", del.ID, "--operator", "alice"); code != 0 {
		t.Fatalf("dead replay as operator: exit %d\n%s%s", code, out, errOut)
	}
	if st := waitDone(t, operator, del.ID+".r1"); st.Outcome != audit.OutcomeDeleted {
		t.Fatalf("replayed delete ended %s %q, want deleted", st.Outcome, st.Error)
	}
	if !sim.Deleted(u.ID) {
		t.Error("the replayed delete did not delete the user")
	}
}
