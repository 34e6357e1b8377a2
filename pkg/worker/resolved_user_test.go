package worker_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// simProxy is a loopback proxy in front of the bed's simulator; intercept
// sees every request first and answers it itself by returning true.
func simProxy(b *testbed.T, intercept func(w http.ResponseWriter, r *http.Request) bool) string {
	b.TB.Helper()
	target, err := url.Parse(b.SimURL)
	if err != nil {
		b.TB.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !intercept(w, r) {
			rp.ServeHTTP(w, r)
		}
	}))
	b.TB.Cleanup(srv.Close)
	return srv.URL
}

// clientAt is the bed's Genesys client, talking to baseURL instead of the simulator.
func clientAt(b *testbed.T, baseURL string) *genesys.Client {
	b.TB.Helper()
	c, err := genesys.NewClient(baseURL, genesys.WithCredentials("sim-client", "sim-secret"),
		genesys.WithLimiter(genesys.NewRateLimiter(1_000_000, time.Second)), genesys.WithMaxElapsedTime(2*time.Second))
	if err != nil {
		b.TB.Fatal(err)
	}
	return c
}

// Review D13 (probe 43): Master Admin is granted between the protection
// check and the PATCH, so the PATCH meets a version conflict. The re-read
// shows Master Admin: the job ends protected, the user stays active, and the
// audit event's roles_before include Master Admin.
func TestProtectionIsCheckedAgainAfterAVersionConflict(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	user := plainActive(b.Sim)[0]
	direct := b.Client()
	var once sync.Once
	proxy := simProxy(b, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/users/"+user.ID) {
			once.Do(func() { // an administrator grants Master Admin meanwhile
				if _, _, err := direct.Users.AddRoles(r.Context(), user.ID, []string{"Master Admin"}); err != nil {
					t.Errorf("grant Master Admin: %v", err)
				}
			})
		}
		return false
	})
	b.Worker(worker.Config{Genesys: clientAt(b, proxy), Protect: worker.Protection{Roles: []string{"Master Admin"}}})
	ids := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, nil)
	st := b.WaitDone(ids...)[ids[0]]
	if st.Outcome != audit.OutcomeProtected {
		t.Fatalf("outcome %s (%s), want protected", st.Outcome, st.Error)
	}
	if u, _ := b.Sim.User(user.ID); !u.Active {
		t.Error("the user made Master Admin was deactivated")
	}
	ev := b.AuditEvents()[ids[0]]
	if !slices.Contains(ev.RolesBefore, "Master Admin") {
		t.Errorf("roles_before %v do not show the Master Admin the user held", ev.RolesBefore)
	}
	if _, ok := b.DeadLetters()[ids[0]]; !ok {
		t.Error("no dead letter for the protected user")
	}
}

// Review D14 (probe 36): a search for one user answered with another ends
// the job "conflict", naming both; the other user is left alone.
func TestASearchAnsweredWithAnotherUserEndsInConflict(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	other := plainActive(b.Sim)[1]
	const asked = "someone.else@example.com"
	proxy := simProxy(b, func(w http.ResponseWriter, r *http.Request) bool {
		if q := r.URL.Query(); strings.Contains(q.Get("filter"), asked) {
			q.Set("filter", strings.ReplaceAll(q.Get("filter"), asked, other.UserName))
			r.URL.RawQuery = q.Encode()
		}
		return false
	})
	b.Worker(worker.Config{Genesys: clientAt(b, proxy)})
	ids := b.Enqueue([]jobs.UserRef{{UserName: asked}}, nil)
	st := b.WaitDone(ids...)[ids[0]]
	if st.Outcome != audit.OutcomeConflict {
		t.Fatalf("outcome %s (%s), want conflict", st.Outcome, st.Error)
	}
	if !strings.Contains(st.Error, asked) || !strings.Contains(st.Error, other.ID) {
		t.Errorf("the error does not name both users: %s", st.Error)
	}
	if u, _ := b.Sim.User(other.ID); !u.Active {
		t.Error("the other user was deactivated")
	}
	if _, ok := b.DeadLetters()[ids[0]]; !ok {
		t.Error("no dead letter for the conflict")
	}
}

// Review L4 (probe 37): a search answered with the id "../../tokens/me" is
// an unexpected response: the job's attempts fail and it ends exhausted,
// instead of looping on a NATS key error without attempts.
func TestAUserIDThatIsNotAUUIDEndsTheJob(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	proxy := simProxy(b, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v2/scim/v2/users" {
			return false
		}
		w.Header().Set("Content-Type", "application/scim+json")
		fmt.Fprint(w, `{"totalResults":1,"Resources":[{"id":"../../tokens/me","userName":"mallory@example.com","active":true,"meta":{"version":"1"}}]}`)
		return true
	})
	b.Worker(worker.Config{Genesys: clientAt(b, proxy), MaxAttempts: 2})
	ids := b.Enqueue([]jobs.UserRef{{UserName: "mallory@example.com"}}, nil)
	st := b.WaitDone(ids...)[ids[0]]
	if st.Outcome != audit.OutcomeExhausted || len(st.Attempts) != 2 {
		t.Fatalf("outcome %s with %d attempts (%s), want exhausted after 2", st.Outcome, len(st.Attempts), st.Error)
	}
	if !strings.Contains(st.Error, "not a UUID") {
		t.Errorf("the error does not say what was wrong: %s", st.Error)
	}
}

// The same on a later attempt: the first PATCH fails (a garbled answer)
// after Master Admin was granted; the next attempt reads the user again,
// ends protected, and the event's roles_before are the roles read then, not
// those of the first attempt.
func TestRolesBeforeAreReadAgainOnALaterAttempt(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	user := plainActive(b.Sim)[0]
	direct := b.Client()
	var once sync.Once
	proxy := simProxy(b, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPatch || !strings.HasSuffix(r.URL.Path, "/users/"+user.ID) {
			return false
		}
		failed := false
		once.Do(func() {
			if _, _, err := direct.Users.AddRoles(r.Context(), user.ID, []string{"Master Admin"}); err != nil {
				t.Errorf("grant Master Admin: %v", err)
			}
			w.Header().Set("Content-Type", "application/scim+json")
			fmt.Fprint(w, "{not json") // a failed attempt that the client does not retry itself
			failed = true
		})
		return failed
	})
	b.Worker(worker.Config{Genesys: clientAt(b, proxy), Protect: worker.Protection{Roles: []string{"Master Admin"}}})
	ids := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, nil)
	st := b.WaitDone(ids...)[ids[0]]
	if st.Outcome != audit.OutcomeProtected {
		t.Fatalf("outcome %s (%s), want protected", st.Outcome, st.Error)
	}
	if ev := b.AuditEvents()[ids[0]]; !slices.Contains(ev.RolesBefore, "Master Admin") {
		t.Errorf("roles_before %v do not show the Master Admin the user held", ev.RolesBefore)
	}
}
