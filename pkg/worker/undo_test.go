package worker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

func grantSet(gs []genesyssim.Grant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.RoleID+"@"+g.DivisionID)
	}
	slices.Sort(out)
	return out
}

func TestReactivationRestoresRecordedAccess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		removeRoles   bool
		snapshot      bool
		wantRestored  bool // something had to be restored
		wantDivisions bool // restored in the original divisions
	}{
		{"roles kept, snapshot", false, true, false, true},
		{"roles removed, snapshot", true, true, true, true},
		{"roles removed, role names only", true, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000, RemoveRolesOnDeactivate: tc.removeRoles}})
			b.Worker(worker.Config{SnapshotGrants: tc.snapshot})
			user := grantedUser(t, b.Sim)
			off := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID = "undo-off" })
			if st := b.WaitDone(off...)[off[0]]; st.Outcome != audit.OutcomeDeactivated {
				t.Fatalf("deactivation: %s", st.Outcome)
			}
			if after, _ := b.Sim.User(user.ID); (len(after.Grants) == 0) != tc.removeRoles {
				t.Fatalf("after deactivation the user holds %d grants; the simulator's role mode is %t", len(after.Grants), tc.removeRoles)
			}
			on := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID = "undo-on"; j.Action = jobs.ActionReactivate })
			st := b.WaitDone(on...)[on[0]]
			if st.Outcome != audit.OutcomeReactivated {
				t.Fatalf("reactivation: %s %q", st.Outcome, st.Error)
			}
			now, _ := b.Sim.User(user.ID)
			if !now.Active {
				t.Fatal("the user is not active again")
			}
			if tc.wantDivisions {
				if got, want := grantSet(now.Grants), grantSet(user.Grants); !slices.Equal(got, want) {
					t.Errorf("grants after reactivation %v, want the recorded %v", got, want)
				}
			} else {
				got, want := slices.Sorted(slices.Values(now.Roles())), slices.Sorted(slices.Values(user.Roles()))
				if !slices.Equal(slices.Compact(got), slices.Compact(want)) {
					t.Errorf("roles after reactivation %v, want %v", got, want)
				}
			}
			if (len(st.Steps.GrantsRestored) > 0) != tc.wantRestored {
				t.Errorf("restored %v; want something restored: %t", st.Steps.GrantsRestored, tc.wantRestored)
			}
			msg := b.EventMessage(on[0])
			if !tc.wantDivisions && !strings.Contains(msg, "by name") || tc.wantDivisions && !strings.Contains(msg, "in their divisions") {
				t.Errorf("the event does not say how access was restored: %q", msg)
			}
			ev := b.AuditEvents()[on[0]]
			if ev.Outcome != audit.OutcomeReactivated {
				t.Errorf("event outcome %s", ev.Outcome)
			}
		})
	}
}

// A deactivation and a reactivation for one user published together run one
// after the other, in publish order: the user ends active.
func TestDeactivateThenReactivateRunInOrder(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000, RemoveRolesOnDeactivate: true, Faults: genesyssim.Faults{
		LatencyMin: 50 * time.Millisecond, LatencyMax: 50 * time.Millisecond,
	}}})
	for range 3 {
		b.Worker(worker.Config{Concurrency: 4, SnapshotGrants: true})
	}
	user := grantedUser(t, b.Sim)
	var ids []string
	for i, action := range []jobs.Action{jobs.ActionDeactivate, jobs.ActionReactivate} {
		ids = append(ids, b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID, j.Action = fmt.Sprintf("pair-%d", i), action })...)
	}
	st := b.WaitDone(ids...)
	off, on := st[ids[0]], st[ids[1]]
	if off.Outcome != audit.OutcomeDeactivated || on.Outcome != audit.OutcomeReactivated {
		t.Fatalf("outcomes %s, %s", off.Outcome, on.Outcome)
	}
	if !on.FinishedAt.After(off.FinishedAt) {
		t.Errorf("the reactivation finished before the deactivation")
	}
	if now, _ := b.Sim.User(user.ID); !now.Active || !slices.Equal(grantSet(now.Grants), grantSet(user.Grants)) {
		t.Errorf("user after both: active %t grants %v, want active with %v", now.Active, grantSet(now.Grants), grantSet(user.Grants))
	}
}

// The access snapshot: with both options the deactivation's audit event
// records the user's grants with their divisions and the queues they had
// joined, at one more call each.
func TestAccessSnapshot(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	b.Worker(worker.Config{SnapshotGrants: true, SnapshotQueues: true})
	var user genesyssim.User
	for _, u := range plainActive(b.Sim) {
		if len(u.Grants) > 1 && len(b.Sim.QueueNames(u.ID)) > 0 {
			user = u
			break
		}
	}
	ids := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, nil)
	b.WaitDone(ids...)
	ev := b.AuditEvents()[ids[0]]
	var grants, queues []string
	for _, g := range ev.GrantsBefore {
		grants = append(grants, g.RoleID+"@"+g.DivisionID)
	}
	slices.Sort(grants)
	for _, q := range ev.QueuesBefore {
		queues = append(queues, q.Name)
	}
	if !slices.Equal(grants, grantSet(user.Grants)) || !slices.Equal(queues, b.Sim.QueueNames(user.ID)) {
		t.Errorf("snapshot grants %v queues %v, want %v and %v", grants, queues, grantSet(user.Grants), b.Sim.QueueNames(user.ID))
	}
	if n := len(b.CallsByUser()[user.ID]); n != 5 {
		t.Errorf("%d calls, want 5 (3 + one for the grants + one for the queues)", n)
	}
}
