package httpserve

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Healthcheck exits 0 on a 200, and 1 on anything else, bad flags and URLs included: Docker
// reserves exit status 2 in health checks.
func TestHealthcheckExitStatus(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"--url", srv.URL + "/healthz"}, 0},
		{[]string{"--url", srv.URL + "/readyz"}, 1},
		{[]string{"--url", "http://127.0.0.1:1/healthz", "--timeout", "200ms"}, 1},
		{[]string{"--url", "::not a url"}, 1},
		{[]string{"--no-such-flag"}, 1},
	} {
		if got := Healthcheck(t.Context(), "test healthcheck", srv.URL+"/healthz", tt.args, io.Discard, io.Discard); got != tt.want {
			t.Errorf("%v: exit %d, want %d", tt.args, got, tt.want)
		}
	}
}
