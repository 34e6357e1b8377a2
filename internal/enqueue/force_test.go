package enqueue_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

// --force is for reactivations only (review D4): anywhere else it is a usage error.
func TestForceOnlyWithReactivate(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.run(t, "", "--user-id", "749007a2-9498-4ecd-a7b6-efb47f1f7160", "--force")
	if r.code != 2 || !strings.Contains(r.stderr, "--force is only for --action reactivate") {
		t.Errorf("exit %d, want 2 naming the rule\nstderr:\n%s", r.code, r.stderr)
	}
	if n := b.published(t); n != 0 {
		t.Errorf("%d jobs published, want 0", n)
	}
}

// Reactivating a user this system never deactivated is refused ("protected",
// exit 1); the same request with --force is a new job, not a duplicate of the
// refused one, and reactivates the user.
func TestForceReactivatesAUserWeNeverDeactivated(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	users := slices.DeleteFunc(b.Sim.Users(), func(u genesyssim.User) bool { return u.Active || u.Deleted })
	if len(users) == 0 {
		t.Fatal("the simulator has no inactive user")
	}
	args := []string{"--user-id", users[0].ID, "--action", "reactivate", "--reason", "rehired", "--ticket", "HR-9", "--wait", timeout}
	r := b.run(t, "", args...)
	if r.code != 1 || !strings.Contains(r.stdout, ": protected") {
		t.Fatalf("unforced: exit %d, want 1 and protected\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = b.run(t, "", append(args, "--force")...)
	if r.code != 0 || !strings.Contains(r.stdout, ": reactivated") {
		t.Fatalf("forced: exit %d, want 0 and reactivated\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if u, _ := b.Sim.User(users[0].ID); !u.Active {
		t.Error("the forced reactivation did not re-enable the user")
	}
}
