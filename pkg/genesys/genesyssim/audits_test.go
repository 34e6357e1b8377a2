package genesyssim

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// The audit trail records our client's deactivation, an admin's re-activation and a delete; the
// realtime query pages them newest first and keeps 14 days; the asynchronous query runs at once and
// pages its results by cursor; bad requests are 400, unknown transactions 404, and a client
// without audits:audit:view gets 403.
func TestAuditTrailAndQueries(t *testing.T) {
	t.Parallel()
	clock := newClock()
	ts, token := setup(t, Config{Users: 10, Now: clock.Now})
	var u User
	for _, x := range seeded(t, ts) {
		if x.Active {
			u = x
			break
		}
	}
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+u.ID, token, deactivate), http.StatusOK)
	clock.Advance(15 * 24 * time.Hour)
	if err := ts.ActivateAsAdmin(u.ID, "Pat Admin"); err != nil {
		t.Fatal(err)
	}
	if err := ts.ActivateAsAdmin(u.ID, "again"); err != nil { // already active: nothing recorded
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	token, err := ts.Token(DefaultClientID) // the first one expired meanwhile
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, do(t, ts, "DELETE", "/api/v2/users/"+u.ID, token, ""), http.StatusOK)
	trail := ts.AuditTrail()
	if len(trail) != 3 || trail[0].ClientID != DefaultClientID || trail[0].NewValue != "inactive" ||
		trail[1].UserName != "Pat Admin" || trail[1].NewValue != "active" || trail[2].Action != "Delete" || trail[2].NewValue != "deleted" {
		t.Fatalf("trail %+v", trail)
	}

	from, to := clock.Now().Add(-30*24*time.Hour).Format(time.RFC3339), clock.Now().Add(time.Hour).Format(time.RFC3339)
	query := fmt.Sprintf(`{"interval":"%s/%s","serviceName":"Directory","filters":[{"property":"EntityId","value":"%s"}],"pageSize":1}`, from, to, u.ID)
	rt := do(t, ts, "POST", "/api/v2/audits/query/realtime", token, query, "Content-Type", "application/json")
	wantStatus(t, rt, http.StatusOK)
	page := rt.object(t)
	ents := page["entities"].([]any)
	if page["total"].(float64) != 2 || page["pageCount"].(float64) != 2 || len(ents) != 1 || ents[0].(map[string]any)["action"] != "Delete" {
		t.Errorf("realtime page 1 (the deactivation is older than 14 days): %s", rt.body)
	}

	async := do(t, ts, "POST", "/api/v2/audits/query", token,
		fmt.Sprintf(`{"interval":"%s/%s","serviceName":"Directory","filters":[{"property":"EntityId","value":"%s"}],"sort":[{"name":"Timestamp","sortOrder":"ascending"}]}`, from, to, u.ID),
		"Content-Type", "application/json")
	wantStatus(t, async, http.StatusOK)
	st := async.object(t)
	id, _ := st["id"].(string)
	if st["state"] != "Succeeded" || id == "" {
		t.Fatalf("async query: %s", async.body)
	}
	if got := do(t, ts, "GET", "/api/v2/audits/query/"+id, token, "").object(t); got["state"] != "Succeeded" {
		t.Errorf("status %v", got)
	}
	res := do(t, ts, "GET", "/api/v2/audits/query/"+id+"/results?pageSize=2", token, "").object(t)
	ents = res["entities"].([]any)
	if len(ents) != 2 || res["cursor"] != "2" || ents[0].(map[string]any)["client"].(map[string]any)["id"] != DefaultClientID ||
		ents[1].(map[string]any)["user"].(map[string]any)["name"] != "Pat Admin" {
		t.Errorf("results page 1 (oldest first, beyond 14 days): %v", res)
	}
	res = do(t, ts, "GET", "/api/v2/audits/query/"+id+"/results?pageSize=2&cursor=2", token, "").object(t)
	if ents = res["entities"].([]any); len(ents) != 1 || res["cursor"] != nil {
		t.Errorf("results page 2: %v", res)
	}

	wantErrorBody(t, do(t, ts, "POST", "/api/v2/audits/query/realtime", token, `{"interval":"yesterday","serviceName":"Directory"}`,
		"Content-Type", "application/json"), http.StatusBadRequest, "bad.request")
	wantErrorBody(t, do(t, ts, "POST", "/api/v2/audits/query", token, fmt.Sprintf(`{"interval":"%s/%s"}`, from, to),
		"Content-Type", "application/json"), http.StatusBadRequest, "bad.request")
	wantErrorBody(t, do(t, ts, "GET", "/api/v2/audits/query/nope/results", token, ""), http.StatusNotFound, "not.found")
	if err := ts.SetClientPermissions(DefaultClientID, []string{"directory:user:edit"}); err != nil {
		t.Fatal(err)
	}
	wantErrorBody(t, do(t, ts, "POST", "/api/v2/audits/query/realtime", token, query, "Content-Type", "application/json"),
		http.StatusForbidden, "missing.any.permissions")
}
