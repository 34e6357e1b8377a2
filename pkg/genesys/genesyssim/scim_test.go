package genesyssim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGetUserShape(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[0]
	r := do(t, ts, "GET", scimUsers+"/"+u.ID, token, "")
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/scim+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if got, want := r.header.Get("ETag"), `"`+strconv.Itoa(u.Version)+`"`; got != want {
		t.Errorf("ETag = %s, want %s", got, want)
	}
	want := map[string]any{
		"schemas":     []any{schemaUser, schemaEnterprise, schemaGenesys},
		"id":          u.ID,
		"active":      true,
		"userName":    u.UserName,
		"displayName": u.DisplayName,
		"title":       "Administrator",
		"externalId":  u.ExternalID,
		"emails":      []any{map[string]any{"value": u.UserName, "type": "work", "primary": true}},
		"roles":       []any{map[string]any{"value": "Master Admin"}, map[string]any{"value": "employee"}},
		schemaEnterprise: map[string]any{"division": u.Division, "department": u.Department,
			"employeeNumber": u.EmployeeNumber},
		schemaGenesys: map[string]any{"externalIds": []any{
			map[string]any{"authority": "x-pc:scimv2:v1", "value": u.ExternalID}}},
		"meta": map[string]any{"resourceType": "User", "version": strconv.Itoa(u.Version),
			"lastModified": u.LastModified.Format("2006-01-02T15:04:05.000Z"),
			"location":     ts.URL + scimUsers + "/" + u.ID},
	}
	if diff := cmp.Diff(want, r.object(t)); diff != "" {
		t.Errorf("ScimV2User (-want +got):\n%s", diff)
	}
	// The older tree serves the same resource, with its own location.
	old := do(t, ts, "GET", "/api/v2/scim/users/"+u.ID, token, "").object(t)
	if loc := old["meta"].(map[string]any)["location"]; loc != ts.URL+"/api/v2/scim/users/"+u.ID {
		t.Errorf("old tree location = %v", loc)
	}
}

func TestGetUserIfNoneMatch(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	u := ts.Users()[0]
	v := strconv.Itoa(u.Version)
	for _, inm := range []string{`"` + v + `"`, `W/"` + v + `"`, v, `"999", "` + v + `"`, "*"} {
		r := do(t, ts, "GET", scimUsers+"/"+u.ID, token, "", "If-None-Match", inm)
		if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != `"`+v+`"` {
			t.Errorf("If-None-Match %s: status %d, ETag %q, body %q; want 304, empty", inm, r.status, r.header.Get("ETag"), r.body)
		}
	}
	wantStatus(t, do(t, ts, "GET", scimUsers+"/"+u.ID, token, "", "If-None-Match", `"999"`), http.StatusOK)
}

func TestWeakETagSwitch(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1, WeakETag: true})
	u := ts.Users()[0]
	if got, want := do(t, ts, "GET", scimUsers+"/"+u.ID, token, "").header.Get("ETag"), `W/"`+strconv.Itoa(u.Version)+`"`; got != want {
		t.Errorf("ETag = %s, want %s", got, want)
	}
}

func TestAttributes(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	id := ts.Users()[0].ID
	keys := func(query string) []string {
		m := do(t, ts, "GET", scimUsers+"/"+id+"?"+query, token, "").object(t)
		var ks []string
		for k, v := range m {
			if ext, ok := v.(map[string]any); ok && k != "meta" {
				for sub := range ext {
					ks = append(ks, k+":"+sub)
				}
				continue
			}
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	always := []string{"active", "id", "meta", "schemas", "userName"}
	tests := []struct {
		query string
		want  []string
	}{
		{"attributes=displayName", append([]string{"displayName"}, always...)},
		{"attributes=ROLES,emails.value", append([]string{"emails", "roles"}, always...)},
		{"attributes=" + url.QueryEscape(schemaEnterprise+":division"), append([]string{schemaEnterprise + ":division"}, always...)},
		{"attributes=id", always},
		{"excludedAttributes=roles,externalId,id,emails," + url.QueryEscape(schemaGenesys) + "," + url.QueryEscape(schemaEnterprise+":department"),
			[]string{"active", "displayName", "id", "meta", "schemas", "title",
				schemaEnterprise + ":division", schemaEnterprise + ":employeeNumber", "userName"}},
	}
	for _, tt := range tests {
		got := keys(tt.query)
		slices.Sort(tt.want)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.query, diff)
		}
	}
}

