package genesys_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

// The client against the simulator: the simulator follows the fact sheet,
// so these tests check that the client copes with Genesys as documented,
// including each way an unconfirmed behaviour may turn out.

func newSim(t *testing.T, cfg genesyssim.Config, opts ...genesys.Option) (*genesys.Client, *genesyssim.TestServer) {
	t.Helper()
	sim := genesyssim.NewTestServer(t, cfg)
	opts = append([]genesys.Option{
		genesys.WithCredentials("sim-client", "sim-secret"),
		genesys.WithLimiter(genesys.NewRateLimiter(100000, time.Second)),
	}, opts...)
	c, err := genesys.NewClient(sim.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, sim
}

// pick returns the first seeded user matching keep.
func pick(t *testing.T, sim *genesyssim.TestServer, keep func(genesyssim.User) bool) genesyssim.User {
	t.Helper()
	for _, u := range sim.Users() {
		if !u.Deleted && keep(u) {
			return u
		}
	}
	t.Fatal("no seeded user matches")
	return genesyssim.User{}
}

func activeWithTokens(u genesyssim.User) bool { return u.Active && u.Tokens > 0 }
func inactive(u genesyssim.User) bool         { return !u.Active }

// deactivate is the deactivation plan as the worker runs it: read, PATCH
// unless already inactive, revoke tokens.
func deactivate(ctx context.Context, c *genesys.Client, id string) (*genesys.EnsureResult, error) {
	u, _, err := c.Users.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	res, err := c.Users.EnsureActive(ctx, u, false, 3)
	if err != nil {
		return res, err
	}
	_, err = c.Tokens.RevokeAll(ctx, id)
	return res, err
}

func routes(reqs []genesyssim.Request) []string {
	var out []string
	for _, r := range reqs {
		if strings.HasPrefix(r.Route, "/oauth") || strings.Contains(r.Route, "oauth/token") {
			continue
		}
		out = append(out, fmt.Sprintf("%s %d", r.Route, r.Status))
	}
	return out
}

func TestSimDeactivateActiveUser(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 30})
	target := pick(t, sim, activeWithTokens)
	res, err := deactivate(t.Context(), c, target.ID)
	if err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	if !res.Changed || res.User.Active {
		t.Errorf("result: changed %t active %t", res.Changed, res.User.Active)
	}
	after, _ := sim.User(target.ID)
	if after.Active || after.Tokens != 0 || after.Version != target.Version+1 {
		t.Errorf("simulator user after: active %t tokens %d version %d (was %d)", after.Active, after.Tokens, after.Version, target.Version)
	}
	want := []string{
		"GET /api/v2/scim/v2/users/{id} 200",
		"PATCH /api/v2/scim/v2/users/{id} 200",
		"DELETE /api/v2/tokens/{userId} 204",
	}
	if got := routes(sim.Requests()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls = %v, want %v (three per active user)", got, want)
	}
}

func TestSimAlreadyInactive(t *testing.T) {
	t.Parallel()
	for _, hide := range []bool{false, true} {
		t.Run(fmt.Sprintf("hide-inactive-by-id=%t", hide), func(t *testing.T) {
			t.Parallel()
			c, sim := newSim(t, genesyssim.Config{Users: 40, HideInactiveByID: hide})
			target := pick(t, sim, inactive)
			res, err := deactivate(t.Context(), c, target.ID)
			if err != nil {
				t.Fatalf("deactivate: %v", err)
			}
			if res.Changed || res.User.Active || res.User.ID != target.ID {
				t.Errorf("result: changed %t active %t", res.Changed, res.User.Active)
			}
			for _, r := range sim.Requests() {
				if r.Method == http.MethodPatch {
					t.Errorf("an inactive user was PATCHed: %+v", r)
				}
			}
		})
	}
}

