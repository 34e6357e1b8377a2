package ctl

import (
	"slices"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// genesysctl verify publishes a verify job, waits for the worker and prints each check: exit 0
// for a user whose deactivation held, 1 for one Genesys silently left active (who logged in
// since); --output json carries the checks.
func TestVerifyPrintsTheChecks(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 20, RateLimit: 1_000_000})
	f.Worker(worker.Config{ID: "ctl-verify", Verify: true})
	plain := slices.DeleteFunc(f.Sim.Users(), func(u genesyssim.User) bool {
		return !u.Active || u.Deleted || slices.Contains(u.Roles(), "Master Admin")
	})
	ok, ignored := plain[0], plain[1]
	if err := f.Sim.SetFaults(genesyssim.Faults{IgnoreDeactivateUsers: []string{ignored.ID}}); err != nil {
		t.Fatal(err)
	}
	f.WaitDone(f.enqueue("ctl-v-ok", ok), f.enqueue("ctl-v-ignored", ignored))
	if _, err := f.Sim.Login(ignored.ID); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := f.ctl("verify", ok.UserName)
	if code != ExitOK || !strings.Contains(out, "verified") || !strings.Contains(out, "ok   scim_active") ||
		!strings.Contains(out, "ok   token_after_revocation") {
		t.Errorf("verify of a deactivated user: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = f.ctl("verify", ignored.ID, "--urgent")
	if code != ExitFailure || !strings.Contains(out, "unverified") || !strings.Contains(out, "FAIL scim_active") ||
		!strings.Contains(out, "FAIL token_after_revocation") || !strings.Contains(out, "after the revocation") {
		t.Errorf("verify of a user Genesys left active: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = f.ctl("verify", "id:"+ok.ID, "--output", "json")
	lines := jsonLines[verifyLine](t, out)
	if code != ExitOK || len(lines) != 1 || lines[0].Verified == nil || !*lines[0].Verified || len(lines[0].Checks) != 2 {
		t.Errorf("verify --output json: exit %d, %+v", code, lines)
	}
	if code, _, errOut := f.ctl("verify"); code != ExitUsage || !strings.Contains(errOut, "exactly one USER") {
		t.Errorf("verify without a user: exit %d, %s", code, errOut)
	}
}