func TestGetInactiveUserSwitch(t *testing.T) {
	t.Parallel()
	for _, hide := range []bool{false, true} {
		ts, token := setup(t, Config{Users: 4, HideInactiveByID: hide})
		inactive := seeded(t, ts)[1]
		r := do(t, ts, "GET", scimUsers+"/"+inactive.ID, token, "")
		if hide {
			wantSCIMError(t, r, http.StatusNotFound, "")
			continue
		}
		wantStatus(t, r, http.StatusOK)
		if r.object(t)["active"] != false {
			t.Errorf("inactive user: active = %v", r.object(t)["active"])
		}
	}
}

func TestNotFoundBodySwitch(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	m := wantSCIMError(t, do(t, ts, "GET", scimUsers+"/unknown", token, ""), http.StatusNotFound, "")
	if m["detail"] == "" {
		t.Error("ScimError 404 has no detail")
	}
	ts, token = setup(t, Config{Users: 1, NotFoundBody: ErrorShapePlatform})
	wantErrorBody(t, do(t, ts, "GET", scimUsers+"/unknown", token, ""), http.StatusNotFound, "not.found")
	// Platform paths always answer with ErrorBody.
	wantErrorBody(t, do(t, ts, "GET", "/api/v2/users/unknown/roles", token, ""), http.StatusNotFound, "not.found")
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	for _, status := range []int{204, 200} {
		ts, token := setup(t, Config{Users: 4, ScimDeleteStatus: status})
		u := seeded(t, ts)[0]
		r := do(t, ts, "DELETE", scimUsers+"/"+u.ID, token, "")
		if r.status != status || len(r.body) != 0 {
			t.Fatalf("DELETE: status %d body %q, want %d empty", r.status, r.body, status)
		}
		got, _ := ts.User(u.ID)
		if !got.Deleted || got.Active || len(got.Grants) != 0 || got.Version != u.Version+1 {
			t.Errorf("after delete: %+v", got)
		}
		wantStatus(t, do(t, ts, "GET", scimUsers+"/"+u.ID, token, ""), http.StatusNotFound)
		wantStatus(t, do(t, ts, "DELETE", scimUsers+"/"+u.ID, token, ""), http.StatusNotFound)
		f := url.QueryEscape(`id eq "` + u.ID + `"`)
		if n := listTotal(t, ts, token, "filter="+f); n != 0 {
			t.Errorf("deleted user listed: totalResults %d", n)
		}
		wantStatus(t, do(t, ts, "GET", "/api/v2/users/"+u.ID+"?state=deleted", token, ""), http.StatusOK)
	}
}

func TestDeleteUserIfMatch(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	u := ts.Users()[0]
	wantSCIMError(t, do(t, ts, "DELETE", scimUsers+"/"+u.ID, token, "", "If-Match", `"1000"`), 400, "invalidVers")
	wantStatus(t, do(t, ts, "DELETE", scimUsers+"/"+u.ID, token, "", "If-Match", strconv.Itoa(u.Version)), 204)
}

func TestServiceProviderConfig(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	m := do(t, ts, "GET", "/api/v2/scim/v2/serviceproviderconfig", token, "").object(t)
	if bulk := m["bulk"].(map[string]any); bulk["supported"] != false {
		t.Errorf("bulk = %v, want unsupported (no Bulk endpoint exists)", bulk)
	}
}

func listTotal(t *testing.T, ts *TestServer, token, query string) int {
	t.Helper()
	r := do(t, ts, "GET", scimUsers+"?"+query, token, "")
	wantStatus(t, r, http.StatusOK)
	var body struct{ TotalResults int }
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	return body.TotalResults
}

func TestDeletePlatformUser(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[0]
	r := do(t, ts, "DELETE", "/api/v2/users/"+u.ID, token, "")
	if r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("DELETE: status %d body %q, want 200 empty", r.status, r.body)
	}
	if !ts.Deleted(u.ID) || ts.Deleted(seeded(t, ts)[1].ID) {
		t.Errorf("Deleted = %t for the deleted user, %t for the other", ts.Deleted(u.ID), ts.Deleted(seeded(t, ts)[1].ID))
	}
	wantStatus(t, do(t, ts, "GET", scimUsers+"/"+u.ID, token, ""), http.StatusNotFound)
	wantStatus(t, do(t, ts, "GET", "/api/v2/users/"+u.ID, token, ""), http.StatusNotFound)
	wantStatus(t, do(t, ts, "GET", "/api/v2/users/"+u.ID+"?state=deleted", token, ""), http.StatusOK)
	wantStatus(t, do(t, ts, "DELETE", "/api/v2/users/"+u.ID, token, ""), http.StatusNotFound)
	if n := listTotal(t, ts, token, "filter="+url.QueryEscape(`id eq "`+u.ID+`" and active eq false`)); n != 0 {
		t.Errorf("deleted user listed among the inactive: totalResults %d", n)
	}
}
