package genesyssim

import (
	"fmt"
	"testing"
)

func TestRoutingStatus(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[2].ID // active agent, IDLE and On Queue
	path := "/api/v2/users/" + u + "/routingstatus"
	r := do(t, ts, "GET", path, token, "")
	wantStatus(t, r, 200)
	if m := r.object(t); m["status"] != RoutingIdle || m["userId"] != u || m["startTime"] == "" {
		t.Errorf("GET = %v", m)
	}
	r = do(t, ts, "PUT", path, token, `{"status":"OFF_QUEUE"}`)
	wantStatus(t, r, 200)
	if m := r.object(t); m["status"] != RoutingOffQueue {
		t.Errorf("PUT = %v", m)
	}
	if a := agentOf(t, ts, u); a.RoutingStatus != RoutingOffQueue || a.Presence != PresenceAvailable {
		t.Errorf("after OFF_QUEUE: %s / %s, want OFF_QUEUE / Available", a.RoutingStatus, a.Presence)
	}
	for _, body := range []string{`{"status":"LUNCH"}`, `{}`, `[`, `{"status":1}`} {
		wantErrorBody(t, do(t, ts, "PUT", path, token, body), 400, "bad.request")
	}
	wantErrorBody(t, do(t, ts, "PUT", path, token, `{"status":"IDLE"}`, "Content-Type", "text/plain"), 415, "unsupported.media.type")
}

func TestRoutingStatusPermissionSwitch(t *testing.T) {
	t.Parallel()
	for _, perm := range []string{"", "routing:agent:edit"} {
		t.Run(fmt.Sprintf("permission=%q", perm), func(t *testing.T) {
			t.Parallel()
			ts, token := setupAs(t, Config{Users: 4, RoutingStatusPermission: perm}, "directory:user:view")
			path := "/api/v2/users/" + seeded(t, ts)[2].ID + "/routingstatus"
			wantStatus(t, do(t, ts, "GET", path, token, ""), 200) // GET never needs one
			r := do(t, ts, "PUT", path, token, `{"status":"OFF_QUEUE"}`)
			if perm == "" {
				wantStatus(t, r, 200)
				return
			}
			wantErrorBody(t, r, 403, "missing.any.permissions")
			ts, token = setupAs(t, Config{Users: 4, RoutingStatusPermission: perm}, perm)
			wantStatus(t, do(t, ts, "PUT", path, token, `{"status":"OFF_QUEUE"}`), 200)
		})
	}
}

func TestPresence(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	r := do(t, ts, "GET", "/api/v2/presence/definitions?pageSize=100", token, "")
	wantStatus(t, r, 200)
	var defs struct {
		Entities []struct {
			ID, SystemPresence string
			LanguageLabels     map[string]string
		}
		Total int
	}
	decode(t, r, &defs)
	ids := map[string]string{}
	for _, d := range defs.Entities {
		ids[d.SystemPresence] = d.ID
		if d.LanguageLabels["en_US"] == "" {
			t.Errorf("definition %+v has no label", d)
		}
	}
	for _, name := range []string{PresenceAvailable, PresenceAway, PresenceBusy, PresenceOffline, PresenceOnQueue} {
		if ids[name] == "" {
			t.Errorf("no definition for %s in %v", name, ids)
		}
	}
	if defs.Total != len(ts.PresenceDefinitions()) {
		t.Errorf("total %d", defs.Total)
	}
	r = do(t, ts, "GET", "/api/v2/presence/definitions?pageSize=3&pageNumber=2", token, "")
	if decode(t, r, &defs); len(defs.Entities) != 3 || defs.Entities[0].ID != ts.PresenceDefinitions()[3].ID {
		t.Errorf("page 2 of 3: %+v", defs.Entities)
	}
	wantErrorBody(t, do(t, ts, "GET", "/api/v2/presence/definitions?pageSize=101", token, ""), 400, "bad.request")

	u := seeded(t, ts)[2].ID
	path := "/api/v2/users/" + u + "/presences/purecloud"
	var p struct {
		Source             string
		PresenceDefinition struct{ ID, SystemPresence string }
	}
	decode(t, do(t, ts, "GET", path, token, ""), &p)
	if p.PresenceDefinition.SystemPresence != PresenceOnQueue || p.PresenceDefinition.ID != ids[PresenceOnQueue] || p.Source != "PURECLOUD" {
		t.Errorf("GET = %+v", p)
	}
	r = do(t, ts, "PATCH", path, token, fmt.Sprintf(`{"presenceDefinition":{"id":%q}}`, ids[PresenceOffline]))
	wantStatus(t, r, 200)
	if decode(t, r, &p); p.PresenceDefinition.SystemPresence != PresenceOffline {
		t.Errorf("PATCH = %+v", p)
	}
	if a := agentOf(t, ts, u); a.Presence != PresenceOffline || a.RoutingStatus != RoutingOffQueue {
		t.Errorf("after Offline: %s / %s, want Offline / OFF_QUEUE", a.Presence, a.RoutingStatus)
	}
	for _, body := range []string{`{"presenceDefinition":{"id":"nope"}}`, `{}`, `{"presenceDefinition":"Offline"}`} {
		wantErrorBody(t, do(t, ts, "PATCH", path, token, body), 400, "bad.request")
	}
}

func TestPresencePermissionSwitch(t *testing.T) {
	t.Parallel()
	body := fmt.Sprintf(`{"presenceDefinition":{"id":%q}}`, orgPresences[3].ID)
	for _, perm := range []string{"", "presence:userPresence:edit"} {
		t.Run(fmt.Sprintf("permission=%q", perm), func(t *testing.T) {
			t.Parallel()
			ts, token := setupAs(t, Config{Users: 4, PresencePermission: perm}, "directory:user:view")
			path := "/api/v2/users/" + seeded(t, ts)[2].ID + "/presences/purecloud"
			wantStatus(t, do(t, ts, "GET", path, token, ""), 200)
			r := do(t, ts, "PATCH", path, token, body)
			if perm == "" {
				wantStatus(t, r, 200)
				return
			}
			wantErrorBody(t, r, 403, "missing.any.permissions")
			ts, token = setupAs(t, Config{Users: 4, PresencePermission: perm}, perm)
			wantStatus(t, do(t, ts, "PATCH", path, token, body), 200)
		})
	}
}
