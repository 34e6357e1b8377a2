package genesys_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

// GetPlatform against the simulator: lastTokenIssued is absent until the user logs in, then it is
// the login's time; an inactive user is read too, a deleted or unknown one is not found; an inactive
// user cannot log in.
func TestSimGetPlatformLastTokenIssued(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	u := seededUser(t, sim, activeAgent)
	pu, _, err := c.Users.GetPlatform(t.Context(), u.ID)
	if err != nil || pu.ID != u.ID || pu.State != "active" || pu.Version == 0 {
		t.Fatalf("GetPlatform = %+v, %v", pu, err)
	}
	before := pu.LastTokenIssued
	at, err := sim.Login(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	pu, _, err = c.Users.GetPlatform(t.Context(), u.ID)
	if err != nil || pu.LastTokenIssued == nil || !pu.LastTokenIssued.DateIssued.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("after a login at %s: %+v (before %+v), %v", at, pu, before, err)
	}
	if got, _ := sim.User(u.ID); got.Tokens != u.Tokens+1 {
		t.Errorf("tokens after a login: %d, want %d", got.Tokens, u.Tokens+1)
	}
	if req := sim.Requests()[len(sim.Requests())-1]; req.Method != http.MethodGet || req.Route != "GET /api/v2/users/{id}" || req.UserID != u.ID {
		t.Errorf("last request %s %s (%s)", req.Method, req.Path, req.Route)
	}

	in := seededUser(t, sim, inactiveAgent)
	if pu, _, err := c.Users.GetPlatform(t.Context(), in.ID); err != nil || pu.State != "inactive" {
		t.Errorf("GetPlatform of an inactive user = %+v, %v", pu, err)
	}
	if _, err := sim.Login(in.ID); !errors.Is(err, genesyssim.ErrInactiveUser) {
		t.Errorf("Login of an inactive user: %v", err)
	}
	if _, _, err := c.Users.GetPlatform(t.Context(), nobody); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("GetPlatform of nobody: %v", err)
	}
	if _, _, err := c.Users.GetPlatform(t.Context(), "../tokens/me"); !errors.Is(err, genesys.ErrInvalidArgument) {
		t.Errorf("GetPlatform of a path: %v", err)
	}
}