func TestSimNotFound(t *testing.T) {
	t.Parallel()
	for _, shape := range []genesyssim.ErrorShape{genesyssim.ErrorShapeSCIM, genesyssim.ErrorShapePlatform} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			t.Parallel()
			c, _ := newSim(t, genesyssim.Config{Users: 5, NotFoundBody: shape})
			_, _, err := c.Users.Get(t.Context(), "00000000-0000-4000-8000-000000000000")
			if !errors.Is(err, genesys.ErrNotFound) {
				t.Errorf("Get unknown = %v, want ErrNotFound", err)
			}
			_, _, err = c.Users.FindByExternalID(t.Context(), `nobody" or userName pr or externalId eq "x`)
			if !errors.Is(err, genesys.ErrNotFound) {
				t.Errorf("FindByExternalID crafted = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestSimFindInactiveEitherFilterBehaviour(t *testing.T) {
	t.Parallel()
	for _, include := range []bool{false, true} {
		t.Run(fmt.Sprintf("filter-includes-inactive=%t", include), func(t *testing.T) {
			t.Parallel()
			c, sim := newSim(t, genesyssim.Config{Users: 40, FilterIncludesInactive: include})
			target := pick(t, sim, inactive)
			u, _, err := c.Users.FindByUserName(t.Context(), target.UserName)
			if err != nil || u.ID != target.ID || u.Active {
				t.Fatalf("FindByUserName(%s) = %+v, %v", target.UserName, u, err)
			}
			u, _, err = c.Users.FindByExternalID(t.Context(), target.ExternalID)
			if err != nil || u.ID != target.ID {
				t.Fatalf("FindByExternalID(%s) = %+v, %v", target.ExternalID, u, err)
			}
		})
	}
}

func TestSimRevokeWithoutTokens(t *testing.T) {
	t.Parallel()
	for _, notFound := range []bool{false, true} {
		t.Run(fmt.Sprintf("404-when-none=%t", notFound), func(t *testing.T) {
			t.Parallel()
			c, sim := newSim(t, genesyssim.Config{Users: 40, NotFoundWhenNoTokens: notFound})
			target := pick(t, sim, func(u genesyssim.User) bool { return u.Active && u.Tokens == 0 })
			resp, err := c.Tokens.RevokeAll(t.Context(), target.ID)
			want := map[bool]int{false: 204, true: 404}[notFound]
			if err != nil || resp.StatusCode != want {
				t.Errorf("RevokeAll = %v, %v; want success with status %d", resp, err, want)
			}
		})
	}
}

// bumpVersion changes the user behind the client's back, so that the
// version the client read is stale.
func bumpVersion(t *testing.T, sim *genesyssim.TestServer, id string) {
	t.Helper()
	tok, err := sim.Token("sim-client")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Changed elsewhere"}]}`
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, sim.URL+"/api/v2/scim/v2/users/"+id, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("bump version: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestSimVersionConflictRecoveredInEveryVariant(t *testing.T) {
	t.Parallel()
	for _, vc := range []genesyssim.VersionConflict{genesyssim.VersionConflict400, genesyssim.VersionConflict409, genesyssim.VersionConflict412} {
		t.Run(fmt.Sprint(vc), func(t *testing.T) {
			t.Parallel()
			c, sim := newSim(t, genesyssim.Config{Users: 20, VersionConflict: vc})
			target := pick(t, sim, activeWithTokens)
			u, _, err := c.Users.Get(t.Context(), target.ID)
			if err != nil {
				t.Fatal(err)
			}
			bumpVersion(t, sim, target.ID)
			res, err := c.Users.EnsureActive(t.Context(), u, false, 3)
			if err != nil {
				t.Fatalf("EnsureActive: %v", err)
			}
			if !res.Changed || res.User.Active {
				t.Errorf("result: changed %t active %t", res.Changed, res.User.Active)
			}
			got := routes(sim.Requests())
			wantStatus := map[genesyssim.VersionConflict]string{
				genesyssim.VersionConflict400: "400", genesyssim.VersionConflict409: "409", genesyssim.VersionConflict412: "412",
			}[vc]
			want := []string{
				"GET /api/v2/scim/v2/users/{id} 200",
				"PATCH /api/v2/scim/v2/users/{id} 200", // bumpVersion, behind the client's back
				"PATCH /api/v2/scim/v2/users/{id} " + wantStatus,
				"GET /api/v2/scim/v2/users/{id} 200",
				"PATCH /api/v2/scim/v2/users/{id} 200",
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("calls = %v, want %v", got, want)
			}
		})
	}
}

func TestSimFiveHundredStormRecoveredWithinDeadline(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 60, Faults: genesyssim.Faults{Seed: 7, ErrorRate: 0.5}},
		genesys.WithMaxElapsedTime(20*time.Second))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := 0
	for _, u := range sim.Users() {
		if !u.Active || u.Deleted || done == 10 {
			continue
		}
		if _, err := deactivate(ctx, c, u.ID); err != nil {
			t.Fatalf("deactivate %s: %v", u.ID, err)
		}
		if got, _ := sim.User(u.ID); got.Active {
			t.Errorf("user %s still active", u.ID)
		}
		done++
	}
	if n := sim.Counters().ByFault[genesyssim.FaultServerError]; n < 5 {
		t.Errorf("only %d injected 5xx; the storm did not happen", n)
	}
}

func TestSim429StormRecoveredWithinDeadline(t *testing.T) {
	t.Parallel()
	// The simulator allows 6 requests a second; the client's limiter thinks
	// it may send far more, so it meets 429s and must follow Retry-After.
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 30, RateLimit: 6, RateWindow: time.Second})
	lim := genesys.NewRateLimiter(100000, time.Second)
	c, err := genesys.NewClient(sim.URL, genesys.WithCredentials("sim-client", "sim-secret"), genesys.WithLimiter(lim))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// retry429 is the caller's part: a 429 is returned, the limiter has
	// heard it and holds every request until Retry-After has passed.
	retry429 := func(f func() error) error {
		for {
			err := f()
			var rl *genesys.RateLimitError
			if !errors.As(err, &rl) {
				return err
			}
		}
	}
	done := 0
	for _, u := range sim.Users() {
		if !u.Active || u.Deleted || done == 8 {
			continue
		}
		var res *genesys.EnsureResult
		err := retry429(func() (err error) { res, err = deactivate(ctx, c, u.ID); return err })
		if err != nil {
			t.Fatalf("deactivate %s: %v", u.ID, err)
		}
		if res == nil || res.User.Active {
			t.Errorf("user %s still active", u.ID)
		}
		done++
	}
	counters := sim.Counters()
	if counters.ByStatus[429] == 0 {
		t.Errorf("no 429 seen; the storm did not happen")
	}
	// After the limiter first heard a 429, a second 429 is possible only
	// from requests already in flight: this client is sequential, so each
	// 429 is followed by a pause of at least the Retry-After.
	var last time.Time
	for _, r := range sim.Requests() {
		if r.Status == 429 {
			if !last.IsZero() && r.Time.Sub(last) < time.Second-50*time.Millisecond {
				t.Errorf("429s %s apart: the client did not wait out Retry-After", r.Time.Sub(last))
			}
			last = r.Time
		}
	}
}

