package observetest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/ingress"
)

// startIngress starts an ingress (the pkg/ingress Server, as internal/ingresscmd runs it) on the
// bed's NATS with one webhook source "soar" and makes each of its labelled vectors appear: a
// signed job (200, accepted), an unsigned request (401, which spends no rate: only authenticated
// requests count), the same signed delivery again (200, a duplicate) and one past the source's burst
// of 2 (429). It returns the URL of the ingress's own registry's /metrics.
func startIngress(t *testing.T, bed *testbed.T, user string) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	secret := audit.SecretPrefix + base64.StdEncoding.EncodeToString(key)
	reg := prometheus.NewRegistry()
	cfg := ingress.Config{Sources: []ingress.SourceConfig{{Name: "soar", Kind: ingress.KindWebhook,
		SecretFiles: []string{"/secrets/soar"}, RatePerSecond: 0.001, Burst: 2}}}
	srv, err := ingress.New(cfg, bed.JS, zaptest.NewLogger(t), ingress.WithRegisterer(reg),
		ingress.WithSecretReader(func(path string) (string, error) {
			if path != "/secrets/soar" {
				return "", fmt.Errorf("secret file %s: not found", path)
			}
			return secret, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	admin := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(admin.Close)
	if err := srv.Ready(t.Context()); err != nil {
		t.Fatalf("the ingress is not ready: %v", err)
	}

	signer, err := audit.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"action":"deactivate","user":{"user_name":"` + user + `"},"reason":"left the company","ticket":"OBS-1"}`
	post := func(signed bool) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, hs.URL+"/v1/sources/soar", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if signed {
			now := time.Now()
			req.Header.Set(audit.HeaderWebhookID, "msg_observe_1")
			req.Header.Set(audit.HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
			req.Header.Set(audit.HeaderWebhookSignature, signer.Sign("msg_observe_1", now, []byte(body)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	for i, want := range []struct {
		signed bool
		code   int
	}{{true, http.StatusOK}, {false, http.StatusUnauthorized}, {true, http.StatusOK}, {true, http.StatusTooManyRequests}} {
		if got := post(want.signed); got != want.code {
			t.Fatalf("ingress request %d: status %d, want %d", i+1, got, want.code)
		}
	}
	return admin.URL + "/metrics"
}
