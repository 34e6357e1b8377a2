package accounts_test

import (
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// A verify job (issue 17) under the accounts: a producer may publish one (it reads, it changes
// nothing), the worker runs it (it reads the user's last deactivation event back from the audit
// stream), and the operator's genesysctl verify publishes one and waits for its status.
func TestVerifyJobsUnderAccounts(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	worker := connect(t, url, "worker")
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	runWorker(t, worker, sim)
	u, err := sim.AddUser(genesyssim.User{UserName: "acc-verify@example.com", Active: true, Tokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Login(u.ID); err != nil {
		t.Fatal(err)
	}
	producer := connect(t, url, "producer")
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []jobs.Job{
		{ID: "acc-verify-off", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr"},
		{ID: "acc-verify", Action: jobs.ActionVerify, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr"},
	} {
		if _, err := pub.Enqueue(t.Context(), j); err != nil {
			t.Fatalf("producer: publish a %s job: %v", j.Action, err)
		}
		if st := waitDone(t, producer, j.ID); j.Action == jobs.ActionVerify && st.Outcome != audit.OutcomeVerified {
			t.Errorf("the producer's verify job ended %s", st.Outcome)
		}
	}
	if code, out, errOut := ctlAs(t, url, "operator", "verify", u.UserName); code != 0 || !strings.Contains(out, "ok   token_after_revocation") {
		t.Errorf("genesysctl verify as the operator: exit %d\n%s%s", code, out, errOut)
	}
}
