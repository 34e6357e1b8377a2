package genesyssim

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// grant runs POST /oauth/token with optional Basic credentials and a form body.
func grant(t *testing.T, ts *TestServer, id, secret string, form url.Values) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+"/oauth/token",
		strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	res, err := ts.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

var clientCredentials = url.Values{"grant_type": {"client_credentials"}}

func TestTokenGrant(t *testing.T) {
	t.Parallel()
	ts := NewTestServer(t, Config{Users: 1})
	r := grant(t, ts, DefaultClientID, DefaultClientSecret, clientCredentials)
	wantStatus(t, r, http.StatusOK)
	m := r.object(t)
	token, _ := m["access_token"].(string)
	delete(m, "access_token")
	if diff := cmp.Diff(map[string]any{"token_type": "bearer", "expires_in": float64(86399)}, m); diff != "" {
		t.Errorf("token response (-want +got), no refresh_token expected:\n%s", diff)
	}
	if len(token) < 32 {
		t.Errorf("access_token %q looks too short to be opaque and random", token)
	}
	if r.header.Get("ININ-Correlation-Id") == "" {
		t.Error("token response has no ININ-Correlation-Id")
	}
	// The token works on the API host's paths.
	wantStatus(t, do(t, ts, "GET", scimUsers+"?count=1", token, ""), http.StatusOK)
	// Each grant issues a new token.
	if again := grant(t, ts, DefaultClientID, DefaultClientSecret, clientCredentials).object(t); again["access_token"] == token {
		t.Error("a second grant returned the same token")
	}
}

