package genesyssim

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestParseFilter(t *testing.T) {
	t.Parallel()
	eq := func(attr, value string) eqNode { return eqNode{attr: attr, value: value} }
	tests := []struct {
		in   string
		want filterNode
	}{
		{`userName eq "a@b.org"`, eq("username", "a@b.org")},
		{`userName eq a@b.org`, eq("username", "a@b.org")},
		{`UserName EQ "x"`, eq("username", "x")},
		{`active eq False`, eq("active", "false")},
		{`active eq "false"`, eq("active", "false")},
		{`manager eq null`, eqNode{attr: "manager", null: true}},
		{`externalId eq "a\"b\\c\u00e9"`, eq("externalid", "a\"b\\cé")},
		{`emails.value eq "x"`, eq("email", "x")},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division eq Home`, eq("division", "Home")},
		{`id eq "1" and active eq false`, andNode{eq("id", "1"), eq("active", "false")}},
		{`(id eq "1") AND (active eq true)`, andNode{eq("id", "1"), eq("active", "true")}},
		{`emails[type eq "work" and value eq "x"]`, valuePathNode{attr: "emails", sub: andNode{eq("type", "work"), eq("value", "x")}}},
		{`roles[value eq "Master Admin"]`, valuePathNode{attr: "roles", sub: eq("value", "Master Admin")}},
	}
	for _, tt := range tests {
		got, err := parseFilter(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(eqNode{}, valuePathNode{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		``, `userName`, `userName eq`, `userName co "a"`, `userName pr`, `userName eq "a" or id eq "b"`,
		`not (id eq "1")`, `nickName eq "x"`, `userName eq "a`, `userName eq "\q"`, `userName eq "a" id`,
		`(id eq "1"`, `id eq "1")`, `emails[value eq "x"`, `emails[nope eq "x"]`, `userName[value eq "x"]`,
		`emails[roles[value eq "x"]]`, `id ne "1"`, `id eq "1" and`, `] eq 1`,
	} {
		_, err := parseFilter(in)
		if _, ok := errors.AsType[*filterError](err); !ok {
			t.Errorf("%q: err = %v, want a filterError", in, err)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	t.Parallel()
	u := &User{ID: "id-1", UserName: "Jane.Doe@Example.com", ExternalID: "X1", Active: false, Division: "Sales",
		Grants: []Grant{{RoleName: "Agent"}, {RoleName: "Agent"}, {RoleName: "employee"}}}
	tests := map[string]bool{
		`userName eq "jane.doe@example.com"`:    true,  // userName is case-insensitive
		`externalId eq "x1"`:                    false, // externalId is case-exact
		`externalId eq "X1"`:                    true,
		`active eq false and division eq Sales`: true,
		`active eq true`:                        false,
		`roles eq Agent`:                        true,
		`roles[value eq "employee"]`:            true,
		`externalIds[authority eq "x-pc:scimv2:v1" and value eq X1]`: true,
		`externalIds[authority eq "other" and value eq X1]`:          false,
		`manager eq null`: true,
		`title eq null`:   true,
	}
	for in, want := range tests {
		f, err := parseFilter(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := f.match(userRecord{u}); got != want {
			t.Errorf("%s: match = %v, want %v", in, got, want)
		}
	}
}

// FuzzParseFilter: no input panics the parser or the matcher, and any string quoted as JSON
// (the escaping a client must do) parses back to exactly that string.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "a@b.org"`, `id eq 1 and active eq false`, `emails[value eq "x"]`,
		`externalId eq "a\"b\\c"`, `(((id eq "1")))`, `userName eq "\u00e9\ud83d\ude00"`, `"`, `[`, `a eq "\`,
		`urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds[authority eq "x" and value eq "y"]`,
	} {
		f.Add(s)
	}
	u := &User{ID: "1", UserName: "a@b.org", ExternalID: "y", Active: true, Grants: []Grant{{RoleName: "Agent"}}}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseFilter(s); err == nil {
			n.match(userRecord{u})
			n.mentions("active")
		}
		quoted, _ := json.Marshal(s)
		n, err := parseFilter("externalId eq " + string(quoted))
		if err != nil {
			t.Fatalf("quoted value %s: %v", quoted, err)
		}
		want := s
		if !utf8.ValidString(s) {
			_ = json.Unmarshal(quoted, &want) // json.Marshal replaced invalid bytes with U+FFFD
		}
		if got := n.(eqNode).value; got != want {
			t.Fatalf("value %q, want %q", got, want)
		}
	})
}
