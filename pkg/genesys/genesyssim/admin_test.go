package genesyssim

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAdminPaths(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	users := seeded(t, ts)
	admin := func(method, path, body string, status int) response {
		t.Helper()
		r := do(t, ts, method, path, "", body, "Content-Type", "application/json")
		wantStatus(t, r, status)
		return r
	}
	do(t, ts, "PATCH", scimUsers+"/"+users[0].ID, token, deactivate)
	do(t, ts, "GET", scimUsers, token, "")

	var log []Request
	decode(t, admin("GET", "/admin/requests?since=1", "", 200), &log)
	if len(log) != 1 || log[0].Seq != 2 || log[0].Route != "GET /api/v2/scim/v2/users" {
		t.Errorf("requests since 1: %+v", log)
	}
	var c Counters
	decode(t, admin("GET", "/admin/counters", "", 200), &c)
	if c.Total != 2 || c.ByRoute["PATCH /api/v2/scim/v2/users/{id}"][200] != 1 {
		t.Errorf("counters: %+v", c)
	}
	var u User
	decode(t, admin("GET", "/admin/users/"+users[0].ID, "", 200), &u)
	if u.Active || u.Version != users[0].Version+1 {
		t.Errorf("user state after deactivation: %+v", u)
	}
	admin("GET", "/admin/users/unknown", "", 404)

	admin("POST", "/admin/reset", "", 204)
	if len(ts.Requests()) != 0 {
		t.Error("reset kept the log")
	}
	if got, _ := ts.User(users[0].ID); got.Active {
		t.Error("reset without org=true restored the org")
	}
	admin("POST", "/admin/reset?org=true", "", 204)
	if got, _ := ts.User(users[0].ID); !got.Active {
		t.Error("reset?org=true did not restore the org")
	}

	var added User
	decode(t, admin("POST", "/admin/users", `{"userName":"new@example.com","active":true,"grants":[{"roleName":"Agent"}]}`, 201), &added)
	if added.ID == "" || added.Grants[0].DivisionName != "Home" || added.Grants[0].RoleID == "" {
		t.Errorf("added user: %+v", added)
	}
	admin("POST", "/admin/users", `{"userName":"new@example.com"}`, 400) // taken
	admin("POST", "/admin/users", `{"userName":"x@example.com","grants":[{"roleName":"Wizard"}]}`, 400)
	admin("PUT", "/admin/users/"+added.ID+"/tokens", `{"tokens":4}`, 204)
	if got, _ := ts.User(added.ID); got.Tokens != 4 {
		t.Errorf("tokens = %d, want 4", got.Tokens)
	}
	admin("PUT", "/admin/users/unknown/tokens", `{"tokens":1}`, 404)

	var f Faults
	decode(t, admin("PUT", "/admin/faults", `{"errorRate":0.5,"latencyMax":"3ms"}`, 200), &f)
	if f.ErrorRate != 0.5 || f.MaxHang == 0 || ts.Faults().ErrorRate != 0.5 {
		t.Errorf("faults after PUT: %+v", f)
	}
	admin("PUT", "/admin/faults", `{"errorRate":3}`, 400)
	admin("PUT", "/admin/faults", `{"bogus":1}`, 400)
	admin("PUT", "/admin/faults", `{}`, 200)

	admin("POST", "/admin/clients/"+DefaultClientID+"/disable", "", 204)
	wantStatus(t, do(t, ts, "GET", scimUsers, token, ""), 401)
	admin("POST", "/admin/clients/"+DefaultClientID+"/enable", "", 204)
	wantStatus(t, do(t, ts, "GET", scimUsers, token, ""), 200)
	admin("POST", "/admin/clients/nobody/enable", "", 404)

	admin("POST", "/admin/tokens/expire-all", "", 204)
	wantErrorBody(t, do(t, ts, "GET", scimUsers, token, ""), 401, "credentials.expired")
	var issued map[string]string
	decode(t, admin("POST", "/admin/tokens", `{"clientId":"`+DefaultClientID+`"}`, 200), &issued)
	wantStatus(t, do(t, ts, "GET", scimUsers, issued["access_token"], ""), 200)
	admin("POST", "/admin/tokens/revoke-all", "", 204)
	wantErrorBody(t, do(t, ts, "GET", scimUsers, issued["access_token"], ""), 401, "bad.credentials")

	var org struct {
		Roles     []Role
		Divisions []Division
	}
	decode(t, admin("GET", "/admin/roles", "", 200), &org)
	if len(org.Roles) != 5 || len(org.Divisions) != 4 || !org.Divisions[0].Home {
		t.Errorf("roles and divisions: %+v", org)
	}
	var health map[string]string
	decode(t, admin("GET", "/admin/health", "", 200), &health)
	if diff := cmp.Diff(map[string]string{"status": "ok"}, health); diff != "" {
		t.Error(diff)
	}
	if len(ts.Requests()) != 5 { // the API requests since the reset
		b, _ := json.Marshal(ts.Requests())
		t.Errorf("admin requests must not be logged; log: %s", b)
	}
}
