package relay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// modeCase is one adapter as the conformance suite drives it. A new mode adds one row to
// suiteModes; every case of the suite then runs against it.
type modeCase struct {
	mode Mode
	// configure sets the mode and its credentials on a test endpoint.
	configure func(*Endpoint)
	// secrets are the credentials that must never reach a log or a dead letter.
	secrets []string
	// verify is the receiver's check of one request against the delivery it carries: the
	// signature or auth is right and the body is what the mode sends.
	verify func(r *http.Request, body []byte, d *Delivery) error
}

var suiteModes = []modeCase{
	{
		mode:      ModeStandard,
		configure: func(e *Endpoint) { e.Mode, e.Secrets = ModeStandard, []string{vectorSecret} },
		secrets:   []string{vectorSecret},
		verify: func(r *http.Request, body []byte, d *Delivery) error {
			if err := audit.Verify(vectorSecret, r.Header, body, time.Now(), 0); err != nil {
				return err
			}
			return sameBody(r, body, d.Body, audit.ContentType)
		},
	},
	{
		mode: ModeSplunkHEC,
		configure: func(e *Endpoint) {
			e.Mode, e.Secrets, e.HEC = ModeSplunkHEC, nil, HECSettings{Token: "11111111-2222-3333-4444-555555555555", Index: "security"}
		},
		secrets: []string{"11111111-2222-3333-4444-555555555555"},
		verify: func(r *http.Request, body []byte, d *Delivery) error {
			if r.Header.Get("Authorization") != "Splunk 11111111-2222-3333-4444-555555555555" {
				return errors.New("no Splunk token")
			}
			var env hecEvent
			if err := json.Unmarshal(body, &env); err != nil {
				return fmt.Errorf("HEC body: %w", err)
			}
			if string(env.Event) != string(d.Body) || env.Index != "security" || env.Sourcetype != "_json" ||
				env.Source != audit.DefaultSource || env.Time != float64(d.Time.UnixMilli())/1000 || env.Fields["sequence"] != float64(d.Seq) {
				return fmt.Errorf("HEC envelope = %+v, event %s", env, env.Event)
			}
			return sameBody(r, nil, nil, "application/json")
		},
	},
	{
		mode: ModeHMACHeader,
		configure: func(e *Endpoint) {
			e.Mode, e.Secrets, e.HMAC = ModeHMACHeader, nil, HMACSettings{Secret: "elastic-hmac-key"}
		},
		secrets: []string{"elastic-hmac-key"},
		verify: func(r *http.Request, body []byte, d *Delivery) error {
			m := hmac.New(sha256.New, []byte("elastic-hmac-key"))
			m.Write(body)
			if !hmac.Equal([]byte(r.Header.Get("X-Hub-Signature-256")), []byte("sha256="+hex.EncodeToString(m.Sum(nil)))) {
				return errors.New("body HMAC does not match")
			}
			if r.Header.Get(audit.HeaderWebhookSignature) != "" {
				return errors.New("webhook-signature sent without a whsec_ secret")
			}
			return sameBody(r, body, d.Body, "application/json")
		},
	},
}

// sameBody checks the Content-Type, and the body when want is not nil.
func sameBody(r *http.Request, body, want []byte, contentType string) error {
	if ct := r.Header.Get("Content-Type"); ct != contentType {
		return fmt.Errorf("Content-Type %q, want %q", ct, contentType)
	}
	if want != nil && string(body) != string(want) {
		return fmt.Errorf("body %s\nwant %s", body, want)
	}
	return nil
}

// suiteCases are what every adapter must do; each runs on its own NATS server.
var suiteCases = []struct {
	name string
	run  func(t *testing.T, mc modeCase)
}{
	{"delivers verifiable requests in order", suiteDelivers},
	{"retries 5xx and timeouts", suiteRetries},
	{"410 disables the endpoint", suiteGone},
	{"clips and scrubs the receiver's answer", suiteSizeLimits},
	{"egress guard", suiteEgress},
}

// TestAdapterConformance runs every case of the suite against every mode.
func TestAdapterConformance(t *testing.T) {
	t.Parallel()
	for _, mc := range suiteModes {
		for _, c := range suiteCases {
			t.Run(string(mc.mode)+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				c.run(t, mc)
			})
		}
	}
}

// suiteEndpoint is a test endpoint of mc's mode.
func suiteEndpoint(mc modeCase, url string) Endpoint {
	ep := testEndpoint("ep", url)
	mc.configure(&ep)
	return ep
}

// verifyingReceiver answers 204 to a request mc.verify accepts, and 401 (with an error) to others.
func verifyingReceiver(t *testing.T, env *relayEnv, mc modeCase) *receiver {
	return newReceiver(t, func(_ int, r *http.Request, body []byte, _ http.ResponseWriter) int {
		seq := hit{header: r.Header}.seq()
		stored := env.stored(t, seq)
		d, err := prepareDelivery(stored.Data, seq, stored.Subject)
		if err == nil {
			err = mc.verify(r, body, d)
		}
		if err != nil {
			t.Errorf("seq %d: %v", seq, err)
			return http.StatusUnauthorized
		}
		return http.StatusNoContent
	})
}

