package genesyssim

import (
	"fmt"
	"testing"
)

type flowPage struct {
	Entities []struct {
		ID, Name, Type string
		LockedUser     *struct{ ID, Name string }
	}
	Total, PageCount int
}

func TestFlows(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	locker := seeded(t, ts)[2].ID
	var p flowPage
	decode(t, do(t, ts, "GET", "/api/v2/flows?lockedBy="+locker+"&pageSize=100", token, ""), &p)
	if p.Total != 1 || p.Entities[0].LockedUser == nil || p.Entities[0].LockedUser.ID != locker || p.Entities[0].Type == "" {
		t.Fatalf("flows locked by %s: %+v", locker, p)
	}
	flow := p.Entities[0].ID
	decode(t, do(t, ts, "GET", "/api/v2/flows?pageSize=2&pageNumber=1", token, ""), &p)
	if len(p.Entities) != 2 || p.Total != len(ts.Flows()) || p.PageCount != (len(ts.Flows())+1)/2 {
		t.Errorf("page 1 of size 2: %+v (org has %d flows)", p, len(ts.Flows()))
	}
	r := do(t, ts, "POST", "/api/v2/flows/actions/unlock?flow="+flow, token, "")
	wantStatus(t, r, 200)
	if m := r.object(t); m["id"] != flow || m["lockedUser"] != nil {
		t.Errorf("unlock = %v", m)
	}
	wantStatus(t, do(t, ts, "POST", "/api/v2/flows/actions/unlock?flow="+flow, token, ""), 200) // already unlocked
	if decode(t, do(t, ts, "GET", "/api/v2/flows?lockedBy="+locker, token, ""), &p); p.Total != 0 {
		t.Errorf("still locked: %+v", p)
	}
	wantErrorBody(t, do(t, ts, "POST", "/api/v2/flows/actions/unlock", token, ""), 400, "bad.request")
	wantErrorBody(t, do(t, ts, "POST", "/api/v2/flows/actions/unlock?flow="+unknownID, token, ""), 404, "not.found")
	wantErrorBody(t, do(t, ts, "GET", "/api/v2/flows?pageSize=500", token, ""), 400, "bad.request")
}

func TestOAuthClients(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	agent := seeded(t, ts)[2].ID
	r := do(t, ts, "GET", "/api/v2/oauth/clients", token, "")
	wantStatus(t, r, 200)
	var list struct {
		Entities []struct {
			ID, Name, State, AuthorizedGrantType string
			CreatedBy                            *struct{ ID string }
		}
		Total int
	}
	decode(t, r, &list)
	var mine string
	for _, e := range list.Entities {
		if e.CreatedBy != nil && e.CreatedBy.ID == agent {
			mine = e.ID
		}
	}
	if list.Total != len(ts.OAuthClients()) || len(list.Entities) != list.Total || mine == "" {
		t.Fatalf("list %+v: want every client and one created by %s", list, agent)
	}
	path := "/api/v2/oauth/clients/" + mine
	got := do(t, ts, "GET", path, token, "")
	wantStatus(t, got, 200)
	// What the client does: GET, change state, PUT the whole body back.
	body := string(got.body)
	body = body[:len(body)-1] // the trailing newline
	disabled := replaceJSON(t, body, "state", OAuthClientDisabled)
	r = do(t, ts, "PUT", path, token, disabled)
	wantStatus(t, r, 200)
	before := got.object(t)
	after := r.object(t)
	for k, v := range before {
		if k != "state" && fmt.Sprint(after[k]) != fmt.Sprint(v) {
			t.Errorf("PUT changed %s: %v → %v", k, v, after[k])
		}
	}
	if after["state"] != OAuthClientDisabled {
		t.Errorf("state = %v", after["state"])
	}
	for _, c := range ts.OAuthClients() {
		if c.ID == mine && (c.State != OAuthClientDisabled || c.CreatedBy != agent) {
			t.Errorf("stored %+v", c)
		}
	}
	for _, bad := range []string{`[`, `{"name":"x","authorizedGrantType":"CODE","state":"Off"}`, `{"authorizedGrantType":"CODE","state":"Active"}`,
		`{"name":"x","state":"Active"}`} {
		wantErrorBody(t, do(t, ts, "PUT", path, token, bad), 400, "bad.request")
	}
	wantErrorBody(t, do(t, ts, "GET", "/api/v2/oauth/clients/"+unknownID, token, ""), 404, "not.found")
	wantErrorBody(t, do(t, ts, "PUT", "/api/v2/oauth/clients/"+unknownID, token, `{"name":"x","authorizedGrantType":"CODE","state":"Active"}`), 404, "not.found")
}
