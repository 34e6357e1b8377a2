package genesyssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDeleteTokens(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	users := seeded(t, ts)
	r := do(t, ts, "DELETE", "/api/v2/tokens/"+users[0].ID, token, "")
	if r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("status %d body %q, want 204 empty", r.status, r.body)
	}
	if got, _ := ts.User(users[0].ID); got.Tokens != 0 || users[0].Tokens == 0 {
		t.Errorf("tokens before %d after %d, want some then 0", users[0].Tokens, got.Tokens)
	}
	// Default: a user without tokens (users[2]) is still 204.
	wantStatus(t, do(t, ts, "DELETE", "/api/v2/tokens/"+users[2].ID, token, ""), http.StatusNoContent)
	wantErrorBody(t, do(t, ts, "DELETE", "/api/v2/tokens/unknown", token, ""), http.StatusNotFound, "not.found")
}

func TestDeleteTokensNoTokensSwitch(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4, NotFoundWhenNoTokens: true})
	users := seeded(t, ts)
	wantErrorBody(t, do(t, ts, "DELETE", "/api/v2/tokens/"+users[2].ID, token, ""), http.StatusNotFound, "not.found")
	wantStatus(t, do(t, ts, "DELETE", "/api/v2/tokens/"+users[0].ID, token, ""), http.StatusNoContent)
	wantStatus(t, do(t, ts, "DELETE", "/api/v2/tokens/"+users[0].ID, token, ""), http.StatusNotFound)
}

func TestUserRoles(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[0] // Master Admin in two divisions + employee
	r := do(t, ts, "GET", "/api/v2/users/"+u.ID+"/roles", token, "")
	wantStatus(t, r, http.StatusOK)
	roleID := map[string]string{}
	for _, role := range ts.Roles() {
		roleID[role.Name] = role.ID
	}
	want := map[string]any{
		"roles": []any{
			map[string]any{"id": roleID["Master Admin"], "name": "Master Admin"},
			map[string]any{"id": roleID["employee"], "name": "employee"},
		},
		"unusedRoles":        []any{},
		"permissions":        []any{"*:*:*", "directory:user:view"},
		"permissionPolicies": []any{},
	}
	if diff := cmp.Diff(want, r.object(t)); diff != "" {
		t.Errorf("UserAuthorization (-want +got):\n%s", diff)
	}
}

func TestSubjectAndBulkRemove(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[3] // Supervisor in Home and another division
	var body struct {
		ID     string
		Grants []struct {
			SubjectID string
			Division  struct {
				ID, Name     string
				HomeDivision bool
			}
			Role struct{ ID, Name string }
		}
	}
	r := do(t, ts, "GET", "/api/v2/authorization/subjects/"+u.ID, token, "")
	wantStatus(t, r, http.StatusOK)
	decode(t, r, &body)
	var supervisorDivs []string
	for _, g := range body.Grants {
		if g.SubjectID != u.ID {
			t.Errorf("grant subjectId %q", g.SubjectID)
		}
		if g.Role.Name == RoleSupervisor {
			supervisorDivs = append(supervisorDivs, g.Division.ID)
		}
	}
	if len(body.Grants) != len(u.Grants) || len(supervisorDivs) != 2 {
		t.Fatalf("grants = %+v, want %d with Supervisor in two divisions", body.Grants, len(u.Grants))
	}

	// Remove Supervisor from one division: SCIM still shows it; from both: gone.
	supervisor := u.Grants[slices.IndexFunc(u.Grants, func(g Grant) bool { return g.RoleName == RoleSupervisor })]
	remove := func(divisionID string) {
		t.Helper()
		r := do(t, ts, "POST", "/api/v2/authorization/subjects/"+u.ID+"/bulkremove", token,
			`{"grants":[{"roleId":"`+supervisor.RoleID+`","divisionId":"`+divisionID+`"}]}`, "Content-Type", "application/json")
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Fatalf("bulkremove: %d %q, want 204", r.status, r.body)
		}
	}
	scimRoles := func() []any { return do(t, ts, "GET", scimUsers+"/"+u.ID, token, "").object(t)["roles"].([]any) }
	remove(supervisorDivs[0])
	if roles := scimRoles(); !slices.ContainsFunc(roles, func(r any) bool { return r.(map[string]any)["value"] == RoleSupervisor }) {
		t.Errorf("SCIM roles %v lost Supervisor while it is still held in one division", roles)
	}
	remove(supervisorDivs[1])
	if diff := cmp.Diff([]any{map[string]any{"value": "employee"}}, scimRoles()); diff != "" {
		t.Errorf("SCIM roles after removing both grants (-want +got):\n%s", diff)
	}
	wantErrorBody(t, do(t, ts, "POST", "/api/v2/authorization/subjects/"+u.ID+"/bulkremove", token, `{}`), 400, "bad.request")
	wantErrorBody(t, do(t, ts, "POST", "/api/v2/authorization/subjects/unknown/bulkremove", token, `{"grants":[]}`), 404, "not.found")
}

