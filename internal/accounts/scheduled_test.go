package accounts_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// denyDueCopies checks that c may not publish a fired copy: only the server's scheduler writes
// genesys.scheduled.due.>, which the jobs stream sources into the lanes (a forged one would be a
// job no permission on the lanes stopped). When schedules too, c may not publish schedules or
// cancel records either (only workers and operators may publish into GENESYS_SCHEDULED: the
// schedule headers cannot be restricted by permissions).
func denyDueCopies(c *client, schedules bool) {
	c.t.Helper()
	publish := func(subject string) func(ctx context.Context) error {
		return func(context.Context) error {
			if err := c.nc.Publish(subject, []byte(`{}`)); err != nil {
				return err
			}
			return c.nc.Flush()
		}
	}
	const tail = ".reactivate.0123456789abcdef.0123456789abcdef0123456789abcdef"
	c.denied("publish a fired copy", "genesys.scheduled.due", false, publish("genesys.scheduled.due"+tail))
	if schedules {
		c.denied("publish a schedule", "genesys.scheduled.at", false, publish("genesys.scheduled.at"+tail))
		c.denied("publish a cancel record", "genesys.scheduled.canceled", false, publish("genesys.scheduled.canceled"+tail))
	}
}

// A producer publishes a job for a later time on the intake subject; the worker schedules it in
// GENESYS_SCHEDULED, the server fires it at its time and GENESYS_JOBS sources it into the lane (the
// server's own source consumer needs no user's permission): the job deactivates at its time.
func TestScheduledJobUnderAccounts(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	worker := connect(t, url, "worker")
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	runWorker(t, worker, sim)
	producer := connect(t, url, "producer")
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	users := sim.Users()
	u := users[slices.IndexFunc(users, func(u genesyssim.User) bool {
		return u.Active && !u.Deleted && !slices.Contains(u.Roles(), "Master Admin")
	})]
	at := time.Now().Add(time.Second)
	producer.allowed("enqueue a job for a later time", func(ctx context.Context) error {
		res, err := pub.Enqueue(ctx, jobs.Job{ID: "acc-scheduled", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID},
			RequestedBy: "hr", NotBefore: at})
		if err == nil && !res.Scheduled {
			t.Error("the job was not sent to the intake subject")
		}
		return err
	})
	if st := waitDone(t, producer, "acc-scheduled"); st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("scheduled job ended %s %q, want deactivated", st.Outcome, st.Error)
	}
	if time.Now().Before(at) {
		t.Error("the scheduled job ended before its not_before")
	}
	// The worker may look it up by id (duplicate resolution).
	worker.allowed("look a scheduled job up by id", func(ctx context.Context) error {
		s, err := jobs.NewScheduler(worker.js, names, 0)
		if err != nil {
			return err
		}
		got, err := s.Lookup(ctx, "acc-scheduled")
		if err == nil && got.Kind != "due" {
			t.Errorf("Lookup = %+v, want the fired copy", got)
		}
		return err
	})
	for _, role := range []string{"producer", "worker", "auditor", "relay", "operator", "provisioner"} {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			denyDueCopies(connect(t, url, role), role != "worker" && role != "operator")
		})
	}
}

// Cancel and move under the accounts: a producer's cancel job makes the worker list and cancel
// the user's pending deactivation (found under another identifier); an operator lists, shows,
// moves and cancels with genesysctl. A producer may look a scheduled job up by id (enqueue --wait
// reports its date), not list the scheduled stream.
func TestCancelAndMoveUnderAccounts(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	worker := connect(t, url, "worker")
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 8, RateLimit: 1_000_000})
	runWorker(t, worker, sim)
	producer := connect(t, url, "producer")
	operator := connect(t, url, "operator")
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	var plain []genesyssim.User
	for _, u := range sim.Users() {
		if u.Active && !u.Deleted && !slices.Contains(u.Roles(), "Master Admin") {
			plain = append(plain, u)
		}
	}
	later := time.Now().Add(time.Hour)
	schedule := func(id string, u genesyssim.User) {
		t.Helper()
		job := jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr", NotBefore: later}
		producer.allowed("enqueue "+id, func(ctx context.Context) error { _, err := pub.Enqueue(ctx, job); return err })
		job.Version = jobs.Version
		waitStored(t, operator, names.ScheduledStream(), names.ScheduleSubject(job), func(jetstream.Msg) bool { return true })
	}
	schedule("acc-c1", plain[0])
	schedule("acc-m1", plain[1])
	schedule("acc-c2", plain[2])

	producer.allowed("enqueue a cancel job", func(ctx context.Context) error {
		_, err := pub.Enqueue(ctx, jobs.Job{ID: "acc-cancel", Action: jobs.ActionCancel, User: jobs.UserRef{UserName: plain[0].UserName}, RequestedBy: "hr"})
		return err
	})
	if st := waitDone(t, producer, "acc-cancel"); st.Outcome != audit.OutcomeCancelDone {
		t.Fatalf("cancel job ended %s %q, want cancel_done", st.Outcome, st.Error)
	}
	if st := waitDone(t, producer, "acc-c1"); st.Outcome != audit.OutcomeCanceled {
		t.Fatalf("acc-c1 ended %s %q, want canceled", st.Outcome, st.Error)
	}

	code, out, errs := ctlAs(t, url, "operator", "scheduled", "list")
	if code != 0 || !strings.Contains(out, "acc-m1") || !strings.Contains(out, "acc-c2") {
		t.Fatalf("scheduled list as operator: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := ctlAs(t, url, "operator", "scheduled", "show", "acc-m1"); code != 0 || !strings.Contains(out, "pending") {
		t.Errorf("scheduled show as operator: exit %d\n%s\n%s", code, out, errs)
	}
	at := time.Now().Add(time.Second).Format(time.RFC3339Nano)
	if code, out, errs := ctlAs(t, url, "operator", "scheduled", "move", "acc-m1", "--at", at, "--reason", "new date", "--operator", "ana"); code != 0 {
		t.Fatalf("scheduled move as operator: exit %d\n%s\n%s", code, out, errs)
	}
	if st := waitDone(t, producer, "acc-m1"); st.Outcome != audit.OutcomeDeactivated {
		t.Errorf("moved job ended %s %q, want deactivated", st.Outcome, st.Error)
	}
	if code, out, errs := ctlAs(t, url, "operator", "scheduled", "cancel", "acc-c2", "--reason", "rescinded", "--operator", "ana"); code != 0 || !strings.Contains(out, "acc-c2: canceled") {
		t.Errorf("scheduled cancel as operator: exit %d\n%s\n%s", code, out, errs)
	}
	producer.allowed("look a scheduled job's date up (enqueue --wait)", func(ctx context.Context) error {
		s, err := jobs.NewScheduler(producer.js, names, 0)
		if err != nil {
			return err
		}
		_, err = s.Lookup(ctx, "acc-c2")
		return err
	})
	producer.denied("list the scheduled stream", "$JS.API.CONSUMER.CREATE.GENESYS_SCHEDULED", true, func(ctx context.Context) error {
		s, err := jobs.NewScheduler(producer.js, names, 0)
		if err != nil {
			return err
		}
		_, err = s.Pending(ctx, jobs.PendingQuery{})
		return err
	})
}