func suiteDelivers(t *testing.T, mc modeCase) {
	env := newRelayEnv(t, 0)
	seqs := env.publish(t, 3, "conform")
	rc := verifyingReceiver(t, env, mc)
	env.run(t, Config{Endpoints: []Endpoint{suiteEndpoint(mc, rc.URL)}})
	waitFor(t, 15*time.Second, "3 deliveries", &rc.changed, func() bool { return len(rc.accepted()) == 3 })
	if diff := cmp.Diff(seqs, rc.accepted()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

func suiteRetries(t *testing.T, mc modeCase) {
	env := newRelayEnv(t, 0)
	seqs := env.publish(t, 1, "retry")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	ok := verifyingReceiver(t, env, mc)
	rc := newReceiver(t, func(n int, r *http.Request, body []byte, w http.ResponseWriter) int {
		switch n {
		case 1:
			return http.StatusServiceUnavailable
		case 2:
			select { // no answer within the endpoint's timeout
			case <-release:
			case <-r.Context().Done():
			}
			return http.StatusServiceUnavailable
		}
		return ok.respond(n, r, body, w)
	})
	obs := newRecordingObserver()
	ep := suiteEndpoint(mc, rc.URL)
	ep.Timeout = 300 * time.Millisecond
	env.run(t, Config{Endpoints: []Endpoint{ep}, Observer: obs})
	waitFor(t, 15*time.Second, "delivery after a 503 and a timeout", &rc.changed, func() bool { return len(rc.accepted()) == 1 })
	if diff := cmp.Diff(seqs, rc.accepted()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	waitFor(t, 5*time.Second, "attempts counted", &obs.changed, func() bool { return obs.count(obs.statuses, "ep/204") == 1 })
	if obs.count(obs.statuses, "ep/503") != 1 || obs.count(obs.statuses, "ep/timeout") != 1 || obs.count(obs.retries, "ep") != 2 {
		t.Errorf("attempts %v, retries %v; want one 503, one timeout, two retries", obs.statuses, obs.retries)
	}
}

func suiteGone(t *testing.T, mc modeCase) {
	env := newRelayEnv(t, 0)
	env.publish(t, 2, "gone")
	rc := newReceiver(t, func(int, *http.Request, []byte, http.ResponseWriter) int { return http.StatusGone })
	r, _ := env.run(t, Config{Endpoints: []Endpoint{suiteEndpoint(mc, rc.URL)}})
	var st EndpointState
	waitFor(t, 15*time.Second, "endpoint disabled", env.watchKey(t, stateKeyPrefix+"ep"), func() bool {
		st, _ = r.Admin().State(t.Context(), "ep")
		return !st.Enabled
	})
	if st.Status != http.StatusGone || st.ChangedBy != "relay" {
		t.Errorf("state = %+v", st)
	}
	if n := len(rc.all()); n != 1 {
		t.Errorf("%d requests, want only the one that met the 410", n)
	}
}

// A receiver's answer is kept clipped to maxReceiverText and with the mode's credentials
// redacted, however long it is and whatever it echoes.
func suiteSizeLimits(t *testing.T, mc modeCase) {
	env := newRelayEnv(t, 0)
	env.publish(t, 1, "big")
	echo := strings.Join(mc.secrets, " ") + " " + strings.Repeat("x", 100<<10)
	rc := newReceiver(t, func(_ int, _ *http.Request, _ []byte, w http.ResponseWriter) int {
		fmt.Fprint(w, echo)
		return http.StatusInternalServerError
	})
	ep := suiteEndpoint(mc, rc.URL)
	ep.Schedule = []time.Duration{10 * time.Millisecond}
	env.run(t, Config{Endpoints: []Endpoint{ep}})
	dl := env.deadLetter(t, "ep")
	if len(dl.Attempts) != 2 {
		t.Fatalf("%d attempts, want 2", len(dl.Attempts))
	}
	for _, a := range dl.Attempts {
		if len(a.Error) > maxReceiverText+len("[redacted]")*len(mc.secrets) || !strings.Contains(a.Error, "[redacted]") {
			t.Errorf("attempt error of %d bytes: %.80s…", len(a.Error), a.Error)
		}
		for _, s := range mc.secrets {
			if strings.Contains(a.Error, s) {
				t.Errorf("a credential reached the dead letter")
			}
		}
	}
}

// The egress guard refuses a name resolving to a private address without AllowPrivate (without
// connecting), and delivers to a loopback one with it.
func suiteEgress(t *testing.T, mc modeCase) {
	env := newRelayEnv(t, 0)
	seqs := env.publish(t, 1, "egress")
	rc := verifyingReceiver(t, env, mc)
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host == "siem.internal.example" {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	port := rc.URL[strings.LastIndex(rc.URL, ":"):]
	refused := suiteEndpoint(mc, "http://siem.internal.example"+port+"/hook")
	refused.Name, refused.AllowPrivate, refused.AllowHTTP, refused.Schedule = "refused", false, true, []time.Duration{10 * time.Millisecond}
	allowed := suiteEndpoint(mc, "http://siem.internal.example"+port+"/hook")
	allowed.Name, allowed.AllowHTTP = "allowed", true
	env.run(t, Config{Endpoints: []Endpoint{refused, allowed}, lookup: lookup})
	dl := env.deadLetter(t, "refused")
	for _, a := range dl.Attempts {
		if a.Result != "refused" || !strings.Contains(a.Error, "127.0.0.1, a loopback address") {
			t.Errorf("attempt %s %q", a.Result, a.Error)
		}
	}
	waitFor(t, 15*time.Second, "delivery to the allowed endpoint", &rc.changed, func() bool { return len(rc.accepted()) == 1 })
	if diff := cmp.Diff(seqs, rc.accepted()); diff != "" || len(rc.all()) != 1 {
		t.Errorf("delivered (-want +got):\n%s\n%d requests in all", diff, len(rc.all()))
	}
}
