package ctl

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// guardFixture is a worker whose guard holds after two deactivations, with
// four jobs queued: two done, two held.
func guardFixture(t *testing.T) (*fixture, []string) {
	t.Helper()
	f := newBed(t, genesyssim.Config{Users: 30, RateLimit: 1_000_000})
	f.Worker(worker.Config{Guard: jobs.GuardConfig{Limit: 2, UrgentLimit: 1, Window: time.Hour}})
	var ids []string
	for i, u := range f.ActiveUsers(4) {
		id := "guard-" + string(rune('a'+i))
		f.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) {
			*j = jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: j.User, RequestedBy: "hr"}
		})
		ids = append(ids, id)
	}
	testbed.WaitFor(t, "the guard to hold", f.Watch(f.Names.GuardBucket()), testbed.Until[jetstream.KeyValueEntry](func() bool {
		code, out, _ := f.ctl("guard", "status")
		return code == ExitOK && strings.Contains(out, "held: normal") && strings.Contains(out, "2 deactivations")
	}))
	// A slot is taken before the PATCH, so the guard holds a moment before the two jobs that took
	// the slots store their audit events, and its guard_tripped event comes in between: wait for
	// all three, after which nothing is published until someone acts.
	testbed.WaitFor(t, "two audit events and guard_tripped", f.Messages(f.Names.AuditStream()), testbed.Until[jetstream.Msg](func() bool {
		users, tripped := 0, false
		for _, m := range f.StreamMsgs(f.Names.AuditStream()) {
			users += boolInt(strings.Contains(m.Subject, ".audit.user.deactivated."))
			tripped = tripped || strings.HasSuffix(m.Subject, ".audit.ops.guard_tripped")
		}
		return users == 2 && tripped
	}))
	return f, ids
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestGuardCommands(t *testing.T) {
	t.Parallel()
	f, ids := guardFixture(t)
	before := f.counts()
	for _, bad := range [][]string{
		{"guard"},
		{"guard", "sideways"},
		{"guard", "resume"}, // no --operator
		{"guard", "set-limit", "--operator", "x"}, // no limit
		{"guard", "set-limit", "--operator", "x", "--limit", "-1"},
		{"guard", "drop-held", "--operator", "x"},       // no --yes
		{"guard", "resume", "--operator", "x", "extra"}, // stray argument
		{"guard", "status", "--output", "yaml"},
	} {
		if code, _, errOut := f.ctl(bad...); code != ExitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with an error", bad, code, errOut)
		}
	}
	if diff := f.counts(); diff[f.Names.AuditStream()] != before[f.Names.AuditStream()] {
		t.Error("a refused command changed something")
	}
	code, out, errOut := f.ctl("guard", "status", "--output", "json")
	if code != ExitOK || !strings.Contains(out, `"held":true`) || !strings.Contains(out, `"count":2`) {
		t.Errorf("status json: exit %d %q %q", code, out, errOut)
	}
	// Raising the limit lets the two held jobs through; the decision is audited.
	code, out, errOut = f.ctl("guard", "set-limit", "--operator", "dana", "--limit", "10")
	if code != ExitOK || !strings.Contains(out, "held: nothing") {
		t.Fatalf("set-limit: exit %d %q %q", code, out, errOut)
	}
	for id, st := range f.WaitDone(ids...) {
		if st.Outcome != audit.OutcomeDeactivated {
			t.Errorf("job %s: %s", id, st.Outcome)
		}
	}
	found := false
	for _, ev := range f.auditEvents() {
		if strings.HasSuffix(ev.Subject, ".audit.ops.guard_limit_set") && ev.Ops.Fields["operator"] == "dana" && ev.Ops.Fields["nats_user"] == "anonymous" {
			found = true
		}
	}
	if !found {
		t.Error("no guard_limit_set ops event naming dana")
	}
	if code, out, _ := f.ctl("guard", "status"); code != ExitOK || !strings.Contains(out, "set_limit  dana") {
		t.Errorf("status does not show the decision: %q", out)
	}
}
