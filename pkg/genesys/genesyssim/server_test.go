package genesyssim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// fakeTB records Fatalf instead of stopping the test.
type fakeTB struct {
	fatal    string
	cleanups []func()
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func TestNewTestServer(t *testing.T) {
	t.Parallel()
	tb := &fakeTB{}
	if ts := NewTestServer(tb, Config{RateLimit: -1}); ts != nil || !strings.Contains(tb.fatal, "rate limit") {
		t.Errorf("invalid config: server %v, fatal %q", ts, tb.fatal)
	}
	ts := NewTestServer(tb, Config{Users: 1})
	if len(tb.cleanups) != 1 || !strings.HasPrefix(ts.URL, "http://127.0.0.1:") {
		t.Fatalf("cleanups %d, URL %q", len(tb.cleanups), ts.URL)
	}
	tb.cleanups[0]()
	if _, err := http.Get(ts.URL + "/admin/health"); err == nil {
		t.Error("server still answers after its cleanup ran")
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 1})
	wantErrorBody(t, do(t, ts, "GET", "/api/v2/users/x/sessions", token, ""), 404, "not.found") // fictional path
	wantErrorBody(t, do(t, ts, "GET", "/api/v2/scim/v2/Users", token, ""), 404, "not.found")    // paths are lower-case
	wantErrorBody(t, do(t, ts, "POST", "/oauth2/token", "", ""), 404, "not.found")
	r := do(t, ts, "PUT", scimUsers+"/x", token, "{}")
	wantErrorBody(t, r, 405, "method.not.allowed")
	if got := r.header.Get("Allow"); got != "GET, PATCH, DELETE" {
		t.Errorf("Allow = %q", got)
	}
	// Unknown API paths still need a token and count against the limit.
	wantStatus(t, do(t, ts, "GET", "/api/v2/nothing", "", ""), 401)
}
