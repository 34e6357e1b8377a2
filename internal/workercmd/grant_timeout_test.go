package workercmd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// Review D10: with a login host that hangs, the worker's Genesys client
// fails the grant within --grant-timeout, counts it in a metric, and
// readiness says so until a grant succeeds again.
func TestHangingGrantShowsInReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	hang := make(chan bool, 1)
	hang <- true
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		h := <-hang
		hang <- h
		if h {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"tok","token_type":"bearer","expires_in":86400}`))
	})
	mux.HandleFunc("GET /api/v2/scim/v2/users", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		_, _ = w.Write([]byte(`{"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	m := newMetrics()
	cfg := Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "secret", Concurrency: 1, GrantTimeout: 200 * time.Millisecond}
	c, err := newGenesysClient(cfg, m, zap.NewNop(), genesys.NewRateLimiter(600, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// The call keeps retrying the failed grant until its context ends; how it
	// ends (the deadline may fall inside a grant) is not under test. What is:
	// each grant gave up after 200 ms and was reported, which a grant left
	// hanging (abandoned by the caller, not reported) would not be.
	short, cancelShort := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancelShort()
	if _, _, err := c.Users.List(short, &genesys.ListOptions{Count: 1}); err == nil {
		t.Fatal("List with a hanging login host succeeded")
	}
	if n := counterValue(t, m.grants.WithLabelValues("failed")); n < 2 {
		t.Fatalf("genesys_token_grants_total{result=failed} = %v within 2 s, want at least 2 grants bounded by --grant-timeout", n)
	}
	if err := grantHealth(c); err == nil || !strings.Contains(err.Error(), "token grant") {
		t.Fatalf("readiness while grants fail: got %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	<-hang
	hang <- false // the login host answers again
	if _, _, err := c.Users.List(ctx, &genesys.ListOptions{Count: 1}); err != nil {
		t.Fatalf("List once the login host answers: %v", err)
	}
	if err := grantHealth(c); err != nil {
		t.Fatalf("readiness after a good grant: %v", err)
	}
	if n := counterValue(t, m.grants.WithLabelValues("ok")); n != 1 {
		t.Fatalf("genesys_token_grants_total{result=ok} = %v, want 1", n)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var d dto.Metric
	if err := c.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}
