package genesyssim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var _ http.Handler = (*Server)(nil)
var _ TB = (testing.TB)(nil)

// fakeClock is an injectable clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// response is a fully read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

const (
	deactivate = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],` +
		`"Operations":[{"op":"replace","path":"active","value":false}]}`
	scimUsers = "/api/v2/scim/v2/users"
)

// do sends a request to ts. headers are name/value pairs; a body is sent as application/scim+json
// unless headers set Content-Type.
func do(t *testing.T, ts *TestServer, method, path, token, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := ts.HTTP.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// setup starts a simulator and returns it with a token of the default client.
func setup(t *testing.T, cfg Config) (*TestServer, string) {
	t.Helper()
	ts := NewTestServer(t, cfg)
	token, err := ts.Token(DefaultClientID)
	if err != nil {
		t.Fatal(err)
	}
	return ts, token
}

func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body %s", r.status, want, r.body)
	}
}

// wantErrorBody checks a platform ErrorBody's status and code and that contextId is the
// correlation id header.
func wantErrorBody(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	wantStatus(t, r, status)
	m := r.object(t)
	if m["status"] != float64(status) || m["code"] != code {
		t.Errorf("ErrorBody status/code = %v/%v, want %d/%s", m["status"], m["code"], status, code)
	}
	if cid := r.header.Get("ININ-Correlation-Id"); cid == "" || m["contextId"] != cid {
		t.Errorf("contextId = %v, correlation id header = %q", m["contextId"], cid)
	}
	return m
}

// wantSCIMError checks a ScimError's string status, scimType and schema.
func wantSCIMError(t *testing.T, r response, status int, scimType string) map[string]any {
	t.Helper()
	wantStatus(t, r, status)
	m := r.object(t)
	schemas, _ := m["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != schemaError {
		t.Errorf("schemas = %v, want [%s]", m["schemas"], schemaError)
	}
	if m["status"] != strconv.Itoa(status) {
		t.Errorf("status = %#v, want the string %q", m["status"], strconv.Itoa(status))
	}
	if got, _ := m["scimType"].(string); got != scimType {
		t.Errorf("scimType = %q, want %q", got, scimType)
	}
	return m
}

// seeded returns the org's users: index 0..3 are the archetypes documented in doc.go.
func seeded(t *testing.T, ts *TestServer) []User {
	t.Helper()
	users := ts.Users()
	if len(users) < 4 {
		t.Fatalf("org has %d users, want at least 4", len(users))
	}
	return users
}

func decode(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}