func TestSimRefusedCredentialsAndRecovery(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 5})
	target := pick(t, sim, func(u genesyssim.User) bool { return u.Active })
	if err := sim.SetClientEnabled("sim-client", false); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Users.Get(t.Context(), target.ID)
	if !errors.Is(err, genesys.ErrCredentials) {
		t.Fatalf("Get with a disabled client = %v, want ErrCredentials", err)
	}
	if err := sim.SetClientEnabled("sim-client", true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Users.Get(t.Context(), target.ID); err != nil {
		t.Fatalf("Get after re-enabling: %v", err)
	}
	// Tokens revoked server-side: one 401, a fresh grant, success.
	sim.RevokeTokens()
	if _, _, err := c.Users.Get(t.Context(), target.ID); err != nil {
		t.Fatalf("Get after the token was revoked: %v", err)
	}
}

func TestSimMissingPermissionIsForbidden(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10, Clients: []genesyssim.Client{
		{ID: "sim-client", Secret: "sim-secret", Permissions: []string{"directory:user:edit"}},
	}})
	target := pick(t, sim, activeWithTokens)
	_, err := c.Tokens.RevokeAll(t.Context(), target.ID)
	if !errors.Is(err, genesys.ErrForbidden) || !strings.Contains(err.Error(), "oauth:token:delete") {
		t.Errorf("RevokeAll without oauth:token:delete = %v, want ErrForbidden naming the permission", err)
	}
}

