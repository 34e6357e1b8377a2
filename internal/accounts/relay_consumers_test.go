package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/relaycmd"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
)

// relayStream is the relay's own mirror of the audit stream (review D8).
const relayStream = "GENESYS_AUDIT_RELAY"

// testSecret signs the relay's deliveries in these tests.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hookReceiver records the webhook-sequence of every request and answers status.
type hookReceiver struct {
	*httptest.Server
	status   atomic.Int32
	mu       sync.Mutex
	accepted []uint64
	hits     int
	hit      chan struct{} // closed by the next request; nil until someone waits
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.status.Store(http.StatusNoContent)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := int(h.status.Load())
		seq, _ := strconv.ParseUint(r.Header.Get(audit.HeaderWebhookSequence), 10, 64)
		h.mu.Lock()
		h.hits++
		if status < 300 {
			h.accepted = append(h.accepted, seq)
		}
		if h.hit != nil {
			close(h.hit)
			h.hit = nil
		}
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) counts() (hits int, accepted []uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits, append([]uint64(nil), h.accepted...)
}

// relayBed is a server with the shipped accounts config, the topology provisioned, and a relay
// running as the relay user with one endpoint, siem.
type relayBed struct {
	url    string
	worker *client
	relay  *client // the relay's user
	rc     *hookReceiver
	pub    *audit.Publisher
}

func newRelayBed(t *testing.T) *relayBed {
	t.Helper()
	b := &relayBed{url: startServer(t), rc: newHookReceiver(t)}
	b.worker = connect(t, b.url, "worker")
	provision(t, b.url)
	var err error
	if b.pub, err = audit.NewPublisher(b.worker.js, audit.PublisherConfig{Prefix: "genesys", Stream: "GENESYS_AUDIT"}); err != nil {
		t.Fatal(err)
	}
	as := connect(t, b.url, "relay")
	b.relay = as
	sched := make([]time.Duration, 50)
	for i := range sched {
		sched[i] = 50 * time.Millisecond
	}
	r, err := relay.New(t.Context(), relay.Config{JetStream: as.js, Logger: zaptest.NewLogger(t),
		Endpoints: []relay.Endpoint{{Name: "siem", URL: b.rc.URL, Secrets: []string{testSecret}, AllowPrivate: true,
			StartAt: "all", Subjects: []string{"genesys.audit.user.>"}, Timeout: 5 * time.Second, Schedule: sched}}})
	if err != nil {
		t.Fatalf("relay as the relay user: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.Run(ctx); err != nil {
			t.Errorf("relay Run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return b
}

// publish stores n user audit events as the worker and returns their sequences.
func (b *relayBed) publish(t *testing.T, n int, tag string) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := range n {
		ev, err := audit.Origin{}.UserEvent(audit.Record{JobID: tag + "-" + strconv.Itoa(i), Outcome: audit.OutcomeDeactivated,
			Time: time.Now(), User: audit.Target{ID: "0b5c3d2e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"}})
		if err != nil {
			t.Fatal(err)
		}
		ack, err := b.pub.Publish(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	return seqs
}

// waitTimeout bounds every wait of these tests.
const waitTimeout = 20 * time.Second

// waitAccepted waits until the receiver has accepted n deliveries, hearing of each request.
func (h *hookReceiver) waitAccepted(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		h.mu.Lock()
		got := len(h.accepted)
		if h.hit == nil {
			h.hit = make(chan struct{})
		}
		hit := h.hit
		h.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-hit:
		case <-timeout:
			t.Fatalf("timed out waiting for %d accepted deliveries; got %d", n, got)
		}
	}
}

// waitStored waits, as c, until stream stores a message on subject (any when "") that match accepts, reading
// the stream with an ordered consumer (which the server delivers to as it stores).
func waitStored(t *testing.T, c *client, stream, subject string, match func(jetstream.Msg) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	var cfg jetstream.OrderedConsumerConfig
	if subject != "" {
		cfg.FilterSubjects = []string{subject}
	}
	cons, err := c.js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		t.Fatalf("%s: ordered consumer on %s: %v", c.role, stream, err)
	}
	for {
		msg, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("%s: waiting for a message on %s in %s: %v", c.role, subject, stream, err)
		}
		if match(msg) {
			return
		}
	}
}

