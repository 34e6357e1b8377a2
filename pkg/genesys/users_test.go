package genesys

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUsersGet(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("/api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "GET")
		if got := r.URL.Query().Get("attributes"); got != userAttributes {
			t.Errorf("attributes = %q, want %q", got, userAttributes)
		}
		if r.PathValue("id") != testUserID {
			t.Errorf("id = %q", r.PathValue("id"))
		}
		w.Header().Set("ETag", `"42"`)
		fmt.Fprintf(w, `{"id":%q,"userName":"jane.doe@example.com","active":true,"externalId":"00u1","roles":[{"value":"Agent"},{"value":"employee"}],"emails":[{"value":"jane.doe@example.com","type":"work","primary":true}],"meta":{"resourceType":"User"}}`, testUserID)
	})
	u, resp, err := c.Users.Get(t.Context(), testUserID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := &User{ID: testUserID, UserName: "jane.doe@example.com", Active: true, ExternalID: "00u1",
		Roles:  []MultiValue{{Value: "Agent"}, {Value: "employee"}},
		Emails: []MultiValue{{Value: "jane.doe@example.com", Type: "work", Primary: true}},
		Meta:   Meta{ResourceType: "User", Version: "42"}}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	if resp.StatusCode != 200 || !slicesEqual(u.RoleNames(), []string{"Agent", "employee"}) {
		t.Errorf("status %d roles %v", resp.StatusCode, u.RoleNames())
	}
}

func slicesEqual(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestUsersGetInactiveHiddenFromReadByID(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("GET /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		fmt.Fprint(w, scim404)
	})
	b.mux.HandleFunc("GET /api/v2/scim/v2/users", func(w http.ResponseWriter, r *http.Request) {
		want := `id eq "` + testUserID + `" and active eq false`
		if got := r.URL.Query().Get("filter"); got != want {
			t.Errorf("filter = %q, want %q", got, want)
		}
		fmt.Fprintf(w, `{"totalResults":1,"Resources":[%s]}`, userJSON(false, "9"))
	})
	u, _, err := c.Users.Get(t.Context(), testUserID)
	if err != nil || u.Active || u.Meta.Version != "9" {
		t.Fatalf("Get = %+v, %v; want the inactive user", u, err)
	}
}

func TestUsersGetNotFound(t *testing.T) {
	t.Parallel()
	for _, listStatus := range []int{200, 400} {
		t.Run(fmt.Sprint(listStatus), func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			b.mux.HandleFunc("GET /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(404)
				fmt.Fprint(w, platform404)
			})
			b.mux.HandleFunc("GET /api/v2/scim/v2/users", func(w http.ResponseWriter, r *http.Request) {
				if listStatus == 400 { // a Genesys that refuses compound filters
					w.WriteHeader(400)
					fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter"}`)
					return
				}
				fmt.Fprint(w, `{"totalResults":0,"Resources":[]}`)
			})
			_, _, err := c.Users.Get(t.Context(), testUserID)
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestUsersFindEscapesAndFallsBackToInactive(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	ext := `x" or userName eq "admin@example.com`
	var filters []string
	var mu sync.Mutex
	b.mux.HandleFunc("GET /api/v2/scim/v2/users", func(w http.ResponseWriter, r *http.Request) {
		f := r.URL.Query().Get("filter")
		mu.Lock()
		filters = append(filters, f)
		mu.Unlock()
		if strings.HasSuffix(f, " and active eq false") {
			// The user found has the externalId asked for (the client checks that it does).
			u := strings.Replace(userJSON(false, "3"), `"active"`, fmt.Sprintf(`"externalId":%q,"active"`, ext), 1)
			fmt.Fprintf(w, `{"totalResults":1,"Resources":[%s]}`, u)
			return
		}
		fmt.Fprint(w, `{"totalResults":0,"Resources":[]}`)
	})
	u, _, err := c.Users.FindByExternalID(t.Context(), ext)
	if err != nil || u.Active {
		t.Fatalf("FindByExternalID = %+v, %v", u, err)
	}
	want := []string{
		`externalId eq "x\" or userName eq \"admin@example.com"`,
		`externalId eq "x\" or userName eq \"admin@example.com" and active eq false`,
	}
	if diff := cmp.Diff(want, filters); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
}

func TestUsersFindAmbiguousAndNotFound(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("GET /api/v2/scim/v2/users", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Query().Get("filter"), "twice@") {
			fmt.Fprintf(w, `{"totalResults":2,"Resources":[%s,%s]}`, userJSON(true, "1"), userJSON(true, "1"))
			return
		}
		fmt.Fprint(w, `{"totalResults":0,"Resources":[]}`)
	})
	if _, _, err := c.Users.FindByUserName(t.Context(), "twice@example.com"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("ambiguous: err = %v", err)
	}
	if _, _, err := c.Users.FindByUserName(t.Context(), "nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("not found: err = %v", err)
	}
	if _, _, err := c.Users.FindByUserName(t.Context(), "bad\xffutf8"); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("invalid UTF-8: err = %v", err)
	}
}

