package genesyssim

import (
	"encoding/json"
	"fmt"
	"testing"
)

// replaceJSON sets key to value in the JSON object body.
func replaceJSON(t *testing.T, body, key string, value any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	m[key] = value
	b, _ := json.Marshal(m)
	return string(b)
}

type unitBody struct {
	User           struct{ ID string }
	ManagementUnit *struct{ ID, Name string }
	BusinessUnit   *struct{ ID string }
}

func TestWFM(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[1].ID
	path := "/api/v2/workforcemanagement/agents/" + u + "/managementunit"
	unit := agentOf(t, ts, u).ManagementUnitID
	var got unitBody
	decode(t, do(t, ts, "GET", path, token, ""), &got)
	if got.User.ID != u || got.ManagementUnit == nil || got.ManagementUnit.ID != unit || got.ManagementUnit.Name == "" || got.BusinessUnit == nil {
		t.Fatalf("GET = %+v", got)
	}
	r := do(t, ts, "POST", "/api/v2/workforcemanagement/agents", token, fmt.Sprintf(`{"userIds":[%q,%q],"destinationManagementUnitId":null}`, u, unknownID))
	wantStatus(t, r, 200)
	var moved struct {
		Results []struct {
			User   struct{ ID string }
			Result string
		}
	}
	if decode(t, r, &moved); len(moved.Results) != 2 || moved.Results[0].Result != "Success" || moved.Results[1].Result != "UserNotFound" {
		t.Errorf("move = %+v", moved)
	}
	got = unitBody{}
	decode(t, do(t, ts, "GET", path, token, ""), &got)
	if got.User.ID != u || got.ManagementUnit != nil {
		t.Errorf("after removal: %+v", got)
	}
	// Undo: move back to the recorded unit.
	wantStatus(t, do(t, ts, "POST", "/api/v2/workforcemanagement/agents", token, fmt.Sprintf(`{"userIds":[%q],"destinationManagementUnitId":%q}`, u, unit)), 200)
	if agentOf(t, ts, u).ManagementUnitID != unit {
		t.Error("not moved back")
	}
	for _, bad := range []string{`[`, `{"userIds":[]}`, `{"destinationManagementUnitId":null}`, fmt.Sprintf(`{"userIds":[%q],"destinationManagementUnitId":%q}`, u, unknownID)} {
		wantErrorBody(t, do(t, ts, "POST", "/api/v2/workforcemanagement/agents", token, bad), 400, "bad.request")
	}
}

func TestVerifiers(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[1].ID
	path := "/api/v2/users/" + u + "/verifiers"
	var list struct {
		Entities []struct {
			ID, Name         string
			Enabled, Default bool
		}
		Total int
	}
	decode(t, do(t, ts, "GET", path, token, ""), &list)
	if list.Total != 2 || len(list.Entities) != 2 || !list.Entities[0].Default || !list.Entities[0].Enabled || list.Entities[1].Default {
		t.Fatalf("GET = %+v", list)
	}
	wantStatus(t, do(t, ts, "DELETE", path+"/"+list.Entities[0].ID, token, ""), 204)
	wantErrorBody(t, do(t, ts, "DELETE", path+"/"+list.Entities[0].ID, token, ""), 404, "not.found")
	if a := agentOf(t, ts, u); len(a.Verifiers) != 1 || a.Verifiers[0].ID != list.Entities[1].ID {
		t.Errorf("after the delete: %+v", a.Verifiers)
	}
}