// Review D8 (probes 63–65): no role but the relay may fetch from, ack, change or delete the
// relay's consumers. They live on the relay's own stream, on which producer, auditor and operator
// have no such permission; and on the audit stream, where these roles keep their readers, there
// is no relay consumer to reach.
func TestRelayConsumersAreOutOfOtherRolesReach(t *testing.T) {
	t.Parallel()
	b := newRelayBed(t)
	seqs := b.publish(t, 2, "d8-before")
	b.rc.waitAccepted(t, 2)
	for _, role := range []string{"producer", "auditor", "operator"} {
		c := connect(t, b.url, role)
		checkCannotTouchRelayConsumer(t, c)
	}
	seqs = append(seqs, b.publish(t, 2, "d8-after")...)
	b.rc.waitAccepted(t, len(seqs))
	if _, acc := b.rc.counts(); !slices.Equal(acc, seqs) {
		t.Errorf("delivered %v, want %v (no gap, nothing stolen)", acc, seqs)
	}
}

// checkCannotTouchRelayConsumer runs the review's attacks on relay-siem as c.
func checkCannotTouchRelayConsumer(t *testing.T, c *client) {
	t.Helper()
	cname := relay.ConsumerName("siem")
	c.denied("fetch from the relay's consumer", "$JS.API.CONSUMER.MSG.NEXT."+relayStream, true, func(ctx context.Context) error {
		_, err := c.nc.RequestWithContext(ctx, "$JS.API.CONSUMER.MSG.NEXT."+relayStream+"."+cname, []byte(`{"batch":1,"expires":500000000}`))
		return err
	})
	c.denied("ack for the relay's consumer", "$JS.ACK."+relayStream, false, func(context.Context) error {
		return c.nc.Publish("$JS.ACK."+relayStream+"."+cname+".1.3.3.1765000000000000000.0", []byte("+ACK"))
	})
	c.denied("change the relay consumer's filter", "$JS.API.CONSUMER.CREATE."+relayStream, true, func(ctx context.Context) error {
		_, err := c.js.UpdateConsumer(ctx, relayStream, jetstream.ConsumerConfig{Durable: cname,
			FilterSubject: "genesys.audit.ops.nothing-here", AckPolicy: jetstream.AckExplicitPolicy})
		return err
	})
	c.denied("delete the relay's consumer", "$JS.API.CONSUMER.DELETE."+relayStream, true, func(ctx context.Context) error {
		return c.js.DeleteConsumer(ctx, relayStream, cname)
	})
	if c.role != "operator" { // the operator pauses and resumes endpoints (relay endpoints disable|enable)
		c.denied("pause the relay's consumer", "$JS.API.CONSUMER.PAUSE."+relayStream, true, func(ctx context.Context) error {
			_, err := c.js.PauseConsumer(ctx, relayStream, cname, time.Now().Add(time.Hour))
			return err
		})
	}
	c.denied("write the relay's consumer position", "$KV.genesys-relay.position", false, func(context.Context) error {
		return c.nc.Publish("$KV.genesys-relay.position.siem", []byte(`{"seq":999999}`))
	})
	// The review's probes, by name, on the audit stream: the relay's consumer is not there.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.js.Consumer(ctx, "GENESYS_AUDIT", cname); err == nil {
		t.Errorf("%s: reached %s on GENESYS_AUDIT", c.role, cname)
		if cons, err := c.js.Consumer(ctx, "GENESYS_AUDIT", cname); err == nil {
			if msg, err := cons.Next(jetstream.FetchMaxWait(time.Second)); err == nil {
				t.Errorf("%s: fetched %s from the relay's consumer", c.role, msg.Subject())
			}
		}
	}
	if _, err := c.js.UpdateConsumer(ctx, "GENESYS_AUDIT", jetstream.ConsumerConfig{Durable: cname,
		FilterSubject: "genesys.audit.ops.nothing-here", AckPolicy: jetstream.AckExplicitPolicy}); err == nil {
		t.Errorf("%s: changed the filter of %s on GENESYS_AUDIT", c.role, cname)
	}
}