func TestUsersDeactivateSendsPatchOp(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("/api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "PATCH")
		if got := r.Header.Get("If-Match"); got != `"42"` {
			t.Errorf("If-Match = %q", got)
		}
		if got := r.Header.Get("Content-Type"); got != "application/scim+json" {
			t.Errorf("Content-Type = %q", got)
		}
		body, _ := io.ReadAll(r.Body)
		want := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`
		if string(body) != want {
			t.Errorf("body = %s\nwant %s", body, want)
		}
		w.Header().Set("ETag", `"43"`)
		fmt.Fprint(w, userJSON(false, "43"))
	})
	u, _, err := c.Users.Deactivate(t.Context(), testUserID, "42")
	if err != nil || u.Active || u.Meta.Version != "43" {
		t.Fatalf("Deactivate = %+v, %v", u, err)
	}
}

func TestUsersPatchMustConfirmState(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"still active":   userJSON(true, "43"),
		"no active":      fmt.Sprintf(`{"id":%q,"userName":"x"}`, testUserID),
		"not json":       `<html>ok</html>`,
		"empty resource": `{}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			b.mux.HandleFunc("PATCH /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) })
			if _, _, err := c.Users.Deactivate(t.Context(), testUserID, ""); !errors.Is(err, ErrUnexpectedResponse) {
				t.Errorf("err = %v, want ErrUnexpectedResponse", err)
			}
		})
	}
}

// conflictServer is a user whose first PATCH meets a version conflict in the
// given form, then succeeds.
func conflictServer(t *testing.T, b *testBundle, status int, body string) *[]string {
	var log []string
	var mu sync.Mutex
	record := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
	version := "2"
	b.mux.HandleFunc("GET /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		record("GET")
		fmt.Fprint(w, userJSON(true, version))
	})
	b.mux.HandleFunc("PATCH /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		record("PATCH " + r.Header.Get("If-Match"))
		if r.Header.Get("If-Match") != `"`+version+`"` {
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return
		}
		fmt.Fprint(w, userJSON(false, "3"))
	})
	return &log
}

