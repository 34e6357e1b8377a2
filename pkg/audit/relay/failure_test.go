package relay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// An event that fails every attempt of its schedule goes to genesys.dead.relay.<endpoint> with
// every attempt's status; the consumer moves on. No secret reaches the dead letter or the logs,
// even when the receiver echoes one.
func TestRelayExhaustedScheduleDeadLetters(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	rc := newReceiver(t, func(_ int, r *http.Request, _ []byte, w http.ResponseWriter) int {
		if auth := r.Header.Get("Authorization"); auth != "" {
			fmt.Fprintf(w, "boom; bad auth %s", auth) // a receiver echoing the HEC token
		} else {
			fmt.Fprintf(w, "boom; configured key %s", vectorSecret) // or the signing secret
		}
		return http.StatusInternalServerError
	})
	seqs := env.publish(t, 2, "doomed")
	core, logs := observer.New(zapcore.DebugLevel)
	obs := newRecordingObserver()
	ep := testEndpoint("siem", rc.URL+"/hook?token=url-secret")
	ep.Schedule = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	hec := testEndpoint("splunk", rc.URL+"/services/collector/event")
	hec.Mode, hec.HEC.Token, hec.Secrets, hec.Schedule = ModeSplunkHEC, "hec-token-secret-1234", nil, ep.Schedule
	env.run(t, Config{Endpoints: []Endpoint{ep, hec}, Logger: zap.New(core), Observer: obs})

	dl := env.deadLetter(t, "siem")
	if dl.StreamSeq != seqs[0] && dl.StreamSeq != seqs[1] {
		t.Errorf("dead letter for sequence %d", dl.StreamSeq)
	}
	if len(dl.Attempts) != 3 {
		t.Fatalf("%d attempts in the dead letter, want 3: %+v", len(dl.Attempts), dl.Attempts)
	}
	for _, a := range dl.Attempts {
		if a.Status != 500 || a.Result != "http_error" || a.At.IsZero() || !strings.Contains(a.Error, "500 Internal Server Error") {
			t.Errorf("attempt = %+v", a)
		}
	}
	stored := env.stored(t, dl.StreamSeq)
	if string(dl.Event) != string(stored.Data) || dl.Endpoint != "siem" || dl.Reason != "every attempt failed" || dl.URL != rc.URL+"/hook" {
		t.Errorf("dead letter = %+v", dl)
	}
	if dl.Subject == "" || dl.Subject != stored.Subject || dl.Stream != "GENESYS_AUDIT" {
		t.Errorf("dead letter names stream %q subject %q, want GENESYS_AUDIT and the event's subject %q", dl.Stream, dl.Subject, stored.Subject)
	}
	env.deadLetter(t, "splunk")
	waitFor(t, 15*time.Second, "both events dead-lettered for both endpoints", &obs.changed, func() bool {
		return obs.count(obs.dead, "siem") == 2 && obs.count(obs.dead, "splunk") == 2
	})
	if n := obs.count(obs.statuses, "siem/500"); n != 6 {
		t.Errorf("%d attempts answered 500, want 6", n)
	}
	if n := obs.count(obs.retries, "siem"); n != 4 {
		t.Errorf("%d retries, want 4", n)
	}
	info := consumerInfo(t, env, "siem")
	if info.NumPending != 0 || info.NumAckPending != 0 {
		t.Errorf("consumer still holds events: %+v", info)
	}
	dead, _ := env.dead.GetLastMsgForSubject(context.Background(), "genesys.dead.relay.splunk")
	everything := string(dead.Data)
	for _, e := range logs.All() {
		everything += e.Message
		for k, v := range e.ContextMap() {
			everything += fmt.Sprintf(" %s=%v", k, v)
		}
	}
	for _, secret := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "hec-token-secret-1234", "url-secret"} {
		if strings.Contains(everything, secret) {
			t.Errorf("a secret (%s…) reached the logs or a dead letter", secret[:4])
		}
	}
	if !strings.Contains(everything, "[redacted]") {
		t.Error("the echoed secret was not redacted")
	}
}

// A redirecting endpoint and endpoints resolving to non-public addresses are refused with clear
// errors; the redirect target and the private address are never contacted.
func TestRelayRefusesRedirectsAndPrivateAddresses(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	var stolen atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(target.Close)
	redirect := newReceiver(t, func(_ int, _ *http.Request, _ []byte, w http.ResponseWriter) int {
		w.Header().Set("Location", target.URL+"/collect?token=xyz")
		return http.StatusFound
	})
	once := []time.Duration{10 * time.Millisecond}
	redir := testEndpoint("redirecting", redirect.URL)
	private := testEndpoint("private", "https://siem.internal.example/hook")
	local := testEndpoint("local", strings.Replace(target.URL, "127.0.0.1", "localhost", 1))
	private.AllowPrivate, local.AllowPrivate = false, false
	redir.Schedule, private.Schedule, local.Schedule = once, once, once
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "siem.internal.example":
			return []netip.Addr{netip.MustParseAddr("10.0.0.1")}, nil
		case "localhost":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	obs := newRecordingObserver()
	env.publish(t, 1, "ssrf")
	env.run(t, Config{Endpoints: []Endpoint{redir, private, local}, lookup: lookup, Observer: obs})

	tests := []struct{ endpoint, result, want string }{
		{"redirecting", "redirect", "redirect refused: endpoint answered 302 Found to " + target.URL + "/collect; fix the endpoint URL"},
		{"private", "refused", "audit: egress refused: siem.internal.example resolves to 10.0.0.1, a private address; set allow_private on the endpoint to deliver to it"},
		{"local", "refused", "audit: egress refused: localhost resolves to 127.0.0.1, a loopback address; set allow_private on the endpoint to deliver to it"},
	}
	for _, tt := range tests {
		dl := env.deadLetter(t, tt.endpoint)
		if len(dl.Attempts) != 2 {
			t.Errorf("%s: %d attempts", tt.endpoint, len(dl.Attempts))
			continue
		}
		for _, a := range dl.Attempts {
			if a.Result != tt.result || a.Error != tt.want {
				t.Errorf("%s: attempt %s %q\nwant %s %q", tt.endpoint, a.Result, a.Error, tt.result, tt.want)
			}
		}
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the redirect target or the loopback endpoint got %d requests", n)
	}
	if obs.count(obs.statuses, "private/refused") != 2 || obs.count(obs.statuses, "redirecting/302") != 2 {
		t.Errorf("metrics labels: %v", obs.statuses)
	}
	if _, err := New(t.Context(), Config{JetStream: env.js, Endpoints: []Endpoint{
		{Name: "meta", URL: "https://169.254.169.254/latest", Secrets: []string{vectorSecret}},
	}}); err == nil || !strings.Contains(err.Error(), "169.254.169.254 is a link-local address") {
		t.Errorf("a literal link-local URL: %v", err)
	}
}