// opsEventAs reads the last ops event of kind as c, or nil when there is none.
func opsEventAs(ctx context.Context, c *client, kind string) *audit.OpsData {
	s, err := c.js.Stream(ctx, "GENESYS_AUDIT")
	if err != nil {
		return nil
	}
	m, err := s.GetLastMsgForSubject(ctx, "genesys.audit.ops."+kind)
	if err != nil {
		return nil
	}
	var ev struct{ Data audit.OpsData }
	if json.Unmarshal(m.Data, &ev) != nil {
		return nil
	}
	return &ev.Data
}

// relayAs runs the relay command as role.
func relayAs(t *testing.T, url, role string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--nats-url", url, "--nats-user", role, "--nats-password", password(role))
	code := relaycmd.Main(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// Review D9 (probe 56): under the shipped accounts config an endpoint answering 410 is disabled
// (state stored, consumer paused, relay_endpoint_disabled stored) and gets nothing more; the
// operator lists it and enables it again, and its backlog arrives in order.
func TestRelay410AndEndpointCommandsUnderAccounts(t *testing.T) {
	t.Parallel()
	b := newRelayBed(t)
	first := b.publish(t, 1, "d9-first")
	b.rc.waitAccepted(t, 1)
	b.rc.status.Store(http.StatusGone)
	gone := b.publish(t, 1, "d9-gone")
	operator := connect(t, b.url, "operator")
	// The relay stores the state, pauses the consumer, then stores the ops event.
	waitStored(t, operator, "GENESYS_AUDIT", "genesys.audit.ops.relay_endpoint_disabled", func(jetstream.Msg) bool { return true })
	ops := opsEventAs(t.Context(), operator, "relay_endpoint_disabled")
	if ops == nil {
		t.Fatal("operator cannot read the relay_endpoint_disabled ops event")
	}
	if ops.Fields["endpoint"] != "siem" || ops.Fields["status"] != "410" || ops.Fields["changed_by"] != "relay" {
		t.Errorf("ops event = %+v", ops)
	}
	later := b.publish(t, 1, "d9-later")
	for _, role := range []string{"operator", "relay"} {
		code, out, errOut := relayAs(t, b.url, role, "endpoints", "list")
		if code != 0 {
			t.Fatalf("relay endpoints list as %s: exit %d, stderr %q", role, code, errOut)
		}
		if !strings.Contains(out, "siem") || !strings.Contains(out, "DISABLED") || !strings.Contains(out, "endpoint answered 410 Gone") ||
			strings.Contains(out, "\tenabled") {
			t.Errorf("list as %s does not show the endpoint disabled:\n%s", role, out)
		}
	}
	admin, err := relay.NewEndpointAdmin(t.Context(), relay.Config{JetStream: operator.js})
	if err != nil {
		t.Fatal(err)
	}
	// The relay's stream sources the audit stream: wait until it holds the later event.
	waitStored(t, b.relay, relayStream, "", func(m jetstream.Msg) bool { return bytes.Contains(m.Data(), []byte("d9-later-0")) })
	if all, err := admin.List(t.Context()); err != nil || len(all) != 1 || !all[0].Paused || all[0].State.Enabled || all[0].Pending < 1 {
		t.Errorf("endpoints = %+v, %v; want siem paused and disabled with the later event pending", all, err)
	}
	if hits, _ := b.rc.counts(); hits != 2 {
		t.Errorf("receiver got %d requests, want 2 (one delivery, one 410, nothing after)", hits)
	}
	b.rc.status.Store(http.StatusNoContent)
	if code, out, errOut := relayAs(t, b.url, "operator", "endpoints", "enable", "siem"); code != 0 || out != "endpoint siem enabled\n" {
		t.Fatalf("relay endpoints enable as operator: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	want := []uint64{first[0], gone[0], later[0]}
	b.rc.waitAccepted(t, 3) // the backlog, after enable
	if _, acc := b.rc.counts(); !slices.Equal(acc, want) {
		t.Errorf("delivered %v, want %v", acc, want)
	}
	if ops := opsEventAs(t.Context(), operator, "relay_endpoint_enabled"); ops == nil || ops.Fields["changed_by"] != "operator" {
		t.Errorf("enabled ops event = %+v", ops)
	}
}