func TestEnsureActiveRecoversEveryVersionConflictForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"400 invalidVers", 400, scim400Vers},
		{"409 SCIM", 409, scim409Vers},
		{"409 platform", 409, platform409},
		{"412", 412, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			log := conflictServer(t, b, tt.status, tt.body)
			stale := &User{ID: testUserID, Active: true, Meta: Meta{Version: "1"}}
			res, err := c.Users.EnsureActive(t.Context(), stale, false, 3)
			if err != nil {
				t.Fatalf("EnsureActive: %v", err)
			}
			if !res.Changed || res.User.Active || len(res.Responses) != 3 {
				t.Errorf("result = changed %t active %t responses %d", res.Changed, res.User.Active, len(res.Responses))
			}
			if diff := cmp.Diff([]string{`PATCH "1"`, "GET", `PATCH "2"`}, *log); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnsureActiveAlreadyInactiveSendsNothing(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	log := conflictServer(t, b, 400, scim400Vers)
	res, err := c.Users.EnsureActive(t.Context(), &User{ID: testUserID, Active: false}, false, 3)
	if err != nil || res.Changed || len(*log) != 0 {
		t.Errorf("EnsureActive = %+v, %v, calls %v; want no call", res, err, *log)
	}
}

func TestEnsureActiveGivesUpAfterMaxConflicts(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("GET /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, userJSON(true, "5")) })
	b.mux.HandleFunc("PATCH /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(412)
	})
	res, err := c.Users.EnsureActive(t.Context(), &User{ID: testUserID, Active: true, Meta: Meta{Version: "5"}}, false, 2)
	if !errors.Is(err, ErrVersionConflict) || len(res.Responses) != 5 {
		t.Errorf("err = %v, responses %d; want ErrVersionConflict after 3 PATCHes and 2 GETs", err, len(res.Responses))
	}
}

func TestEnsureActiveLostAnswerCountsAsChanged(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	active := true
	var mu sync.Mutex
	b.mux.HandleFunc("GET /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprint(w, userJSON(active, "2"))
	})
	patches := 0
	b.mux.HandleFunc("PATCH /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		patches++
		if patches == 1 { // applied, but the answer is lost
			active = false
			w.WriteHeader(502)
			return
		}
		w.WriteHeader(400)
		fmt.Fprint(w, scim400Vers)
	})
	res, err := c.Users.EnsureActive(t.Context(), &User{ID: testUserID, Active: true, Meta: Meta{Version: "1"}}, false, 3)
	if err != nil || !res.Changed || res.User.Active {
		t.Errorf("EnsureActive = changed %t active %t err %v; want changed (our lost PATCH applied)", res.Changed, res.User.Active, err)
	}
}

func TestRevokeAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status  int
		body    string
		wantErr error
	}{
		{204, ``, nil},
		{404, platform404, nil}, // no tokens, or so Genesys may say
		{403, forbidden403, ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			b.mux.HandleFunc("/api/v2/tokens/{id}", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, "DELETE")
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			resp, err := c.Tokens.RevokeAll(t.Context(), testUserID)
			if !errors.Is(err, tt.wantErr) || (err == nil && resp.StatusCode != tt.status) {
				t.Errorf("RevokeAll = %v, %v; want %v", resp, err, tt.wantErr)
			}
		})
	}
}

