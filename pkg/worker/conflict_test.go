package worker_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

func grantedUser(t *testing.T, sim *genesyssim.Server) genesyssim.User {
	t.Helper()
	i := slices.IndexFunc(plainActive(sim), func(u genesyssim.User) bool { return len(u.Grants) > 1 })
	if i < 0 {
		t.Fatal("no active user with several grants")
	}
	return plainActive(sim)[i]
}

func TestBlockingConflictEndsConflictWithAHint(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	user := grantedUser(t, b.Sim)
	if err := b.Sim.SetFaults(genesyssim.Faults{BlockingUsers: []string{user.ID}}); err != nil {
		t.Fatal(err)
	}
	b.Worker(worker.Config{})
	ids := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, nil)
	st := b.WaitDone(ids...)[ids[0]]
	if st.Outcome != audit.OutcomeConflict || !strings.Contains(st.Error, "hint:") {
		t.Fatalf("status %s %q, want conflict with a hint", st.Outcome, st.Error)
	}
	dl := b.DeadLetters()[ids[0]]
	if dl.Genesys == nil || dl.Genesys.Status != 409 || dl.Genesys.Message == "" {
		t.Errorf("dead letter %+v lacks what Genesys said", dl.Genesys)
	}
	if len(st.Attempts) != 0 {
		t.Errorf("a blocking conflict was retried: %v", st.Attempts)
	}
}

func TestBlockingConflictPolicyRemovesGrantsAndRetries(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	user := grantedUser(t, b.Sim)
	if err := b.Sim.SetFaults(genesyssim.Faults{BlockingUsers: []string{user.ID}, BlockingWhileGranted: true}); err != nil {
		t.Fatal(err)
	}
	b.Worker(worker.Config{RemoveGrantsOnConflict: true})
	ids := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, nil)
	st := b.WaitDone(ids...)[ids[0]]
	if st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("status %s %q, want deactivated after removing the grants", st.Outcome, st.Error)
	}
	ev := b.AuditEvents()[ids[0]]
	if len(ev.GrantsRemoved) != len(user.Grants) {
		t.Errorf("event records %v removed, want the %d grants the user held", ev.GrantsRemoved, len(user.Grants))
	}
	for _, g := range user.Grants {
		if !slices.Contains(ev.GrantsRemoved, g.RoleName+"@"+g.DivisionName) {
			t.Errorf("grant %s@%s not recorded", g.RoleName, g.DivisionName)
		}
	}
	if after, _ := b.Sim.User(user.ID); after.Active || len(after.Grants) != 0 {
		t.Errorf("user after: active %t grants %d", after.Active, len(after.Grants))
	}
}
