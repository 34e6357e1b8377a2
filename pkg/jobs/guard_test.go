package jobs_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

func plainActive(sim *genesyssim.TestServer) []genesyssim.User {
	return slices.DeleteFunc(sim.Users(), func(u genesyssim.User) bool {
		return !u.Active || u.Deleted || slices.Contains(u.Roles(), "Master Admin")
	})
}

func (b *bed) patches() int {
	n := 0
	for _, r := range b.sim.Requests() {
		if r.Route == "PATCH /api/v2/scim/v2/users/{id}" && r.Status == 200 {
			n++
		}
	}
	return n
}

// opsEvents returns the ops events of one kind, with their fields.
func (b *bed) opsEvents(kind string) []map[string]string {
	b.t.Helper()
	var out []map[string]string
	for _, m := range b.streamMsgs(b.names.AuditStream()) {
		if !strings.HasSuffix(m.Subject, ".audit.ops."+kind) {
			continue
		}
		var ev struct {
			Data audit.OpsData `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			b.t.Fatal(err)
		}
		out = append(out, ev.Data.Fields)
	}
	return out
}

func (b *bed) doneCount(ids []string) int {
	n := 0
	for _, id := range ids {
		if st, err := b.status.Get(b.t.Context(), id); err == nil && st.State == jobs.StateDone {
			n++
		}
	}
	return n
}

func TestGuardHoldsTheFleetAtTheLimit(t *testing.T) {
	t.Parallel()
	b := newBed(t, genesyssim.Config{Users: 100, RateLimit: 1_000_000})
	guard := jobs.GuardConfig{Limit: 10, UrgentLimit: 2, Window: time.Hour}
	for range 3 {
		b.worker(jobs.WorkerConfig{Concurrency: 8, Guard: guard})
	}
	users := plainActive(b.sim)
	normal := b.enqueue(refsByID(users[:15]), nil)
	waitFor(t, 20*time.Second, "ten deactivations", func() bool { return b.doneCount(normal) == 10 })
	waitFor(t, 10*time.Second, "the guard_tripped event", func() bool { return len(b.opsEvents("guard_tripped")) > 0 })

	urgent := b.enqueue(refsByID(users[15:18]), func(j *jobs.Job) { j.ID += "-urgent"; j.Priority = jobs.PriorityUrgent })
	waitFor(t, 20*time.Second, "two urgent deactivations", func() bool { return b.doneCount(urgent) == 2 })
	time.Sleep(500 * time.Millisecond) // held jobs must stay held: give the fleet time to misbehave
	if n := b.patches(); n != 12 {
		t.Fatalf("%d PATCHes, want exactly 10 normal + 2 urgent", n)
	}
	if n := b.doneCount(normal) + b.doneCount(urgent); n != 12 {
		t.Fatalf("%d jobs done while the guard holds, want 12", n)
	}
	for _, id := range slices.Concat(normal, urgent) {
		if st, err := b.status.Get(t.Context(), id); err == nil && len(st.Attempts) > 0 {
			t.Errorf("a held job spent an attempt: %+v", st)
		}
	}
	g, err := jobs.NewGuard(t.Context(), b.js, b.names, guard, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	st, _, _ := g.State(t.Context())
	if !st.Held || !st.UrgentHeld {
		t.Errorf("state %+v, want both lanes held", st)
	}

	if _, err := g.Resume(t.Context(), jobs.GuardDecision{}); err == nil {
		t.Error("a decision without an operator was accepted")
	}
	if _, err := g.Resume(t.Context(), jobs.GuardDecision{Operator: "alice", NATSUser: "operator"}); err != nil {
		t.Fatal(err)
	}
	statuses := b.waitDone(slices.Concat(normal, urgent), 30*time.Second)
	for id, st := range statuses {
		if st.Outcome != audit.OutcomeDeactivated {
			t.Errorf("job %s: %s after resume", id, st.Outcome)
		}
	}
	if n := b.patches(); n != 18 {
		t.Errorf("%d PATCHes after resume, want 18", n)
	}
	resumed := b.opsEvents("guard_resumed")
	if len(resumed) != 1 || resumed[0]["operator"] != "alice" || resumed[0]["nats_user"] != "operator" {
		t.Errorf("guard_resumed events %v, want one naming alice", resumed)
	}
}

func TestGuardDropHeldAndRaiseLimit(t *testing.T) {
	t.Parallel()
	b := newBed(t, genesyssim.Config{Users: 60, RateLimit: 1_000_000})
	guard := jobs.GuardConfig{Limit: 3, Window: time.Hour}
	b.worker(jobs.WorkerConfig{Concurrency: 4, Guard: guard})
	users := plainActive(b.sim)
	first := b.enqueue(refsByID(users[:6]), nil)
	waitFor(t, 20*time.Second, "the guard to trip", func() bool { return len(b.opsEvents("guard_tripped")) > 0 && b.doneCount(first) == 3 })

	g, err := jobs.NewGuard(t.Context(), b.js, b.names, guard, audit.Origin{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.DropHeld(t.Context(), jobs.GuardDecision{Operator: "bob"}); err != nil {
		t.Fatal(err)
	}
	statuses := b.waitDone(first, 20*time.Second)
	dropped := 0
	for _, st := range statuses {
		if st.Outcome == audit.OutcomeDropped {
			dropped++
			if u, _ := b.sim.User(st.Steps.UserID); !u.Active {
				t.Errorf("a dropped job's user %s was deactivated", st.Steps.UserID)
			}
		}
	}
	if dropped != 3 || len(b.deadLetters()) != 3 {
		t.Errorf("%d dropped, %d dead letters; want 3 and 3", dropped, len(b.deadLetters()))
	}
	// Jobs published after the drop run; past the limit again, raising it lets them through.
	later := b.enqueue(refsByID(users[6:12]), func(j *jobs.Job) { j.ID += "-later" })
	waitFor(t, 20*time.Second, "the guard to trip again", func() bool { return b.doneCount(later) == 3 })
	if _, err := g.SetLimits(t.Context(), 100, 0, jobs.GuardDecision{Operator: "carol"}); err != nil {
		t.Fatal(err)
	}
	for id, st := range b.waitDone(later, 20*time.Second) {
		if st.Outcome != audit.OutcomeDeactivated {
			t.Errorf("job %s: %s", id, st.Outcome)
		}
	}
	if len(b.opsEvents("guard_dropped")) != 1 || len(b.opsEvents("guard_limit_set")) != 1 {
		t.Error("the operator decisions are not audited")
	}
}
