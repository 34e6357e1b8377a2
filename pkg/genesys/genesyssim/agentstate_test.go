package genesyssim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestDeactivateSwitches deactivates the archetype agent (user 3) through SCIM with each switch
// off and on: off, the contact-center state survives; on, that one part of it changes.
func TestDeactivateSwitches(t *testing.T) {
	t.Parallel()
	switches := map[string]struct {
		cfg     Config
		changed func(before, after AgentState) bool
	}{
		"OffQueueOnDeactivate": {Config{OffQueueOnDeactivate: true}, func(b, a AgentState) bool {
			return a.RoutingStatus == RoutingOffQueue && a.Presence == PresenceOffline
		}},
		"RemoveQueuesOnDeactivate": {Config{RemoveQueuesOnDeactivate: true}, func(b, a AgentState) bool { return len(a.Queues) == 0 }},
		"ClearStationOnDeactivate": {Config{ClearStationOnDeactivate: true}, func(b, a AgentState) bool {
			return a.DefaultStationID == "" && a.AssociatedStationID == "" && a.LastAssociatedStationID == b.AssociatedStationID
		}},
		"DisableForwardingOnDeactivate": {Config{DisableForwardingOnDeactivate: true}, func(b, a AgentState) bool {
			return !a.Forwarding.Enabled && len(a.Forwarding.Targets) == len(b.Forwarding.Targets)
		}},
		"RemoveFromWFMOnDeactivate": {Config{RemoveFromWFMOnDeactivate: true}, func(b, a AgentState) bool { return a.ManagementUnitID == "" }},
	}
	for name, sw := range switches {
		for _, on := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s=%t", name, on), func(t *testing.T) {
				t.Parallel()
				cfg := Config{Users: 4}
				if on {
					cfg = sw.cfg
					cfg.Users = 4
				}
				ts, token := setup(t, cfg)
				u := seeded(t, ts)[2].ID
				before := agentOf(t, ts, u)
				wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+u, token, deactivate), 200)
				after := agentOf(t, ts, u)
				if on != sw.changed(before, after) {
					t.Errorf("switch %t: before %+v after %+v", on, before, after)
				}
				if !on && fmt.Sprint(before) != fmt.Sprint(after) {
					t.Errorf("deactivation changed the state with every switch off: %+v → %+v", before, after)
				}
			})
		}
	}
}

func TestOfflineOnTokenDelete(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("OfflineOnTokenDelete=%t", on), func(t *testing.T) {
			t.Parallel()
			ts, token := setup(t, Config{Users: 4, OfflineOnTokenDelete: on})
			u := seeded(t, ts)[3].ID // IDLE, On Queue, with tokens
			wantStatus(t, do(t, ts, "DELETE", "/api/v2/tokens/"+u, token, ""), 204)
			a := agentOf(t, ts, u)
			if offline := a.Presence == PresenceOffline && a.RoutingStatus == RoutingOffQueue; offline != on {
				t.Errorf("after token delete: %s / %s", a.Presence, a.RoutingStatus)
			}
		})
	}
}

