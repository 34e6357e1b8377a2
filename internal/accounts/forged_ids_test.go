package accounts_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Review D1, probes 61 and 62, under deploy/nats-accounts.conf: the relay and the operator may
// publish on genesys.audit.ops.* (and the relay on genesys.dead.relay.>), and headers are not
// subject to permissions, so they can publish first with a job's predictable event id or
// dead-letter id. A producer's jobs, for a normal and for a protected user, must still each end
// with exactly one user audit event, and the protected one with a dead letter that genesysctl dead
// show finds.
func TestForgedIDsCannotEraseAuditEventsOrDeadLetters(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	worker := connect(t, url, "worker")
	provision(t, url)
	relay, operator, producer := connect(t, url, "relay"), connect(t, url, "operator"), connect(t, url, "producer")
	forge := func(c *client, subject, msgID string) {
		c.allowed("publish on "+subject+" with Nats-Msg-Id "+msgID, func(ctx context.Context) error {
			m := nats.NewMsg(subject)
			m.Data = []byte(`{"note":"harmless"}`)
			m.Header.Set(jetstream.MsgIDHeader, msgID)
			_, err := c.js.PublishMsg(ctx, m)
			return err
		})
	}
	forge(relay, "genesys.audit.ops.x", audit.EventID("forged-plain"))
	forge(operator, "genesys.audit.ops.x", audit.EventID("forged-protected"))
	forge(relay, "genesys.dead.relay.x", jobs.DeadLetterMsgID("forged-protected"))

	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 20, RateLimit: 1_000_000})
	runWorker(t, worker, sim)
	users := sim.Users()
	admin := users[slices.IndexFunc(users, func(u genesyssim.User) bool {
		return u.Active && !u.Deleted && slices.Contains(u.Roles(), "Master Admin")
	})]
	plain := users[slices.IndexFunc(users, func(u genesyssim.User) bool {
		return u.Active && !u.Deleted && !slices.Contains(u.Roles(), "Master Admin")
	})]
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]audit.Outcome{"forged-plain": audit.OutcomeDeactivated, "forged-protected": audit.OutcomeProtected}
	for id, u := range map[string]genesyssim.User{"forged-plain": plain, "forged-protected": admin} {
		producer.allowed("enqueue "+id, func(ctx context.Context) error {
			_, err := pub.Enqueue(ctx, jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr"})
			return err
		})
	}
	for id, outcome := range want {
		if st := waitDone(t, producer, id); st.Outcome != outcome {
			t.Fatalf("job %s ended %s %q, want %s", id, st.Outcome, st.Error, outcome)
		}
	}
	events := userEvents(t, worker)
	for id, outcome := range want {
		if got := events[id]; !slices.Equal(got, []audit.Outcome{outcome}) {
			t.Errorf("job %s has user events %v, want exactly one %s", id, got, outcome)
		}
	}
	code, out, errOut := ctlAs(t, url, "operator", "dead", "show", "forged-protected")
	if code != 0 || !strings.Contains(out, "protected") {
		t.Errorf("genesysctl dead show forged-protected: exit %d\n%s\n%s", code, out, errOut)
	}
}

// userEvents reads every user audit event of the audit stream as c, by job id.
func userEvents(t *testing.T, c *client) map[string][]audit.Outcome {
	t.Helper()
	ctx := t.Context()
	s, err := c.js.Stream(ctx, names.AuditStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]audit.Outcome{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("read audit message %d: %v", seq, err)
		}
		if !strings.HasPrefix(m.Subject, "genesys.audit.user.") {
			continue
		}
		var ev struct {
			Data audit.AccountChange `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		out[ev.Data.Unmapped.JobID] = append(out[ev.Data.Unmapped.JobID], ev.Data.Unmapped.Outcome)
	}
	return out
}