func TestTokenGrantErrors(t *testing.T) {
	t.Parallel()
	ts := NewTestServer(t, Config{Users: 1})
	bodyCreds := url.Values{"grant_type": {"client_credentials"},
		"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}
	tests := []struct {
		name, id, secret string
		form             url.Values
		status           int
		want             authError
	}{
		{"unknown client", "nobody", "x", clientCredentials, 400, authError{"invalid_client", "client not found", "client not found"}},
		{"wrong secret", DefaultClientID, "wrong", clientCredentials, 401, authError{"invalid_client", "authentication failed", "authentication failed"}},
		{"body credentials refused by default", "", "", bodyCreds, 401, authError{"invalid_client", "authentication failed", "authentication failed"}},
		{"no grant type", DefaultClientID, DefaultClientSecret, url.Values{}, 400, authError{"invalid_request", "grant_type is required", "grant_type is required"}},
		{"other grant type", DefaultClientID, DefaultClientSecret, url.Values{"grant_type": {"password"}}, 400,
			authError{"unsupported_grant_type", "grant type password is not supported", "grant type password is not supported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := grant(t, ts, tt.id, tt.secret, tt.form)
			wantStatus(t, r, tt.status)
			got := r.object(t)
			want := map[string]any{"error": tt.want.Error, "description": tt.want.Description, "error_description": tt.want.ErrorDescription}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenGrantBodyCredentialsSwitch(t *testing.T) {
	t.Parallel()
	ts := NewTestServer(t, Config{Users: 1, AllowBodyCredentials: true})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}
	wantStatus(t, grant(t, ts, "", "", form), http.StatusOK)
}

func TestDisabledClient(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	if err := ts.SetClientEnabled(DefaultClientID, false); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, grant(t, ts, DefaultClientID, DefaultClientSecret, clientCredentials), http.StatusUnauthorized)
	wantErrorBody(t, do(t, ts, "GET", scimUsers, token, ""), 401, "bad.credentials")

	if err := ts.SetClientEnabled(DefaultClientID, true); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, grant(t, ts, DefaultClientID, DefaultClientSecret, clientCredentials), http.StatusOK)
	wantStatus(t, do(t, ts, "GET", scimUsers, token, ""), http.StatusOK)
	if err := ts.SetClientEnabled("nobody", true); err == nil {
		t.Error("SetClientEnabled of an unknown client succeeded")
	}
}

func TestBearerErrors(t *testing.T) {
	t.Parallel()
	clock := newClock()
	ts, token := setup(t, Config{Users: 1, Now: clock.Now, TokenTTL: time.Hour})

	m := wantErrorBody(t, do(t, ts, "GET", scimUsers, "", ""), 401, "authentication.required")
	if m["message"] != "No authentication bearer token specified in authorization header." {
		t.Errorf("message = %v", m["message"])
	}
	wantErrorBody(t, do(t, ts, "GET", scimUsers, "not-a-token", ""), 401, "bad.credentials")
	wantErrorBody(t, do(t, ts, "GET", scimUsers, "", "", "Authorization", "Basic abc"), 401, "authentication.required")

	clock.Advance(time.Hour - time.Second)
	wantStatus(t, do(t, ts, "GET", scimUsers, token, ""), http.StatusOK)
	clock.Advance(time.Second)
	wantErrorBody(t, do(t, ts, "GET", scimUsers, token, ""), 401, "credentials.expired")
}

func TestRevokeAndExpireTokens(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	ts.ExpireTokens()
	wantErrorBody(t, do(t, ts, "GET", scimUsers, token, ""), 401, "credentials.expired")
	token, _ = ts.Token(DefaultClientID)
	ts.RevokeTokens()
	wantErrorBody(t, do(t, ts, "GET", scimUsers, token, ""), 401, "bad.credentials")
}

func TestDeleteMyToken(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	r := do(t, ts, "DELETE", "/api/v2/tokens/me", token, "")
	wantStatus(t, r, http.StatusOK)
	if len(r.body) != 0 {
		t.Errorf("body = %q, want empty", r.body)
	}
	wantErrorBody(t, do(t, ts, "GET", scimUsers, token, ""), 401, "bad.credentials")
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	ts := NewTestServer(t, Config{Users: 4, Clients: []Client{
		{ID: "reader", Secret: "s", Permissions: []string{}},
		{ID: "editor", Secret: "s", Permissions: []string{"routing:skill:assign"}}, // any of the PATCH list
	}})
	reader, _ := ts.Token("reader")
	editor, _ := ts.Token("editor")
	id := seeded(t, ts)[0].ID
	wantStatus(t, do(t, ts, "GET", scimUsers+"/"+id, reader, ""), http.StatusOK) // SCIM GET needs none
	tests := []struct{ method, path, perms string }{
		{"PATCH", scimUsers + "/" + id, strings.Join(patchPerms, ", ")},
		{"DELETE", scimUsers + "/" + id, "directory:user:delete"},
		{"DELETE", "/api/v2/users/" + id, "directory:user:delete"},
		{"DELETE", "/api/v2/tokens/" + id, "oauth:token:delete"},
		{"GET", "/api/v2/users/" + id + "/roles", "authorization:grant:view"},
		{"GET", "/api/v2/authorization/subjects/" + id, "authorization:grant:view"},
		{"POST", "/api/v2/authorization/subjects/" + id + "/bulkremove", "authorization:grant:delete"},
	}
	for _, tt := range tests {
		m := wantErrorBody(t, do(t, ts, tt.method, tt.path, reader, `{}`), 403, "missing.any.permissions")
		if msg, _ := m["message"].(string); !strings.HasSuffix(msg, "at least one of the following permissions assigned: "+tt.perms) {
			t.Errorf("%s %s: message %q does not list %s", tt.method, tt.path, msg, tt.perms)
		}
	}
	wantStatus(t, do(t, ts, "PATCH", scimUsers+"/"+id, editor, deactivate), http.StatusOK)
}

func TestTokenEndpointNotRateLimited(t *testing.T) {
	t.Parallel()
	ts := NewTestServer(t, Config{Users: 1, RateLimit: 1})
	for range 3 {
		r := grant(t, ts, DefaultClientID, DefaultClientSecret, clientCredentials)
		wantStatus(t, r, http.StatusOK)
		if h := r.header.Get("inin-ratelimit-count"); h != "" {
			t.Errorf("token endpoint sent inin-ratelimit-count %q", h)
		}
	}
}
