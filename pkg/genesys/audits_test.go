package genesys_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

// The simulator records its own changes of a user's state, and UserAudits reads them back
// through the realtime audit query: our client's deactivation names the client, an admin's
// re-activation names the admin; without audits:audit:view the query is a 403.
func TestSimUserAudits(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	u := seededUser(t, sim, activeAgent)
	if _, _, err := c.Users.Deactivate(t.Context(), u.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := sim.ActivateAsAdmin(u.ID, "Pat Admin"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	got, _, err := c.Audits.UserAudits(t.Context(), u.ID, now.Add(-time.Hour), now.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("audits = %+v, want 2", got)
	}
	re, de := got[0], got[1] // newest first
	if re.User == nil || re.User.Name != "Pat Admin" || re.Client != nil || re.Action != "Update" || re.Entity.ID != u.ID ||
		len(re.Changes) != 1 || re.Changes[0].Property != "state" || re.Changes[0].NewValues[0] != "active" {
		t.Errorf("re-activation = %+v", re)
	}
	if de.Client == nil || de.Client.ID != "sim-client" || de.User != nil || de.Changes[0].NewValues[0] != "inactive" {
		t.Errorf("deactivation = %+v", de)
	}
	other := seededUser(t, sim, inactiveAgent)
	if got, _, err := c.Audits.UserAudits(t.Context(), other.ID, now.Add(-time.Hour), now.Add(time.Minute), 10); err != nil || len(got) != 0 {
		t.Errorf("audits of an unchanged user = %+v, %v", got, err)
	}

	if err := sim.SetClientPermissions("sim-client", []string{"directory:user:edit"}); err != nil {
		t.Fatal(err)
	}
	if _, resp, err := c.Audits.UserAudits(t.Context(), u.ID, now.Add(-time.Hour), now, 10); !errors.Is(err, genesys.ErrForbidden) || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("without audits:audit:view: %v", err)
	}
}
