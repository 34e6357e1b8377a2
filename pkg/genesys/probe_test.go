package genesys_test

import (
	"errors"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

// Review D7: a 403 naming a division is told apart from a missing
// permission, and the probe repeats the refused call on a user that does not
// exist, so that it fails exactly while the permission is missing.
func TestProbeRepeatsTheRefusedCall(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	u := pick(t, sim, func(u genesyssim.User) bool { return u.Active })
	if err := sim.SetFaults(genesyssim.Faults{DivisionForbiddenUsers: []string{u.ID}}); err != nil {
		t.Fatal(err)
	}
	_, _, divErr := c.Users.Deactivate(t.Context(), u.ID, "")
	if !errors.Is(divErr, genesys.ErrDivisionForbidden) || !errors.Is(divErr, genesys.ErrForbidden) {
		t.Fatalf("PATCH of a user in a forbidden division: %v, want ErrDivisionForbidden", divErr)
	}
	if err := c.Probe(t.Context(), divErr); err != nil {
		t.Errorf("probe after a division 403: %v, want nil (the permission works elsewhere)", err)
	}

	if err := sim.SetFaults(genesyssim.Faults{}); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetClientPermissions("sim-client", []string{"oauth:token:delete"}); err != nil {
		t.Fatal(err)
	}
	_, _, lost := c.Users.Deactivate(t.Context(), u.ID, "")
	if !errors.Is(lost, genesys.ErrForbidden) || errors.Is(lost, genesys.ErrDivisionForbidden) {
		t.Fatalf("PATCH without directory:user:edit: %v, want a plain ErrForbidden", lost)
	}
	if err := c.Probe(t.Context(), lost); !errors.Is(err, genesys.ErrForbidden) {
		t.Errorf("probe while the permission is missing: %v, want ErrForbidden", err)
	}
	if err := sim.SetClientPermissions("sim-client", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Probe(t.Context(), lost); err != nil {
		t.Errorf("probe once the permission is back: %v", err)
	}
	if n := len(c.ChecksFor(&genesys.APIError{StatusCode: 403, Method: "DELETE", Path: "/api/v2/tokens/x"})); n != 2 {
		t.Errorf("checks for a refused token revocation: %d, want the read and the revocation", n)
	}
	if n := len(c.ChecksFor(errors.New("no call"))); n != len(c.Checks()) {
		t.Errorf("checks for a failure naming no call: %d, want every check", n)
	}
}
