package genesys

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// oauthClientJSON is a client as GET /api/v2/oauth/clients/{id} returns it,
// with fields this client does not model (the secret among them) and one
// the SDK does not know yet.
func oauthClientJSON(id, state string) string {
	return `{"id":"` + id + `","name":"Jane's CRM sync","accessTokenValiditySeconds":86400,"description":"nightly export",
	"registeredRedirectUri":[],"secret":"s3cr3t-v4lue","roleIds":["r1"],"dateCreated":"2025-01-01T00:00:00.000Z",
	"dateModified":"2025-06-01T00:00:00.000Z","createdBy":{"id":"` + testUserID + `","selfUri":"/api/v2/users/` + testUserID + `"},
	"modifiedBy":{"id":"` + testOtherUser + `"},"authorizedGrantType":"CLIENT-CREDENTIALS","scope":[],
	"roleDivisions":[{"roleId":"r1","divisionId":"d1"}],"state":"` + state + `","dateToDelete":null,
	"futureField":{"nested":[1,2,{"x":true}]},"selfUri":"/api/v2/oauth/clients/` + id + `"}`
}

// SetState puts back every field the GET gave, unknown ones included,
// with only "state" changed.
func TestOAuthClientSetStateKeepsEveryField(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var mu sync.Mutex
	var order []string
	var put string
	b.mux.HandleFunc("/api/v2/oauth/clients/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, r.Method)
		if r.PathValue("id") != testClientID2 {
			t.Errorf("path id = %q", r.PathValue("id"))
		}
		switch r.Method {
		case "GET":
			fmt.Fprint(w, oauthClientJSON(testClientID2, "Active"))
		case "PUT":
			body, _ := io.ReadAll(r.Body)
			put = string(body)
			fmt.Fprint(w, oauthClientJSON(testClientID2, "Disabled"))
		}
	})
	cl, resp, err := c.OAuthClients.SetState(t.Context(), testClientID2, OAuthClientDisabled)
	if err != nil {
		t.Fatalf("SetState: %v", err)
	}
	if cl.ID != testClientID2 || cl.State != OAuthClientDisabled || cl.CreatedBy.ID != testUserID || cl.AuthorizedGrantType != "CLIENT-CREDENTIALS" || resp.Request.Method != "PUT" {
		t.Errorf("SetState = %+v (response to %s)", cl, resp.Request.Method)
	}
	if fmt.Sprint(order) != "[GET PUT]" {
		t.Errorf("requests %v, want [GET PUT]", order)
	}
	if !jsonEqual(t, put, oauthClientJSON(testClientID2, "Disabled")) {
		t.Errorf("PUT body = %s\nwant the GET body with state Disabled", put)
	}
}

// An answer naming another client (or none) stops SetState before the PUT;
// a refused PUT is the typed error; no error carries the client's secret.
func TestOAuthClientSetStateFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		get       string
		putStatus int
		want      error
		wantPut   bool
	}{
		{"another client", oauthClientJSON(testOtherUser, "Active"), 200, ErrUnexpectedResponse, false},
		{"no id", `{"name":"x","secret":"s3cr3t-v4lue"}`, 200, ErrUnexpectedResponse, false},
		{"PUT refused", oauthClientJSON(testClientID2, "Active"), 403, ErrForbidden, true},
		{"PUT conflict", oauthClientJSON(testClientID2, "Active"), 409, ErrConflict, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t)
			var mu sync.Mutex
			puts := 0
			b.mux.HandleFunc("GET /api/v2/oauth/clients/{id}", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, tt.get)
			})
			b.mux.HandleFunc("PUT /api/v2/oauth/clients/{id}", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				puts++
				mu.Unlock()
				w.WriteHeader(tt.putStatus)
				fmt.Fprint(w, `{"message":"refused","code":"x","status":`+fmt.Sprint(tt.putStatus)+`}`)
			})
			cl, _, err := c.OAuthClients.SetState(t.Context(), testClientID2, OAuthClientDisabled)
			if cl != nil || !errors.Is(err, tt.want) {
				t.Fatalf("SetState = %+v, %v; want %v", cl, err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error carries the client secret: %v", err)
			}
			if (puts > 0) != tt.wantPut {
				t.Errorf("%d PUTs, want PUT %t", puts, tt.wantPut)
			}
		})
	}
}

// The OAuthClient type never holds the secret Genesys sends with a client.
func TestOAuthClientHoldsNoSecret(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var rec recorder
	rec.handle(b, 200, `{"entities":[`+oauthClientJSON(testClientID2, "Active")+`],"pageCount":1}`)
	cs, _, err := c.OAuthClients.CreatedBy(t.Context(), testUserID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("CreatedBy = %v, %v", cs, err)
	}
	if s := fmt.Sprintf("%+v %#v", cs[0], cs[0]); strings.Contains(s, "s3cr3t") {
		t.Errorf("OAuthClient holds the secret: %s", s)
	}
}