func TestPlatformUser(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	users := seeded(t, ts)
	for _, tt := range []struct {
		u     User
		state string
	}{{users[0], "active"}, {users[1], "inactive"}} {
		m := do(t, ts, "GET", "/api/v2/users/"+tt.u.ID, token, "").object(t)
		if m["state"] != tt.state || m["version"] != float64(tt.u.Version) || m["username"] != tt.u.UserName {
			t.Errorf("user %s: %v", tt.state, m)
		}
	}
	wantStatus(t, do(t, ts, "GET", "/api/v2/users/"+users[0].ID+"?state=deleted", token, ""), http.StatusNotFound)
}

func TestBulkAdd(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 20})
	var u User
	for _, x := range seeded(t, ts) {
		if x.Active && !x.Deleted && len(x.Grants) > 0 {
			u = x
			break
		}
	}
	g := u.Grants[0]
	ref := fmt.Sprintf(`{"grants":[{"roleId":%q,"divisionId":%q}]}`, g.RoleID, g.DivisionID)
	wantStatus(t, do(t, ts, "POST", "/api/v2/authorization/subjects/"+u.ID+"/bulkremove", token, ref), 204)
	if got, _ := ts.User(u.ID); slices.Contains(got.Grants, g) {
		t.Fatal("grant not removed")
	}
	wantStatus(t, do(t, ts, "POST", "/api/v2/authorization/subjects/"+u.ID+"/bulkadd", token, ref), 204)
	wantStatus(t, do(t, ts, "POST", "/api/v2/authorization/subjects/"+u.ID+"/bulkadd", token, ref), 204) // held already: kept once
	got, _ := ts.User(u.ID)
	if n := len(slices.DeleteFunc(slices.Clone(got.Grants), func(x Grant) bool { return x != g })); n != 1 {
		t.Errorf("grant held %d times after bulkadd, want 1", n)
	}
	wantErrorBody(t, do(t, ts, "POST", "/api/v2/authorization/subjects/"+u.ID+"/bulkadd", token, `{"grants":[{"roleId":"nope","divisionId":"nope"}]}`), 400, "bad.request")
	wantErrorBody(t, do(t, ts, "POST", "/api/v2/authorization/subjects/"+u.ID+"/bulkadd", token, `{}`), 400, "bad.request")
	limited, _ := setup(t, Config{Users: 5, Clients: []Client{{ID: "sim-client", Secret: "s", Permissions: []string{"authorization:grant:delete"}}}})
	tok, err := limited.Token("sim-client")
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, do(t, limited, "POST", "/api/v2/authorization/subjects/"+seeded(t, limited)[0].ID+"/bulkadd", tok, ref), 403)
}

func TestUserQueues(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 30})
	var u User
	for _, x := range seeded(t, ts) {
		if !x.Deleted && len(ts.QueueNames(x.ID)) >= 2 {
			u = x
			break
		}
	}
	r := do(t, ts, "GET", "/api/v2/users/"+u.ID+"/queues", token, "")
	wantStatus(t, r, 200)
	var page struct {
		Entities []struct {
			ID, Name string
			Joined   bool
			Division struct{ ID, Name string }
		}
		PageSize, PageNumber, Total, PageCount int
	}
	if err := json.Unmarshal([]byte(r.body), &page); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range page.Entities {
		names = append(names, e.Name)
		if !e.Joined || e.Division.Name == "" || e.ID == "" {
			t.Errorf("entity %+v", e)
		}
	}
	if !slices.Equal(names, ts.QueueNames(u.ID)) || page.Total != len(names) || page.PageSize != 25 || page.PageNumber != 1 || page.PageCount != 1 {
		t.Errorf("page %+v, want the queues %v", page, ts.QueueNames(u.ID))
	}
	// Paging, joined=false, errors, permission.
	r = do(t, ts, "GET", "/api/v2/users/"+u.ID+"/queues?pageSize=1&pageNumber=2", token, "")
	if json.Unmarshal([]byte(r.body), &page); len(page.Entities) != 1 || page.Entities[0].Name != ts.QueueNames(u.ID)[1] || page.PageCount != len(names) {
		t.Errorf("page 2 of size 1: %+v", page)
	}
	r = do(t, ts, "GET", "/api/v2/users/"+u.ID+"/queues?joined=false", token, "")
	if json.Unmarshal([]byte(r.body), &page); page.Total != len(ts.Queues()) {
		t.Errorf("joined=false lists %d queues, want the org's %d", page.Total, len(ts.Queues()))
	}
	wantErrorBody(t, do(t, ts, "GET", "/api/v2/users/"+u.ID+"/queues?pageSize=0", token, ""), 400, "bad.request")
	wantErrorBody(t, do(t, ts, "GET", "/api/v2/users/00000000-0000-4000-8000-000000000000/queues", token, ""), 404, "not.found")
	limited, _ := setup(t, Config{Users: 5, Clients: []Client{{ID: "sim-client", Secret: "s", Permissions: []string{"directory:user:edit"}}}})
	tok, _ := limited.Token("sim-client")
	wantStatus(t, do(t, limited, "GET", "/api/v2/users/"+seeded(t, limited)[0].ID+"/queues", tok, ""), 403)
}
