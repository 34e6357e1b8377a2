package relay

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
)

// relayStream is the relay's mirror of GENESYS_AUDIT in these tests.
const relayStream = "GENESYS_AUDIT_RELAY"

// waitPosition waits until the relay has recorded endpoint's position at or past seq.
func waitPosition(t *testing.T, env *relayEnv, endpoint string, seq uint64) {
	t.Helper()
	kv, err := env.js.KeyValue(t.Context(), "genesys-relay")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "position record", env.watchKey(t, positionKey(endpoint)), func() bool {
		e, err := kv.Get(t.Context(), positionKey(endpoint))
		var p position
		return err == nil && json.Unmarshal(e.Value(), &p) == nil && p.Seq >= seq
	})
}

// outageReceiver answers 503 while down is set, else 204.
func outageReceiver(t *testing.T, down *atomic.Bool) *receiver {
	return newReceiver(t, func(int, *http.Request, []byte, http.ResponseWriter) int {
		if down.Load() {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
}

// Review D8 (probe 65): deleting the relay's consumer during an endpoint outage made the relay
// recreate it from "new", skipping the backlog silently. Now it is recreated right after the last
// delivered event, with an ops event, and the backlog arrives once the endpoint is back.
func TestRelayRecreatesDeletedConsumerFromLastDelivered(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	var down atomic.Bool
	rc := outageReceiver(t, &down)
	ep := testEndpoint("siem", rc.URL)
	ep.Schedule = tinySchedule(500) // the outage must not exhaust the attempts
	env.run(t, Config{Endpoints: []Endpoint{ep}, ConsumerCheckInterval: 50 * time.Millisecond})
	before := env.publish(t, 2, "before")
	waitFor(t, 10*time.Second, "first events delivered", &rc.changed, func() bool { return len(rc.accepted()) == 2 })
	waitPosition(t, env, "siem", before[1])

	down.Store(true)
	backlog := env.publish(t, 3, "outage")
	waitFor(t, 10*time.Second, "a failed attempt", &rc.changed, func() bool { return len(rc.all()) > 2 })
	if err := env.js.DeleteConsumer(t.Context(), relayStream, ConsumerName("siem")); err != nil { // an admin's mistake
		t.Fatal(err)
	}
	ops := env.opsEvent(t, "relay_consumer_recreated")
	if ops.Fields["endpoint"] != "siem" || !strings.Contains(ops.Fields["found"], "missing") ||
		ops.Fields["start_seq"] != strconv.FormatUint(before[1]+1, 10) {
		t.Errorf("ops event = %+v", ops)
	}
	down.Store(false)
	want := append(slices.Clone(before), backlog...)
	waitFor(t, 15*time.Second, "backlog delivered", &rc.changed, func() bool { return len(rc.accepted()) >= len(want) })
	if diff := cmp.Diff(want, rc.accepted()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	kv, err := env.js.KeyValue(t.Context(), "genesys-relay")
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := kv.ListKeysFiltered(t.Context(), "attempts.>"); err == nil {
		for k := range keys.Keys() {
			t.Errorf("attempts left behind: %s", k)
		}
	}
}

// Review D8 (probe 64): changing the relay consumer's filter stopped every delivery unnoticed.
// Now the change is found within a check interval and undone by recreating the consumer from the
// last recorded position, with an ops event; events stored meanwhile still arrive.
func TestRelayRevertsAlteredConsumerFilter(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	var down atomic.Bool
	rc := outageReceiver(t, &down)
	env.run(t, Config{Endpoints: []Endpoint{testEndpoint("siem", rc.URL)}, ConsumerCheckInterval: 50 * time.Millisecond})
	first := env.publish(t, 1, "first")
	waitFor(t, 10*time.Second, "first event delivered", &rc.changed, func() bool { return len(rc.accepted()) == 1 })
	waitPosition(t, env, "siem", first[0])

	cfg := consumerInfo(t, env, "siem").Config
	cfg.FilterSubjects = []string{"genesys.audit.ops.nothing-here"}
	if _, err := env.js.UpdateConsumer(t.Context(), relayStream, cfg); err != nil {
		t.Fatal(err)
	}
	later := env.publish(t, 3, "later")
	ops := env.opsEvent(t, "relay_consumer_recreated")
	if !strings.Contains(ops.Fields["found"], "genesys.audit.ops.nothing-here") {
		t.Errorf("ops event = %+v", ops)
	}
	want := append(slices.Clone(first), later...)
	waitFor(t, 15*time.Second, "later events delivered", &rc.changed, func() bool { return len(rc.accepted()) >= len(want) })
	if diff := cmp.Diff(want, rc.accepted()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if got := consumerInfo(t, env, "siem").Config; !slices.Equal(filtersOf(got), []string{"genesys.audit.user.>"}) {
		t.Errorf("filter after repair = %v", filtersOf(got))
	}
}

// A consumer replaced under the same name (here: deliver "new", ack none) is found by its
// creation time and recreated from the recorded position.
func TestRelayReplacesForeignConsumer(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	var down atomic.Bool
	down.Store(true)
	rc := outageReceiver(t, &down)
	ep := testEndpoint("siem", rc.URL)
	ep.Schedule = tinySchedule(500)
	_, stop := env.run(t, Config{Endpoints: []Endpoint{ep}, ConsumerCheckInterval: time.Hour})
	backlog := env.publish(t, 2, "backlog")
	waitFor(t, 10*time.Second, "a failed attempt", &rc.changed, func() bool { return len(rc.all()) > 0 })
	waitPosition(t, env, "siem", 0)
	stop()
	ctx := context.Background()
	if err := env.js.DeleteConsumer(ctx, relayStream, ConsumerName("siem")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.js.CreateConsumer(ctx, relayStream, jetstream.ConsumerConfig{Durable: ConsumerName("siem"),
		FilterSubject: "genesys.audit.user.>", DeliverPolicy: jetstream.DeliverNewPolicy, AckPolicy: jetstream.AckNonePolicy}); err != nil {
		t.Fatal(err)
	}
	down.Store(false)
	env.run(t, Config{Endpoints: []Endpoint{ep}, ConsumerCheckInterval: time.Hour})
	ops := env.opsEvent(t, "relay_consumer_recreated")
	if !strings.Contains(ops.Fields["found"], "replaced") || !strings.Contains(ops.Fields["found"], "ack policy") {
		t.Errorf("ops event = %+v", ops)
	}
	waitFor(t, 15*time.Second, "backlog delivered", &rc.changed, func() bool { return len(rc.accepted()) >= len(backlog) })
	if diff := cmp.Diff(backlog, rc.accepted()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

// A relay stream that stops mirroring shows as backlog of every endpoint, so that the backlog
// alerts fire rather than deliveries stopping unnoticed.
func TestRelayCountsUnmirroredEventsAsBacklog(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	if _, err := env.js.CreateStream(t.Context(), jetstream.StreamConfig{Name: relayStream,
		Mirror: &jetstream.StreamSource{Name: "NOT_THE_AUDIT_STREAM"}}); err != nil {
		t.Fatal(err)
	}
	obs := newRecordingObserver()
	env.run(t, Config{Endpoints: []Endpoint{testEndpoint("siem", "http://127.0.0.1:1/never")}, Observer: obs,
		MonitorInterval: 20 * time.Millisecond})
	env.publish(t, 3, "stuck")
	waitFor(t, 10*time.Second, "backlog of 3", &obs.changed, func() bool { obs.mu.Lock(); defer obs.mu.Unlock(); return obs.backlog["siem"] == 3 })
}

// A relay upgraded from reading the audit stream continues where the endpoint's old consumer
// there stopped, not from StartAt: the events it had not delivered yet still arrive.
func TestRelayContinuesWhereTheAuditStreamConsumerStopped(t *testing.T) {
	t.Parallel()
	env := newRelayEnv(t, 0)
	seqs := env.publish(t, 4, "upgrade")
	old, err := env.js.CreateConsumer(t.Context(), "GENESYS_AUDIT", jetstream.ConsumerConfig{Durable: ConsumerName("siem"),
		FilterSubject: "genesys.audit.user.>", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := old.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		if err := m.DoubleAck(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	rc := newReceiver(t, func(int, *http.Request, []byte, http.ResponseWriter) int { return http.StatusNoContent })
	ep := testEndpoint("siem", rc.URL)
	ep.StartAt = "new"
	env.run(t, Config{Endpoints: []Endpoint{ep}})
	waitFor(t, 10*time.Second, "the rest delivered", &rc.changed, func() bool { return len(rc.accepted()) >= 2 })
	if diff := cmp.Diff(seqs[2:], rc.accepted()); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}
