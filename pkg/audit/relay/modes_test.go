package relay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Splunk HEC gets its envelope and token; an Elastic-style receiver gets a body HMAC in a header.
// Each endpoint has its own consumer, and both get every event.
func TestRelayAdapters(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	splunk := newReceiver(t, func(_ int, r *http.Request, _ []byte, _ http.ResponseWriter) int {
		if r.Header.Get("Authorization") != "Splunk 11111111-2222-3333-4444-555555555555" {
			return http.StatusUnauthorized
		}
		return http.StatusOK
	})
	elastic := newReceiver(t, func(_ int, r *http.Request, body []byte, _ http.ResponseWriter) int {
		m := hmac.New(sha256.New, []byte("elastic-hmac-key"))
		m.Write(body)
		if !hmac.Equal([]byte(r.Header.Get("X-Hub-Signature-256")), []byte("sha256="+hex.EncodeToString(m.Sum(nil)))) {
			return http.StatusUnauthorized
		}
		return http.StatusOK
	})
	hec := testEndpoint("splunk", splunk.URL+"/services/collector/event")
	hec.Mode, hec.HEC.Token, hec.HEC.Index, hec.Secrets = ModeSplunkHEC, "11111111-2222-3333-4444-555555555555", "security", nil
	es := testEndpoint("elastic", elastic.URL+"/genesys")
	es.Mode, es.HMAC.Secret, es.Secrets = ModeHMACHeader, "elastic-hmac-key", nil
	seqs := env.publish(t, 3, "adapters")
	env.run(t, Config{Endpoints: []Endpoint{hec, es}})
	waitFor(t, 15*time.Second, "deliveries to splunk", &splunk.changed, func() bool { return len(splunk.accepted()) == 3 })
	waitFor(t, 15*time.Second, "deliveries to elastic", &elastic.changed, func() bool { return len(elastic.accepted()) == 3 })
	if diff := cmp.Diff(seqs, splunk.accepted()); diff != "" {
		t.Errorf("splunk (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(seqs, elastic.accepted()); diff != "" {
		t.Errorf("elastic (-want +got):\n%s", diff)
	}
	for i, h := range splunk.all() {
		stored := env.stored(t, seqs[i])
		d, _ := prepareDelivery(stored.Data, seqs[i], stored.Subject)
		var env hecEvent
		if err := json.Unmarshal(h.body, &env); err != nil {
			t.Fatalf("HEC body: %v", err)
		}
		if string(env.Event) != string(d.Body) || env.Index != "security" || env.Sourcetype != "_json" ||
			env.Source != audit.DefaultSource || env.Time != float64(d.Time.UnixMilli())/1000 || env.Fields["sequence"] != float64(seqs[i]) {
			t.Errorf("HEC envelope = %+v\nevent %s", env, env.Event)
		}
		if h.header.Get("Content-Type") != "application/json" {
			t.Errorf("HEC Content-Type %q", h.header.Get("Content-Type"))
		}
	}
	for i, h := range elastic.all() {
		stored := env.stored(t, seqs[i])
		d, _ := prepareDelivery(stored.Data, seqs[i], stored.Subject)
		if string(h.body) != string(d.Body) || h.header.Get("Content-Type") != "application/json" {
			t.Errorf("hmac-header delivery: %s %s", h.header.Get("Content-Type"), h.body)
		}
		if h.header.Get(audit.HeaderWebhookSignature) != "" {
			t.Error("webhook-signature sent without a whsec_ secret")
		}
	}
}
