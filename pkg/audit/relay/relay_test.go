package relay

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Every event reaches the endpoint once, in stream order, as the stored bytes plus the sequence
// extension, signed with both rotating secrets; the reference library verifies every delivery.
func TestRelayDeliversSignedEventsInOrder(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	seqs := env.publish(t, 5, "signed")
	var refs []*standardwebhooks.Webhook
	for _, s := range []string{vectorSecret, secondSecret} {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, wh)
	}
	rc := newReceiver(t, func(_ int, r *http.Request, body []byte, _ http.ResponseWriter) int {
		for _, wh := range refs {
			if err := wh.Verify(body, r.Header); err != nil {
				t.Errorf("reference library refused a delivery: %v", err)
				return http.StatusUnauthorized
			}
		}
		return http.StatusNoContent
	})
	ep := testEndpoint("siem", rc.URL)
	ep.Secrets = []string{vectorSecret, secondSecret}
	_, stop := env.run(t, Config{Endpoints: []Endpoint{ep}})
	waitFor(t, 15*time.Second, "5 deliveries", &rc.changed, func() bool { return len(rc.accepted()) == 5 })
	stop()

	if diff := cmp.Diff(seqs, rc.accepted()); diff != "" {
		t.Errorf("delivered sequences (-want +got):\n%s", diff)
	}
	for _, h := range rc.all() {
		stored := env.stored(t, h.seq())
		d, err := prepareDelivery(stored.Data, h.seq(), stored.Subject)
		if err != nil {
			t.Fatal(err)
		}
		if string(h.body) != string(d.Body) {
			t.Errorf("seq %d: body %s, want the stored bytes with the sequence: %s", h.seq(), h.body, d.Body)
		}
		if h.header.Get(audit.HeaderWebhookID) != stored.Header.Get(jetstream.MsgIDHeader) {
			t.Errorf("webhook-id %q, want the event id %q", h.header.Get(audit.HeaderWebhookID), stored.Header.Get(jetstream.MsgIDHeader))
		}
		if ct := h.header.Get("Content-Type"); ct != audit.ContentType {
			t.Errorf("Content-Type %q", ct)
		}
		if err := audit.Verify(secondSecret, h.header, h.body, time.Now(), 0); err != nil {
			t.Errorf("our Verify with the second secret: %v", err)
		}
	}
}