func TestAgentAccessors(t *testing.T) {
	t.Parallel()
	ts, _ := setup(t, Config{Users: 4})
	u := seeded(t, ts)[0].ID
	if _, ok := ts.Agent(unknownID); ok {
		t.Error("Agent of an unknown user")
	}
	good := AgentState{RoutingStatus: RoutingIdle, Presence: PresenceOnQueue,
		Queues:           []Membership{{ts.Queues()[0].ID, MemberByUser}, {ts.Queues()[5].ID, MemberByGroup}},
		DefaultStationID: ts.Stations()[0].ID, ManagementUnitID: ts.ManagementUnits()[0].ID,
		Forwarding: Forwarding{Enabled: true, Targets: []ForwardingTarget{{"PHONENUMBER", "+15550000001"}}},
		Verifiers:  []Verifier{{ID: "v1", Name: "Authenticator app"}}}
	if err := ts.SetAgent(u, good); err != nil {
		t.Fatal(err)
	}
	got := agentOf(t, ts, u)
	got.Queues[0].MemberBy = "changed" // a copy
	if fmt.Sprint(agentOf(t, ts, u)) != fmt.Sprint(good) {
		t.Errorf("stored %+v, want %+v", agentOf(t, ts, u), good)
	}
	if err := ts.SetAgent(unknownID, good); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("unknown user: %v", err)
	}
	taken := good
	taken.DefaultStationID = agentOf(t, ts, seeded(t, ts)[3].ID).DefaultStationID
	for name, bad := range map[string]AgentState{
		"status": {RoutingStatus: "LUNCH", Presence: PresenceAway}, "presence": {RoutingStatus: RoutingIdle, Presence: "Gone"},
		"queue":    {RoutingStatus: RoutingIdle, Presence: PresenceAway, Queues: []Membership{{unknownID, MemberByUser}}},
		"memberBy": {RoutingStatus: RoutingIdle, Presence: PresenceAway, Queues: []Membership{{orgQueues[0].ID, "team"}}},
		"station":  {RoutingStatus: RoutingIdle, Presence: PresenceAway, AssociatedStationID: unknownID},
		"unit":     {RoutingStatus: RoutingIdle, Presence: PresenceAway, ManagementUnitID: unknownID},
		"target":   {RoutingStatus: RoutingIdle, Presence: PresenceAway, Forwarding: Forwarding{Enabled: true}},
		"verifier": {RoutingStatus: RoutingIdle, Presence: PresenceAway, Verifiers: []Verifier{{Name: "x"}}},
		"taken":    taken,
	} {
		if err := ts.SetAgent(u, bad); !errors.Is(err, ErrInvalidState) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := ts.SetFlow(Flow{ID: "f1", Name: "New", Type: "workflow", LockedBy: u}); err != nil {
		t.Fatal(err)
	}
	if err := ts.SetFlow(Flow{ID: "f1", Name: "New", Type: "workflow"}); err != nil {
		t.Fatal(err)
	}
	if fl := ts.Flows(); fl[len(fl)-1] != (Flow{ID: "f1", Name: "New", Type: "workflow"}) || len(fl) != len(seedOrg(1, 4).flows)+1 {
		t.Errorf("flows %+v", fl)
	}
	if err := ts.SetFlow(Flow{ID: "f2", Name: "x", LockedBy: unknownID}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("flow locked by an unknown user: %v", err)
	}
	if err := ts.SetOAuthClient(OAuthClient{ID: "c1", Name: "Mine", CreatedBy: u}); err != nil {
		t.Fatal(err)
	}
	if cl := ts.OAuthClients(); cl[len(cl)-1] != (OAuthClient{ID: "c1", Name: "Mine", State: OAuthClientActive, AuthorizedGrantType: "CLIENT-CREDENTIALS", CreatedBy: u}) {
		t.Errorf("clients %+v", cl)
	}
	for _, bad := range []OAuthClient{{ID: "c2"}, {ID: "c2", Name: "x", State: "Off"}, {ID: "c2", Name: "x", CreatedBy: unknownID}} {
		if err := ts.SetOAuthClient(bad); !errors.Is(err, ErrInvalidState) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	// ResetOrg restores the seeded state.
	ts.ResetOrg()
	if a := agentOf(t, ts, u); fmt.Sprint(a) == fmt.Sprint(good) || len(ts.Flows()) != len(seedOrg(1, 4).flows) {
		t.Errorf("ResetOrg kept changes: %+v", a)
	}
}

func TestAdminAgentPaths(t *testing.T) {
	t.Parallel()
	ts, _ := setup(t, Config{Users: 4})
	u := seeded(t, ts)[2].ID
	r := do(t, ts, "GET", "/admin/agents/"+u, "", "")
	wantStatus(t, r, 200)
	var a AgentState
	decode(t, r, &a)
	if fmt.Sprint(a) != fmt.Sprint(agentOf(t, ts, u)) {
		t.Errorf("GET /admin/agents = %+v", a)
	}
	a.Forwarding.Enabled = false
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	wantStatus(t, do(t, ts, "PUT", "/admin/agents/"+u, "", body, "Content-Type", "application/json"), 204)
	if agentOf(t, ts, u).Forwarding.Enabled {
		t.Error("PUT /admin/agents did not change forwarding")
	}
	wantStatus(t, do(t, ts, "GET", "/admin/agents/"+unknownID, "", ""), 404)
	wantStatus(t, do(t, ts, "PUT", "/admin/agents/"+unknownID, "", body), 404)
	wantStatus(t, do(t, ts, "PUT", "/admin/agents/"+u, "", `{"routingStatus":"LUNCH","presence":"Away"}`), 400)
	wantStatus(t, do(t, ts, "PUT", "/admin/agents/"+u, "", `{"typo":1}`), 400)

	wantStatus(t, do(t, ts, "PUT", "/admin/flows/f9", "", `{"name":"Admin flow","type":"workflow","lockedBy":"`+u+`"}`), 204)
	wantStatus(t, do(t, ts, "PUT", "/admin/flows/f9", "", `{"id":"other","name":"x"}`), 400)
	wantStatus(t, do(t, ts, "PUT", "/admin/oauth-clients/c9", "", `{"name":"Admin client","createdBy":"`+u+`"}`), 204)
	for path, want := range map[string]string{"/admin/flows": `"id":"f9"`, "/admin/oauth-clients": `"id":"c9"`,
		"/admin/queues": orgQueues[5].ID, "/admin/stations": spareStations[0].ID, "/admin/management-units": orgUnits[0].ID,
		"/admin/presence-definitions": orgPresences[0].ID} {
		r := do(t, ts, "GET", path, "", "")
		if r.status != http.StatusOK || !strings.Contains(string(r.body), want) {
			t.Errorf("GET %s = %d %s, want it to contain %s", path, r.status, r.body, want)
		}
	}
}
