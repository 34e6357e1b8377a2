package accounts_test

import (
	"context"
	"slices"
	"testing"
	"time"

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