// An endpoint that refuses connections, then answers 503 twice, then 429 with Retry-After, gets
// every event exactly once when it recovers, in order, across a relay restart; the relay waits at
// least the Retry-After before trying again.
func TestRelayRetriesAcrossRestartUntilEndpointRecovers(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connections are refused
	seqs := env.publish(t, 3, "recover")
	obs := newRecordingObserver()
	ep := testEndpoint("siem", "http://"+addr+"/hook")
	cfg := Config{Endpoints: []Endpoint{ep}, Observer: obs}

	_, stop := env.run(t, cfg)
	waitFor(t, 15*time.Second, "refused connections", &obs.changed, func() bool { return obs.count(obs.statuses, "siem/network") >= 2 })
	stop()
	refused := obs.count(obs.statuses, "siem/network")

	// The endpoint comes back on the same address. A freed loopback port is free to bind again
	// at once (Go listens with SO_REUSEADDR, and refused connections leave no TIME_WAIT).
	if ln, err = net.Listen("tcp", addr); err != nil {
		t.Fatalf("cannot listen on %s again: %v", addr, err)
	}
	rc := &receiver{respond: func(n int, _ *http.Request, _ []byte, w http.ResponseWriter) int {
		switch n {
		case 1, 2:
			return http.StatusServiceUnavailable
		case 3:
			w.Header().Set("Retry-After", "1")
			return http.StatusTooManyRequests
		}
		return http.StatusNoContent
	}}
	rc.Server = httptest.NewUnstartedServer(rc)
	rc.Listener.Close()
	rc.Listener = ln
	rc.Start()
	t.Cleanup(rc.Close)

	_, stop = env.run(t, cfg) // a new relay process picks up where the first left off
	waitFor(t, 20*time.Second, "3 deliveries", &rc.changed, func() bool { return len(rc.accepted()) == 3 })
	stop()

	if diff := cmp.Diff(seqs, rc.accepted()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	hits := rc.all()
	var statuses []int
	for _, h := range hits {
		statuses = append(statuses, h.status)
	}
	if diff := cmp.Diff([]int{503, 503, 429, 204, 204, 204}, statuses); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if gap := hits[3].at.Sub(hits[2].at); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
	if hits[0].seq() != seqs[0] || hits[3].header.Get(audit.HeaderWebhookID) != hits[0].header.Get(audit.HeaderWebhookID) {
		t.Errorf("webhook-id changed across retries")
	}
	if refused < 2 || obs.count(obs.retries, "siem") < refused+3 {
		t.Errorf("retries counted %d for %d refusals + 3 answers", obs.count(obs.retries, "siem"), refused)
	}
	// The delivered event's attempts are cleared from the state bucket.
	cfg.JetStream = env.js
	r, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if at, err := r.admin.loadAttempts(t.Context(), "siem", seqs[0]); err != nil || len(at) != 0 {
		t.Errorf("attempts left after delivery: %v %v", at, err)
	}
}

// A 410 disables the endpoint (state, paused consumer, ops event); the endpoint keeps its place
// across a relay restart, and enable delivers the backlog in sequence order, starting with the
// event that met the 410.
func TestRelay410DisablesAndEnableDeliversBacklogInOrder(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	var gone = true
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	isGone := func() bool { <-mu; defer func() { mu <- struct{}{} }(); return gone }
	rc := newReceiver(t, func(int, *http.Request, []byte, http.ResponseWriter) int {
		if isGone() {
			return http.StatusGone
		}
		return http.StatusOK
	})
	seqs := env.publish(t, 2, "gone")
	obs := newRecordingObserver()
	cfg := Config{Endpoints: []Endpoint{testEndpoint("siem", rc.URL)}, Observer: obs}
	r, stop := env.run(t, cfg)
	ctx := t.Context()

	var st EndpointState
	waitFor(t, 15*time.Second, "endpoint disabled", env.watchKey(t, stateKeyPrefix+"siem"), func() bool {
		st, _ = r.Admin().State(ctx, "siem")
		return !st.Enabled
	})
	if st.Status != 410 || st.ChangedBy != "relay" {
		t.Errorf("state = %+v", st)
	}
	ops := env.opsEvent(t, "relay_endpoint_disabled")
	if ops.Fields["endpoint"] != "siem" || ops.Fields["status"] != "410" {
		t.Errorf("ops event = %+v", ops)
	}
	seqs = append(seqs, env.publish(t, 2, "while-disabled")...)
	stop()
	_, stop = env.run(t, cfg) // a restart keeps the endpoint disabled and in place
	waitFor(t, 10*time.Second, "observer hears disabled", &obs.changed, func() bool {
		obs.mu.Lock()
		defer obs.mu.Unlock()
		on, ok := obs.enabled["siem"]
		return ok && !on
	})
	info := consumerInfo(t, env, "siem")
	if !info.Paused || info.NumAckPending+int(info.NumPending) != 4 {
		t.Errorf("consumer paused=%v ack pending %d pending %d; want paused with 4 events waiting", info.Paused, info.NumAckPending, info.NumPending)
	}
	if n := len(rc.all()); n != 1 {
		t.Errorf("%d requests while disabled, want only the one that met the 410", n)
	}

	<-mu
	gone = false
	mu <- struct{}{}
	if err := r.Admin().Enable(ctx, "siem"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "backlog delivered", &rc.changed, func() bool { return len(rc.accepted()) == 4 })
	stop()
	if diff := cmp.Diff(seqs, rc.accepted()); diff != "" {
		t.Errorf("backlog order (-want +got):\n%s", diff)
	}
	if ops := env.opsEvent(t, "relay_endpoint_enabled"); ops.Fields["changed_by"] != "operator" {
		t.Errorf("enabled ops event = %+v", ops)
	}
}

func consumerInfo(t testing.TB, env *relayEnv, endpoint string) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := env.js.Consumer(context.Background(), "GENESYS_AUDIT_RELAY", ConsumerName(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// The relay's replay sends exactly the events stored at or after T (and before Until), signed,
// without touching the endpoint's consumer.
func TestReplaySinceSendsExactlyTheEventsAfterT(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	seqs := env.publish(t, 6, "replay")
	t3, t4 := env.stored(t, seqs[3]).Time, env.stored(t, seqs[4]).Time
	if !env.stored(t, seqs[2]).Time.Before(t3) {
		t.Fatal("two events stored in the same nanosecond: the test cannot tell them apart")
	}
	rc := newReceiver(t, func(_ int, r *http.Request, body []byte, _ http.ResponseWriter) int {
		if err := audit.Verify(vectorSecret, r.Header, body, time.Now(), 0); err != nil {
			return http.StatusUnauthorized
		}
		return http.StatusNoContent
	})
	r, err := New(t.Context(), Config{JetStream: env.js, Endpoints: []Endpoint{testEndpoint("siem", rc.URL)}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Replay(t.Context(), "siem", ReplayOptions{Since: t3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(seqs[3:], rc.accepted()); diff != "" {
		t.Errorf("replayed (-want +got):\n%s", diff)
	}
	if res.Delivered != 3 || res.FirstSeq != seqs[3] || res.LastSeq != seqs[5] {
		t.Errorf("result = %+v", res)
	}
	// A window: [t(seq 1), t(seq 4)) is events 1, 2 and 3.
	res, err = r.Replay(t.Context(), "siem", ReplayOptions{Since: env.stored(t, seqs[1]).Time, Until: t4})
	if err != nil || res.Delivered != 3 {
		t.Fatalf("window replay = %+v, %v", res, err)
	}
	if diff := cmp.Diff(append(slices.Clone(seqs[3:]), seqs[1:4]...), rc.accepted()); diff != "" {
		t.Errorf("after the window replay (-want +got):\n%s", diff)
	}
	if _, err := env.js.Consumer(t.Context(), "GENESYS_AUDIT_RELAY", ConsumerName("siem")); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("replay created or touched the durable consumer: %v", err)
	}
	if _, err := r.Replay(t.Context(), "nope", ReplayOptions{Since: t3}); err == nil {
		t.Error("replay to an unknown endpoint succeeded")
	}
	if err := r.Admin().Disable(t.Context(), "siem", "maintenance"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Replay(t.Context(), "siem", ReplayOptions{Since: t3}); !errors.Is(err, ErrEndpointDisabled) {
		t.Errorf("replay to a disabled endpoint: %v", err)
	}
}

// An ops event warns when an undelivered event nears the audit stream's MaxAge.
func TestRelayWarnsBeforeBacklogLeavesRetention(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, time.Hour)
	obs := newRecordingObserver()
	cfg := Config{Endpoints: []Endpoint{testEndpoint("siem", "http://127.0.0.1:1/never")}, Observer: obs,
		MonitorInterval: 20 * time.Millisecond, nowFunc: func() time.Time { return time.Now().Add(50 * time.Minute) }}
	admin, err := NewEndpointAdmin(t.Context(), Config{JetStream: env.js})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Disable(t.Context(), "siem", "SIEM migration"); err != nil {
		t.Fatal(err)
	}
	seqs := env.publish(t, 2, "old")
	env.run(t, cfg)
	ops := env.opsEvent(t, "relay_backlog_at_risk")
	want := map[string]string{"endpoint": "siem", "events": "2", "oldest_seq": strconv.FormatUint(seqs[0], 10), "max_age_s": "3600"}
	for k, v := range want {
		if ops.Fields[k] != v {
			t.Errorf("field %s = %q, want %q (all: %v)", k, ops.Fields[k], v, ops.Fields)
		}
	}
	waitFor(t, 5*time.Second, "backlog metric", &obs.changed, func() bool { obs.mu.Lock(); defer obs.mu.Unlock(); return obs.backlog["siem"] == 2 })
}
