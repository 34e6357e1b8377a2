package genesyssim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func plans(in *injector, n int) []faultPlan {
	out := make([]faultPlan, n)
	for i := range out {
		out[i] = in.plan("GET /api/v2/scim/v2/users")
	}
	return out
}

func TestInjectorReproducible(t *testing.T) {
	t.Parallel()
	f := Faults{Seed: 7, LatencyMin: time.Millisecond, LatencyMax: 9 * time.Millisecond,
		ErrorRate: 0.2, BurstRate: 0.05, TimeoutRate: 0.05}
	a, b := plans(newInjector(f, 1), 300), plans(newInjector(f, 99), 300)
	if diff := cmp.Diff(a, b, cmp.AllowUnexported(faultPlan{})); diff != "" {
		t.Errorf("same Faults.Seed, different draws (-a +b):\n%s", diff)
	}
	f.Seed = 8
	if cmp.Equal(a, plans(newInjector(f, 1), 300), cmp.AllowUnexported(faultPlan{})) {
		t.Error("a different seed gave the same draws")
	}
	kinds := map[string]int{}
	for _, p := range a {
		kinds[p.kind]++
		if p.latency < time.Millisecond || p.latency > 9*time.Millisecond {
			t.Fatalf("latency %v outside [1ms, 9ms]", p.latency)
		}
		if p.kind == FaultServerError && !strings.Contains("500 502 503 504", itoa(p.status)) {
			t.Fatalf("status %d not among the defaults", p.status)
		}
	}
	if kinds[FaultServerError] < 30 || kinds[FaultServerError] > 80 || kinds[FaultBurst] == 0 || kinds[FaultTimeout] == 0 {
		t.Errorf("fault counts %v far from the configured shares", kinds)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestInjectorBurst(t *testing.T) {
	t.Parallel()
	in := newInjector(Faults{BurstRate: 1, BurstLength: 3, BurstRetryAfter: 2500 * time.Millisecond}, 1)
	first := in.plan("r")
	in.f.BurstRate = 0 // the running burst continues without new draws
	var got []string
	for _, p := range append([]faultPlan{first}, plans(in, 3)...) {
		got = append(got, p.kind)
	}
	if diff := cmp.Diff([]string{FaultBurst, FaultBurst, FaultBurst, ""}, got); diff != "" {
		t.Errorf("burst sequence (-want +got):\n%s", diff)
	}
	if first.retryAfter != 2500*time.Millisecond {
		t.Errorf("retryAfter = %v", first.retryAfter)
	}
}

func TestFaultsOverHTTP(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	id := ts.Users()[0].ID

	must(t, ts.SetFaults(Faults{ErrorRate: 1, ErrorStatuses: []int{503}, ServiceUnavailableRetryAfter: 2 * time.Second}))
	r := do(t, ts, "GET", scimUsers, token, "")
	wantErrorBody(t, r, 503, "service.unavailable")
	if r.header.Get("Retry-After") != "2" || r.header.Get("inin-ratelimit-count") != "1" {
		t.Errorf("503 headers: Retry-After %q count %q", r.header.Get("Retry-After"), r.header.Get("inin-ratelimit-count"))
	}

	must(t, ts.SetFaults(Faults{BurstRate: 1, BurstRetryAfter: 2100 * time.Millisecond}))
	r = do(t, ts, "GET", scimUsers, token, "")
	wantErrorBody(t, r, 429, "too.many.requests.retry.after")
	if r.header.Get("Retry-After") != "3" || r.header.Get("inin-ratelimit-count") != "1" {
		t.Errorf("burst 429: Retry-After %q (want 3), count %q (want 1: no slot taken)", r.header.Get("Retry-After"), r.header.Get("inin-ratelimit-count"))
	}

	must(t, ts.SetFaults(Faults{LatencyMin: 2 * time.Millisecond, LatencyMax: 2 * time.Millisecond}))
	wantStatus(t, do(t, ts, "GET", scimUsers, token, ""), 200)

	must(t, ts.SetFaults(Faults{ErrorRate: 1, Routes: []string{"PATCH /api/v2/scim/v2/users/{id}"}}))
	wantStatus(t, do(t, ts, "GET", scimUsers+"/"+id, token, ""), 200)
	if r := do(t, ts, "PATCH", scimUsers+"/"+id, token, deactivate); r.status < 500 {
		t.Errorf("PATCH with 5xx fault on its route: %d", r.status)
	}

	log := ts.Requests()
	var got []string
	for _, e := range log {
		got = append(got, e.Fault)
	}
	if diff := cmp.Diff([]string{FaultServerError, FaultBurst, FaultLatency, "", FaultServerError}, got); diff != "" {
		t.Errorf("logged faults (-want +got):\n%s", diff)
	}
	if log[2].InjectedLatency != 2*time.Millisecond || log[2].Duration < 2*time.Millisecond {
		t.Errorf("latency entry: injected %v, duration %v", log[2].InjectedLatency, log[2].Duration)
	}
	if err := ts.SetFaults(Faults{ErrorRate: 2}); err == nil {
		t.Error("SetFaults accepted an error rate of 2")
	}
}

func TestTimeoutFault(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1, Faults: Faults{TimeoutRate: 1, MaxHang: 10 * time.Millisecond}})
	req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+scimUsers, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if res, err := ts.HTTP.Client().Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("timeout fault answered %d; want no answer", res.StatusCode)
	}

	// With a long hang, the client's own deadline ends the request.
	must(t, ts.SetFaults(Faults{TimeoutRate: 1, MaxHang: time.Hour}))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", ts.URL+scimUsers, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if _, err := ts.HTTP.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	ts.HTTP.Close() // waits for the hanging handler, which must notice the client left
	for _, e := range ts.Requests() {
		if e.Status != 0 || e.Fault != FaultTimeout {
			t.Errorf("logged %d %q, want status 0 and the timeout fault", e.Status, e.Fault)
		}
	}
}

