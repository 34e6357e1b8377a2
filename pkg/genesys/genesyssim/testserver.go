package genesyssim

import (
	"net/http/httptest"
)

// TB is the part of testing.TB that NewTestServer uses; *testing.T, *testing.B and *testing.F
// satisfy it. (An interface keeps the "testing" package out of this package's importers.)
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// TestServer is a simulator running on a loopback httptest.Server. NewTestServer starts it
// and registers its Close with tb.Cleanup, so tests need not close it.
type TestServer struct {
	*Server
	// URL is the base URL without a trailing slash, e.g. "http://127.0.0.1:41234". It serves
	// as both the API base (URL + "/api/v2/...") and the login host (URL + "/oauth/token").
	URL string
	// HTTP is the underlying httptest.Server.
	HTTP *httptest.Server
}

// NewTestServer starts a simulator with cfg for the duration of a test. It fails the test when
// cfg is invalid.
func NewTestServer(tb TB, cfg Config) *TestServer {
	tb.Helper()
	sim, err := New(cfg)
	if err != nil {
		tb.Fatalf("genesyssim.NewTestServer: %v", err)
		return nil
	}
	hs := httptest.NewServer(sim)
	tb.Cleanup(hs.Close)
	return &TestServer{Server: sim, URL: hs.URL, HTTP: hs}
}
