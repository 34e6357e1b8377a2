package genesyssim

import (
	"fmt"
	"strings"
	"testing"
)

// setupAs starts a simulator whose default client holds exactly perms, and returns a token.
func setupAs(t *testing.T, cfg Config, perms ...string) (*TestServer, string) {
	t.Helper()
	cfg.Clients = []Client{{ID: DefaultClientID, Secret: DefaultClientSecret, Permissions: append([]string{}, perms...)}}
	return setup(t, cfg)
}

func agentOf(t *testing.T, ts *TestServer, id string) AgentState {
	t.Helper()
	a, ok := ts.Agent(id)
	if !ok {
		t.Fatalf("no agent state for %s", id)
	}
	return a
}

const unknownID = "00000000-0000-4000-8000-000000000000"

// TestContactCenterPermissions checks every new route: 403 missing.any.permissions without
// any listed permission, and past the permission check with each one alone.
func TestContactCenterPermissions(t *testing.T) {
	t.Parallel()
	probe, _ := setup(t, Config{Users: 4})
	u := seeded(t, probe)[2].ID
	q := probe.Queues()[0].ID
	routes := []struct {
		method, path, body string
		perms              []string
	}{
		{"GET", "/api/v2/presence/definitions", "", []string{"presence:presenceDefinition:view"}},
		{"GET", "/api/v2/users/" + u + "/queues", "", []string{"routing:queue:view"}},
		{"GET", "/api/v2/routing/queues/" + q + "/members", "", []string{"routing:queue:view", "routing:queue:edit", "routing:queue:readonly", "routing:queueMember:manage"}},
		{"DELETE", "/api/v2/routing/queues/" + q + "/members/" + u, "", []string{"routing:queue:edit", "routing:queueMember:manage"}},
		{"POST", "/api/v2/routing/queues/" + q + "/members", `[{"id":"` + u + `"}]`, []string{"routing:queue:edit", "routing:queueMember:manage"}},
		{"GET", "/api/v2/users/" + u + "/station", "", []string{"telephony:otherStationAssociation:view"}},
		{"DELETE", "/api/v2/users/" + u + "/station/associatedstation", "", []string{"telephony:station:disassociate"}},
		{"DELETE", "/api/v2/users/" + u + "/station/defaultstation", "", []string{"telephony:plugin:all", "telephony:phone:assign"}},
		{"PUT", "/api/v2/users/" + u + "/station/defaultstation/" + spareStations[0].ID, "", []string{"telephony:plugin:all", "telephony:phone:assign"}},
		{"GET", "/api/v2/users/" + u + "/callforwarding", "", []string{"conversation:callForwarding:view"}},
		{"PATCH", "/api/v2/users/" + u + "/callforwarding", `{"enabled":false}`, []string{"conversation:callForwarding:edit"}},
		{"GET", "/api/v2/flows", "", []string{"architect:flow:view"}},
		{"POST", "/api/v2/flows/actions/unlock?flow=" + seedFlows[0].ID, "", []string{"architect:flow:unlock"}},
		{"GET", "/api/v2/oauth/clients", "", []string{"oauth:client:view"}},
		{"GET", "/api/v2/oauth/clients/" + seedOAuthClients[0].ID, "", []string{"oauth:client:view"}},
		{"PUT", "/api/v2/oauth/clients/" + seedOAuthClients[0].ID, `{"name":"x","authorizedGrantType":"CODE","state":"Active"}`, []string{"oauth:client:edit"}},
		{"GET", "/api/v2/workforcemanagement/agents/" + u + "/managementunit", "", []string{"wfm:agent:view", "wfm:agent:edit"}},
		{"POST", "/api/v2/workforcemanagement/agents", `{"userIds":["` + u + `"],"destinationManagementUnitId":null}`, []string{"wfm:agent:edit"}},
		{"GET", "/api/v2/users/" + u + "/verifiers", "", []string{"mfa:verifier:view"}},
		{"DELETE", "/api/v2/users/" + u + "/verifiers/" + unknownID, "", []string{"mfa:verifier:delete"}},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+strings.SplitN(rt.path, "?", 2)[0], func(t *testing.T) {
			t.Parallel()
			ts, token := setupAs(t, Config{Users: 4}, "directory:user:view")
			m := wantErrorBody(t, do(t, ts, rt.method, rt.path, token, rt.body), 403, "missing.any.permissions")
			if msg := m["message"].(string); !strings.Contains(msg, strings.Join(rt.perms, ", ")) {
				t.Errorf("403 message %q does not list %v", msg, rt.perms)
			}
			for _, p := range rt.perms {
				ts, token := setupAs(t, Config{Users: 4}, p)
				if r := do(t, ts, rt.method, rt.path, token, rt.body); r.status == 403 || r.status >= 500 {
					t.Errorf("with %s: status %d, body %s", p, r.status, r.body)
				}
			}
		})
	}
}

// TestContactCenterUnknownUser checks the 404 ErrorBody of every user route for an unknown user.
func TestContactCenterUnknownUser(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	base := "/api/v2/users/" + unknownID
	for _, rt := range [][3]string{
		{"PUT", base + "/routingstatus", `{"status":"OFF_QUEUE"}`},
		{"GET", base + "/presences/purecloud", ""},
		{"PATCH", base + "/presences/purecloud", fmt.Sprintf(`{"presenceDefinition":{"id":%q}}`, orgPresences[3].ID)},
		{"GET", base + "/queues", ""},
		{"GET", base + "/station", ""},
		{"DELETE", base + "/station/associatedstation", ""},
		{"DELETE", base + "/station/defaultstation", ""},
		{"PUT", base + "/station/defaultstation/" + spareStations[0].ID, ""},
		{"GET", base + "/callforwarding", ""},
		{"PATCH", base + "/callforwarding", `{"enabled":false}`},
		{"GET", "/api/v2/workforcemanagement/agents/" + unknownID + "/managementunit", ""},
		{"GET", base + "/verifiers", ""},
		{"DELETE", base + "/verifiers/" + unknownID, ""},
		{"DELETE", "/api/v2/routing/queues/" + orgQueues[0].ID + "/members/" + unknownID, ""},
	} {
		wantErrorBody(t, do(t, ts, rt[0], rt[1], token, rt[2]), 404, "not.found")
	}
	// The routing status of an unknown user is OFF_QUEUE, as the SDK documents.
	r := do(t, ts, "GET", base+"/routingstatus", token, "")
	wantStatus(t, r, 200)
	if m := r.object(t); m["status"] != RoutingOffQueue || m["userId"] != unknownID {
		t.Errorf("unknown user's routing status = %v", m)
	}
	// Requests are logged with the user id of any of the route's user parameters.
	var logged []string
	for _, req := range ts.Requests() {
		logged = append(logged, req.UserID)
	}
	if !strings.Contains(strings.Join(logged, ","), unknownID) {
		t.Errorf("request log user ids %v", logged)
	}
}
