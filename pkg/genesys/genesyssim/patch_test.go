package genesyssim

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func patchBody(ops string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
}

func TestDeactivate(t *testing.T) {
	t.Parallel()
	clock := newClock()
	ts, token := setup(t, Config{Users: 4, Now: clock.Now})
	u := seeded(t, ts)[0]
	r := do(t, ts, "PATCH", scimUsers+"/"+u.ID, token, deactivate, "If-Match", `"`+strconv.Itoa(u.Version)+`"`)
	wantStatus(t, r, http.StatusOK)
	m := r.object(t)
	want := strconv.Itoa(u.Version + 1)
	if m["active"] != false || m["userName"] != u.UserName || m["roles"] == nil || m["meta"].(map[string]any)["version"] != want {
		t.Errorf("200 body is not the full updated resource: %v", m)
	}
	if r.header.Get("ETag") != `"`+want+`"` {
		t.Errorf("ETag = %s, want %q", r.header.Get("ETag"), want)
	}
	got, _ := ts.User(u.ID)
	if got.Active || got.Version != u.Version+1 || !got.LastModified.Equal(clock.Now()) {
		t.Errorf("state after deactivation: %+v", got)
	}
	if diff := cmp.Diff(u.Grants, got.Grants); diff != "" || got.Tokens != u.Tokens {
		t.Errorf("deactivation must keep roles and tokens by default (-want +got):\n%s tokens %d", diff, got.Tokens)
	}
	// Deactivating an inactive user changes nothing, so the version stays.
	r = do(t, ts, "PATCH", scimUsers+"/"+u.ID, token, deactivate)
	if m := r.object(t); m["meta"].(map[string]any)["version"] != want {
		t.Errorf("no-op PATCH moved the version to %v", m["meta"])
	}
}

func TestIfMatchForms(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	users := seeded(t, ts)
	for i, form := range []string{`"%d"`, `W/"%d"`, `%d`} {
		u := users[[]int{0, 2, 3}[i]] // the active archetypes
		im := strings.Replace(form, "%d", strconv.Itoa(u.Version), 1)
		wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+u.ID, token, deactivate, "If-Match", im), http.StatusOK)
	}
}

func TestVersionConflictSwitch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		style    VersionConflict
		status   int
		scimType string
		detail   string
	}{
		{"", 400, "invalidVers", "The version in the If-Match header does not match the current version of the resource."},
		{VersionConflict409, 409, "", "Version does not match current version."},
		{VersionConflict412, 412, "", "Version does not match current version."},
	}
	for _, tt := range tests {
		ts, token := setup(t, Config{Users: 1, VersionConflict: tt.style})
		u := ts.Users()[0]
		r := do(t, ts, "PATCH", scimUsers+"/"+u.ID, token, deactivate, "If-Match", `"`+strconv.Itoa(u.Version-1)+`"`)
		if m := wantSCIMError(t, r, tt.status, tt.scimType); m["detail"] != tt.detail {
			t.Errorf("%q: detail %v", tt.style, m["detail"])
		}
		if got, _ := ts.User(u.ID); got.Version != u.Version || got.Active != u.Active {
			t.Errorf("%q: a refused PATCH changed the user", tt.style)
		}
	}
}

func TestDeactivationRolesAndTokensSwitches(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4, RemoveRolesOnDeactivate: true, RevokeTokensOnDeactivate: true})
	u := seeded(t, ts)[0]
	r := do(t, ts, "PATCH", scimUsers+"/"+u.ID, token, deactivate)
	wantStatus(t, r, http.StatusOK)
	if roles := r.object(t)["roles"]; len(roles.([]any)) != 0 {
		t.Errorf("roles after deactivation = %v, want none", roles)
	}
	if got, _ := ts.User(u.ID); len(got.Grants) != 0 || got.Tokens != 0 {
		t.Errorf("grants %v tokens %d, want none", got.Grants, got.Tokens)
	}
}

func TestLenientPatchSwitch(t *testing.T) {
	t.Parallel()
	entraForms := []string{
		patchBody(`{"op":"Replace","path":"active","value":false}`),
		patchBody(`{"op":"replace","path":"active","value":"False"}`),
		patchBody(`{"op":"replace","value":{"active":false}}`),
	}
	for _, strict := range []bool{false, true} {
		ts, token := setup(t, Config{Users: 12, StrictPatch: strict})
		var active []User
		for _, u := range ts.Users() {
			if u.Active {
				active = append(active, u)
			}
		}
		for i, body := range entraForms {
			r := do(t, ts, "PATCH", scimUsers+"/"+active[i].ID, token, body)
			if strict {
				wantStatus(t, r, http.StatusBadRequest)
				continue
			}
			wantStatus(t, r, http.StatusOK)
			if r.object(t)["active"] != false {
				t.Errorf("lenient form %d did not deactivate", i)
			}
		}
	}
}