func TestConflictAndBlockingFaults(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4, Faults: Faults{ConflictRate: 1}})
	users := seeded(t, ts)
	wantSCIMError(t, do(t, ts, "PATCH", scimUsers+"/"+users[0].ID, token, deactivate), 400, "invalidVers")
	wantSCIMError(t, do(t, ts, "DELETE", scimUsers+"/"+users[0].ID, token, ""), 400, "invalidVers")

	must(t, ts.SetFaults(Faults{BlockingUsers: []string{users[0].ID}}))
	m := wantSCIMError(t, do(t, ts, "PATCH", scimUsers+"/"+users[0].ID, token, deactivate), 409, "")
	if d, _ := m["detail"].(string); strings.Contains(strings.ToLower(d), "version") || !strings.Contains(d, "HYPOTHETICAL") {
		t.Errorf("blocking 409 detail %q must not be about the version and must say it is hypothetical", d)
	}
	if got, _ := ts.User(users[0].ID); !got.Active || got.Version != users[0].Version {
		t.Error("a blocked deactivation changed the user")
	}
	// Only deactivation is blocked, and only for the listed user.
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+users[0].ID, token, patchBody(`{"op":"replace","path":"title","value":"x"}`)), 200)
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+users[2].ID, token, deactivate), 200)

	must(t, ts.SetFaults(Faults{BlockingRate: 1}))
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+users[3].ID, token, deactivate), 409)
	if c := ts.Counters().ByFault; c[FaultConflict] != 2 || c[FaultBlocking] != 2 {
		t.Errorf("fault counters %v", c)
	}
}

func TestBlockingWhileGranted(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 20})
	var target User
	for _, u := range seeded(t, ts) {
		if u.Active && !u.Deleted && len(u.Grants) > 0 {
			target = u
			break
		}
	}
	must(t, ts.SetFaults(Faults{BlockingUsers: []string{target.ID}, BlockingWhileGranted: true}))
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+target.ID, token, deactivate), 409)
	var grants []string
	for _, g := range target.Grants {
		grants = append(grants, fmt.Sprintf(`{"roleId":%q,"divisionId":%q}`, g.RoleID, g.DivisionID))
	}
	wantStatus(t, do(t, ts, "POST", "/api/v2/authorization/subjects/"+target.ID+"/bulkremove", token, `{"grants":[`+strings.Join(grants, ",")+`]}`), 204)
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+target.ID, token, deactivate), 200)
	if got, _ := ts.User(target.ID); got.Active {
		t.Error("the user is still active once the grants are gone")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A silently ignored deactivation answers 200 with active:false and stores nothing; a listed
// user's second deactivation applies, and the rate draws per PATCH.
func TestIgnoreDeactivateFault(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	var active []User
	for _, u := range seeded(t, ts) {
		if u.Active && !u.Deleted {
			active = append(active, u)
		}
	}
	target := active[0]
	must(t, ts.SetFaults(Faults{IgnoreDeactivateUsers: []string{target.ID}}))
	r := do(t, ts, "PATCH", scimUsers+"/"+target.ID, token, deactivate)
	wantStatus(t, r, 200)
	if a, ok := r.object(t)["active"].(bool); !ok || a {
		t.Errorf("the ignored PATCH's body says active %v, want false", r.object(t)["active"])
	}
	if got, _ := ts.User(target.ID); !got.Active || got.Version != target.Version {
		t.Errorf("an ignored deactivation changed the user: active %t, version %d (was %d)", got.Active, got.Version, target.Version)
	}
	if f := ts.Faults(); len(f.IgnoreDeactivateUsers) != 0 {
		t.Errorf("the listed user stays listed after its ignored PATCH: %v", f.IgnoreDeactivateUsers)
	}
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+target.ID, token, deactivate), 200)
	if got, _ := ts.User(target.ID); got.Active {
		t.Error("the second deactivation of a listed user did not apply")
	}

	must(t, ts.SetFaults(Faults{IgnoreDeactivateRate: 1}))
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+active[1].ID, token, deactivate), 200)
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+active[1].ID, token, deactivate), 200)
	if got, _ := ts.User(active[1].ID); !got.Active {
		t.Error("IgnoreDeactivateRate 1 let a deactivation apply")
	}
	if c := ts.Counters().ByFault; c[FaultIgnored] != 3 {
		t.Errorf("fault counters %v, want 3 %s", c, FaultIgnored)
	}
	if err := ts.SetFaults(Faults{IgnoreDeactivateRate: 2}); err == nil {
		t.Error("an ignore rate of 2 was accepted")
	}
}
