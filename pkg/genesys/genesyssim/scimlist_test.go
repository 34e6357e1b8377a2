package genesyssim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type listBody struct {
	Schemas      []string         `json:"schemas"`
	TotalResults int              `json:"totalResults"`
	StartIndex   int              `json:"startIndex"`
	ItemsPerPage int              `json:"itemsPerPage"`
	Resources    []map[string]any `json:"Resources"`
}

func list(t *testing.T, ts *TestServer, token, query string) (listBody, map[string]json.RawMessage) {
	t.Helper()
	r := do(t, ts, "GET", scimUsers+"?"+query, token, "")
	wantStatus(t, r, http.StatusOK)
	var b listBody
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(r.body, &raw)
	return b, raw
}

func ids(b listBody) []string {
	var out []string
	for _, r := range b.Resources {
		out = append(out, r["id"].(string))
	}
	return out
}

// activeIDs returns the ids of the live users with the given active flag, in org order.
func activeIDs(ts *TestServer, active bool) []string {
	var out []string
	for _, u := range ts.Users() {
		if !u.Deleted && u.Active == active {
			out = append(out, u.ID)
		}
	}
	return out
}

func TestListShapeAndPaging(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 60})
	active := activeIDs(ts, true)

	b, raw := list(t, ts, token, "")
	if _, ok := raw["Resources"]; !ok {
		t.Errorf("list body has no \"Resources\" (capital R): %v", raw)
	}
	if diff := cmp.Diff([]string{schemaListResponse}, b.Schemas); diff != "" {
		t.Error(diff)
	}
	if b.TotalResults != len(active) || b.StartIndex != 1 || b.ItemsPerPage != 25 {
		t.Errorf("total/start/items = %d/%d/%d, want %d/1/25", b.TotalResults, b.StartIndex, b.ItemsPerPage, len(active))
	}
	if diff := cmp.Diff(active[:25], ids(b)); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}

	b, _ = list(t, ts, token, "startIndex=26&count=10")
	if diff := cmp.Diff(active[25:35], ids(b)); diff != "" || b.StartIndex != 26 || b.ItemsPerPage != 10 {
		t.Errorf("page at 26: start %d items %d (-want +got):\n%s", b.StartIndex, b.ItemsPerPage, diff)
	}
	b, _ = list(t, ts, token, "startIndex=50&count=25")
	if diff := cmp.Diff(active[49:], ids(b)); diff != "" {
		t.Errorf("last page (-want +got):\n%s", diff)
	}

	b, raw = list(t, ts, token, "count=0")
	if _, ok := raw["Resources"]; ok || b.TotalResults != len(active) || b.ItemsPerPage != 0 {
		t.Errorf("count=0: total %d items %d Resources present %v; want only totalResults", b.TotalResults, b.ItemsPerPage, ok)
	}
	wantSCIMError(t, do(t, ts, "GET", scimUsers+"?count=ten", token, ""), 400, "invalidValue")
}

func TestListInactiveFiltering(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 40})
	active, inactive := activeIDs(ts, true), activeIDs(ts, false)
	if len(inactive) == 0 {
		t.Fatal("seeded org has no inactive users")
	}
	q := func(f string) string { return "count=100&filter=" + url.QueryEscape(f) }
	tests := []struct {
		query string
		want  []string
	}{
		{"count=100", active}, // "If nothing is specified, returns all active users."
		{q("active eq false"), inactive},
		{q("active eq true"), active},
		{q(`userName eq "` + ts.Users()[1].UserName + `"`), nil}, // users[1] is inactive: hidden by default
		{q(`userName eq "` + ts.Users()[1].UserName + `" and active eq false`), inactive[:1]},
	}
	for _, tt := range tests {
		b, _ := list(t, ts, token, tt.query)
		if diff := cmp.Diff(tt.want, ids(b)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.query, diff)
		}
	}
	// The switch: filters that do not mention active see inactive users too.
	ts2, token2 := setup(t, Config{Users: 40, FilterIncludesInactive: true})
	b, _ := list(t, ts2, token2, q(`userName eq "`+ts2.Users()[1].UserName+`"`))
	if diff := cmp.Diff([]string{ts2.Users()[1].ID}, ids(b)); diff != "" {
		t.Errorf("FilterIncludesInactive (-want +got):\n%s", diff)
	}
	b, _ = list(t, ts2, token2, "count=100")
	if len(b.Resources) != len(active) {
		t.Errorf("FilterIncludesInactive must not change unfiltered lists: %d users", len(b.Resources))
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 10})
	u := ts.Users()[0] // active Master Admin
	tests := []string{
		`id eq "` + u.ID + `"`,
		`id eq ` + u.ID,
		`userName eq "` + u.UserName + `"`,
		`USERNAME EQ "` + u.UserName + `"`,
		`userName eq ` + u.UserName,
		`externalId eq "` + u.ExternalID + `"`,
		`email eq "` + u.UserName + `"`,
		`emails[value eq "` + u.UserName + `"]`,
		`employeeNumber eq ` + u.EmployeeNumber,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "` + u.EmployeeNumber + `"`,
		`urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds[authority eq "x-pc:scimv2:v1" and value eq "` + u.ExternalID + `"]`,
		`(id eq "` + u.ID + `") and active eq true`,
		`roles[value eq "Master Admin"] and id eq "` + u.ID + `"`,
	}
	for _, f := range tests {
		b, _ := list(t, ts, token, "filter="+url.QueryEscape(f))
		if diff := cmp.Diff([]string{u.ID}, ids(b)); diff != "" {
			t.Errorf("filter %s (-want +got):\n%s", f, diff)
		}
	}
	var home int
	for _, x := range ts.Users() {
		if x.Active && x.Division == "Home" {
			home++
		}
	}
	if got := listTotal(t, ts, token, "filter="+url.QueryEscape("division eq Home")); got != home {
		t.Errorf("division eq Home: %d users, want %d", got, home)
	}
	for _, bad := range []string{`userName co "a"`, `userName eq "a" or id eq "b"`, `nosuch eq 1`, `userName eq "unterminated`, `(userName eq "a"`} {
		wantSCIMError(t, do(t, ts, "GET", scimUsers+"?filter="+url.QueryEscape(bad), token, ""), 400, "invalidFilter")
	}
}

func TestListFilterEscapedValue(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	odd := `o"brien\ \u00e9+tag@example.com`
	added, err := ts.AddUser(User{UserName: odd, ExternalID: `ext "quoted" \ back`, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{
		`userName eq ` + quote(odd),
		`externalId eq ` + quote(added.ExternalID),
		`userName eq "o\"brien\\ \\u00e9\u002btag@example.com"`, // JSON escapes, including \u
	} {
		b, _ := list(t, ts, token, "filter="+url.QueryEscape(f))
		if diff := cmp.Diff([]string{added.ID}, ids(b)); diff != "" {
			t.Errorf("filter %s (-want +got):\n%s", f, diff)
		}
	}
}