func TestPatchBodyErrors(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1, MaxBodyBytes: 1000})
	path := scimUsers + "/" + ts.Users()[0].ID
	tests := []struct {
		name, body string
		scimType   string
	}{
		{"lower-case operations", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"op":"replace","path":"active","value":false}]}`, "invalidSyntax"},
		{"no schemas", `{"Operations":[{"op":"replace","path":"active","value":false}]}`, "invalidSyntax"},
		{"not JSON", `nope`, "invalidSyntax"},
		{"empty Operations", patchBody(``), "invalidSyntax"},
		{"unknown op", patchBody(`{"op":"move","path":"active","value":false}`), "invalidSyntax"},
		{"remove without path", patchBody(`{"op":"remove"}`), "noTarget"},
		{"unknown path", patchBody(`{"op":"replace","path":"nickName","value":"x"}`), "invalidPath"},
		{"active not boolean", patchBody(`{"op":"replace","path":"active","value":"nope"}`), "invalidValue"},
		{"unknown role", patchBody(`{"op":"add","path":"roles","value":[{"value":"Wizard"}]}`), "invalidValue"},
	}
	for _, tt := range tests {
		wantSCIMError(t, do(t, ts, "PATCH", path, token, tt.body), http.StatusBadRequest, tt.scimType)
	}
	wantErrorBody(t, do(t, ts, "PATCH", path, token, deactivate, "Content-Type", "text/plain"), 415, "unsupported.media.type")
	big := patchBody(`{"op":"replace","path":"displayName","value":"` + strings.Repeat("x", 1000) + `"}`)
	wantErrorBody(t, do(t, ts, "PATCH", path, token, big), 413, "request.entity.too.large")
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/unknown", token, deactivate), http.StatusNotFound)
}

func TestPatchRoles(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[3] // Supervisor in Home and another division, plus employee
	path := scimUsers + "/" + u.ID
	roles := func(body string) []string {
		t.Helper()
		r := do(t, ts, "PATCH", path, token, patchBody(body))
		wantStatus(t, r, http.StatusOK)
		var out []string
		for _, x := range r.object(t)["roles"].([]any) {
			out = append(out, x.(map[string]any)["value"].(string))
		}
		return out
	}
	steps := []struct {
		ops  string
		want []string
	}{
		{`{"op":"add","path":"roles","value":[{"value":"Agent"}]}`, []string{"Agent", "Supervisor", "employee"}},
		{`{"op":"remove","path":"roles[value eq \"Supervisor\"]"}`, []string{"Agent", "employee"}},
		{`{"op":"replace","path":"roles","value":[{"value":"Admin"},{"value":"employee"}]}`, []string{"Admin", "employee"}},
		{`{"op":"remove","path":"roles","value":[{"value":"Admin"}]}`, []string{"employee"}},
		{`{"op":"remove","path":"roles"}`, nil},
	}
	for i, s := range steps {
		if diff := cmp.Diff(s.want, roles(s.ops)); diff != "" {
			t.Errorf("step %d %s (-want +got):\n%s", i, s.ops, diff)
		}
	}
	// Removing Supervisor removed it from both divisions.
	if got, _ := ts.User(u.ID); len(got.Grants) != 0 {
		t.Errorf("grants left: %v", got.Grants)
	}
}

func TestPatchOtherAttributes(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	u := ts.Users()[0]
	r := do(t, ts, "PATCH", scimUsers+"/"+u.ID, token, patchBody(
		`{"op":"replace","path":"displayName","value":"New Name"},{"op":"remove","path":"title"},{"op":"add","path":"externalId","value":"e-1"}`))
	wantStatus(t, r, http.StatusOK)
	got, _ := ts.User(u.ID)
	if got.DisplayName != "New Name" || got.Title != "" || got.ExternalID != "e-1" || got.Version != u.Version+1 {
		t.Errorf("after PATCH: %+v (one version step for the whole PATCH)", got)
	}
}