func TestRolesAndSubject(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("GET /api/v2/users/{id}/roles", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"roles":[{"id":"r1","name":"Master Admin"}],"unusedRoles":[],"permissions":["admin"]}`)
	})
	b.mux.HandleFunc("GET /api/v2/authorization/subjects/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":"u","name":"Jane","version":3,"grants":[
		 {"subjectId":"u","division":{"id":"d1","name":"Home","homeDivision":true},"role":{"id":"r1","name":"Master Admin"}},
		 {"subjectId":"u","division":{"id":"d2","name":"EU"},"role":{"id":"r1","name":"Master Admin"}}]}`)
	})
	var removed []byte
	b.mux.HandleFunc("POST /api/v2/authorization/subjects/{id}/bulkremove", func(w http.ResponseWriter, r *http.Request) {
		removed, _ = io.ReadAll(r.Body)
		w.WriteHeader(204)
	})
	roles, _, err := c.Users.Roles(t.Context(), testUserID)
	if err != nil || len(roles.Roles) != 1 || roles.Roles[0].Name != "Master Admin" {
		t.Fatalf("Roles = %+v, %v", roles, err)
	}
	sub, _, err := c.Authorization.Subject(t.Context(), testUserID)
	if err != nil || len(sub.Grants) != 2 || sub.Grants[1].Division.Name != "EU" || !sub.Grants[0].Division.HomeDivision {
		t.Fatalf("Subject = %+v, %v", sub, err)
	}
	if _, err := c.Authorization.RemoveGrants(t.Context(), testUserID, []GrantRef{{RoleID: "r1", DivisionID: "d2"}}); err != nil {
		t.Fatal(err)
	}
	var got map[string][]GrantRef
	if json.Unmarshal(removed, &got) != nil || got["grants"][0] != (GrantRef{"r1", "d2"}) {
		t.Errorf("bulkremove body = %s", removed)
	}
	var added []byte
	b.mux.HandleFunc("POST /api/v2/authorization/subjects/{id}/bulkadd", func(w http.ResponseWriter, r *http.Request) {
		added, _ = io.ReadAll(r.Body)
		w.WriteHeader(204)
	})
	if _, err := c.Authorization.AddGrants(t.Context(), testUserID, []GrantRef{{RoleID: "r1", DivisionID: "d2"}}); err != nil {
		t.Fatal(err)
	}
	if string(added) != `{"grants":[{"roleId":"r1","divisionId":"d2"}]}` {
		t.Errorf("bulkadd body = %s", added)
	}
	var patched []byte
	b.mux.HandleFunc("PATCH /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		patched, _ = io.ReadAll(r.Body)
		fmt.Fprint(w, userJSON(true, "4"))
	})
	if _, _, err := c.Users.AddRoles(t.Context(), testUserID, []string{"Agent"}); err != nil {
		t.Fatal(err)
	}
	if want := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"roles","value":[{"value":"Agent"}]}]}`; string(patched) != want {
		t.Errorf("AddRoles body = %s", patched)
	}
}

func TestUserIDsAreChecked(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var calls int
	b.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { calls++ })
	for _, id := range []string{"", "..", "../tokens/me", "%2e%2e", testUserID + "/roles", "6f0b1c7e/1f7a-4c1e-9b43-2a7d2f0c9a11", "6f0b1c7e-1f7a-4c1e-9b43-2a7d2f0c9a1g", "6f0b1c7e-1f7a-4c1e-9b43-2a7d2f0c9a11?x=1"} {
		if _, _, err := c.Users.Get(t.Context(), id); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Get(%q) = %v, want ErrInvalidArgument", id, err)
		}
		if _, err := c.Tokens.RevokeAll(t.Context(), id); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("RevokeAll(%q) = %v", id, err)
		}
		if _, _, err := c.Users.Deactivate(t.Context(), id, "1"); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Deactivate(%q) = %v", id, err)
		}
	}
	if calls != 0 {
		t.Errorf("%d requests sent for invalid ids", calls)
	}
}

// A body sent in chunks (as a proxy or Genesys may send it) ends with a
// zero-length chunk that JSON decoding does not wait for when it comes
// late: unless the client reads the body to its end, the transport closes the connection instead of
// reusing it, and every call pays for a new connection (a TLS handshake,
// against Genesys).
func TestChunkedResponsesReuseTheConnection(t *testing.T) {
	t.Parallel()
	tr := NewTransport(MaxIdleConnsPerHost)
	dials := countDials(tr)
	c, b := setup(t, WithHTTPClient(&http.Client{Transport: tr}))
	b.mux.HandleFunc("GET /api/v2/scim/v2/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		body := userJSON(true, "3")
		io.WriteString(w, body[:10])
		w.(http.Flusher).Flush() // no Content-Length: chunked from here
		io.WriteString(w, body[10:]+"\n")
		w.(http.Flusher).Flush()
		time.Sleep(5 * time.Millisecond) // not a wait: what is tested, a closing chunk that comes after the JSON value is complete
	})
	const calls = 5
	for range calls {
		if _, _, err := c.Users.Get(t.Context(), testUserID); err != nil {
			t.Fatal(err)
		}
	}
	// The token request and the calls share one connection.
	if n := dials.Load(); n != 1 {
		t.Errorf("%d calls with chunked answers opened %d connections, want 1", calls, n)
	}
}