func TestSimRolesAndGrants(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 100})
	target := pick(t, sim, func(u genesyssim.User) bool {
		divs := map[string]bool{}
		for _, g := range u.Grants {
			divs[g.DivisionID] = true
		}
		return u.Active && len(divs) > 1
	})
	sub, _, err := c.Authorization.Subject(t.Context(), target.ID)
	if err != nil || len(sub.Grants) != len(target.Grants) {
		t.Fatalf("Subject = %+v, %v; want %d grants", sub, err, len(target.Grants))
	}
	roles, _, err := c.Users.Roles(t.Context(), target.ID)
	if err != nil || len(roles.Roles) == 0 {
		t.Fatalf("Roles = %+v, %v", roles, err)
	}
	u, _, err := c.Users.Get(t.Context(), target.ID)
	if err != nil || fmt.Sprint(u.RoleNames()) != fmt.Sprint(target.Roles()) {
		t.Errorf("SCIM roles = %v, want %v", u.RoleNames(), target.Roles())
	}
}

func TestSimQueues(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 30})
	for _, u := range sim.Users()[:10] {
		if u.Deleted {
			continue
		}
		qs, _, err := c.Users.Queues(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, q := range qs {
			names = append(names, q.Name)
			if !q.Joined || q.Division.ID == "" {
				t.Errorf("queue %+v", q)
			}
		}
		if fmt.Sprint(names) != fmt.Sprint(sim.QueueNames(u.ID)) {
			t.Errorf("user %s queues %v, want %v", u.ID, names, sim.QueueNames(u.ID))
		}
	}
}

// A worker running more requests at once than the old fixed pool of 64 idle
// connections kept closed a connection after most requests and opened a
// new one for the next (a TLS handshake each, against Genesys). With
// NewTransport(n), n requests at a time reuse n connections round after
// round.
func TestTransportKeepsAConnectionPerRequestInFlight(t *testing.T) {
	const inFlight, rounds = 100, 4
	tr := genesys.NewTransport(inFlight)
	dials := genesys.CountDials(tr)
	c, sim := newSim(t, genesyssim.Config{Users: 10, RateLimit: 1_000_000,
		Faults: genesyssim.Faults{LatencyMin: 50 * time.Millisecond, LatencyMax: 50 * time.Millisecond}},
		genesys.WithHTTPClient(&http.Client{Transport: tr}))
	id := pick(t, sim, func(u genesyssim.User) bool { return u.Active }).ID
	ctx := t.Context()
	for range rounds {
		var wg sync.WaitGroup
		errs := make(chan error, inFlight)
		for range inFlight {
			wg.Go(func() {
				if _, _, err := c.Users.Get(ctx, id); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	// One connection per request in flight, and one for the token; a pool of
	// 64 would have opened about 36 more in each later round.
	if n := dials.Load(); n > inFlight+2 {
		t.Errorf("%d rounds of %d requests at once opened %d connections, want at most %d", rounds, inFlight, n, inFlight+2)
	}
}
