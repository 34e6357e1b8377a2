package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Secrets of the tests: the Standard Webhooks spec's test vector secret and another valid one,
// for rotation.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secondSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

// relayEnv is a NATS server with the audit and dead-letter streams of DESIGN.md.
type relayEnv struct {
	js    jetstream.JetStream
	audit jetstream.Stream
	dead  jetstream.Stream
	pub   *audit.Publisher
}

func newRelayEnv(t testing.TB, auditMaxAge time.Duration) *relayEnv {
	t.Helper()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	auditStream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "GENESYS_AUDIT", Subjects: []string{"genesys.audit.>"}, Retention: jetstream.LimitsPolicy,
		Discard: jetstream.DiscardNew, MaxAge: auditMaxAge, Duplicates: time.Minute, DenyDelete: true, DenyPurge: true,
	})
	if err != nil {
		t.Fatalf("audit stream: %v", err)
	}
	dead, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "GENESYS_DEAD", Subjects: []string{"genesys.dead.>"}, Retention: jetstream.LimitsPolicy, Duplicates: time.Minute,
	})
	if err != nil {
		t.Fatalf("dead stream: %v", err)
	}
	pub, err := audit.NewPublisher(js, audit.PublisherConfig{Stream: "GENESYS_AUDIT"})
	if err != nil {
		t.Fatal(err)
	}
	return &relayEnv{js: js, audit: auditStream, dead: dead, pub: pub}
}

// publish stores n deactivation events with job ids <tag>-<i> and returns their sequences.
func (e *relayEnv) publish(t testing.TB, n int, tag string) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := range n {
		ev, err := audit.Origin{}.UserEvent(audit.Record{JobID: fmt.Sprintf("%s-%d", tag, i), Outcome: audit.OutcomeDeactivated,
			Time: time.Now(), User: audit.Target{ID: "0b5c3d2e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"}})
		if err != nil {
			t.Fatal(err)
		}
		ack, err := e.pub.Publish(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ack.Sequence)
	}
	return seqs
}

// stored returns the stored message of seq.
func (e *relayEnv) stored(t testing.TB, seq uint64) *jetstream.RawStreamMsg {
	t.Helper()
	m, err := e.audit.GetMsg(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// run starts a relay with cfg on the environment; the returned function stops it and waits.
func (e *relayEnv) run(t testing.TB, cfg Config) (*Relay, func()) {
	t.Helper()
	cfg.JetStream = e.js
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	r, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("relay did not stop within 30s")
			}
		})
	}
	t.Cleanup(stop)
	return r, stop
}

// testEndpoint is an endpoint for a loopback test server, reading the stream from its start.
func testEndpoint(name, url string) Endpoint {
	return Endpoint{
		Name: name, URL: url, Secrets: []string{vectorSecret}, AllowPrivate: true, StartAt: "all",
		Subjects: []string{"genesys.audit.user.>"}, Timeout: 5 * time.Second, Schedule: tinySchedule(30),
	}
}

func tinySchedule(n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = 20 * time.Millisecond
	}
	return s
}

// hit is one request a receiver saw and what it answered.
type hit struct {
	at     time.Time
	header http.Header
	body   []byte
	status int
}

func (h hit) seq() uint64 {
	n, _ := strconv.ParseUint(h.header.Get(audit.HeaderWebhookSequence), 10, 64)
	return n
}

// receiver is a webhook endpoint that records every request; respond decides the answer to the
// n-th request (1-based).
type receiver struct {
	*httptest.Server
	changed changes // notified after each answer
	mu      sync.Mutex
	hits    []hit
	respond func(n int, r *http.Request, body []byte, w http.ResponseWriter) int
}

func newReceiver(t testing.TB, respond func(n int, r *http.Request, body []byte, w http.ResponseWriter) int) *receiver {
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(rc)
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.hits) + 1
	rc.hits = append(rc.hits, hit{at: time.Now(), header: r.Header.Clone(), body: body})
	rc.mu.Unlock()
	rec := httptest.NewRecorder() // respond may set headers and write a body before its status
	status := rc.respond(n, r, body, rec)
	rc.mu.Lock()
	rc.hits[n-1].status = status
	rc.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(rec.Body.Bytes())
	rc.changed.notify()
}

func (rc *receiver) all() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

// accepted returns the sequences of the requests answered 2xx, in arrival order.
func (rc *receiver) accepted() []uint64 {
	var out []uint64
	for _, h := range rc.all() {
		if h.status >= 200 && h.status < 300 {
			out = append(out, h.seq())
		}
	}
	return out
}

// changes wakes waiters whenever what they watch changes: a receiver's requests, an observer's
// counts, a KV key. The zero value is ready to use.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

// next returns a channel closed at the next notify.
func (c *changes) next() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *changes) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// waitFor checks cond now and after every change, for up to d: no polling.
func waitFor(t testing.TB, d time.Duration, what string, c *changes, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		next := c.next() // before cond, so that no change between the two is missed
		if cond() {
			return
		}
		select {
		case <-next:
		case <-timeout.C:
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// watchKey returns changes notified at every update of key in the relay's state bucket.
func (e *relayEnv) watchKey(t testing.TB, key string) *changes {
	t.Helper()
	kv, err := e.js.KeyValue(context.Background(), "genesys-relay")
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.Watch(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	c := &changes{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range w.Updates() {
			c.notify()
		}
	}()
	t.Cleanup(func() { _ = w.Stop(); <-done })
	return c
}

// nextMsg waits for the last message on subject in stream, or the first one to come.
func (e *relayEnv) nextMsg(t testing.TB, stream, subject string) jetstream.Msg {
	t.Helper()
	cons, err := e.js.OrderedConsumer(context.Background(), stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(15 * time.Second))
	if err != nil {
		t.Fatalf("waiting for a message on %s: %v", subject, err)
	}
	return m
}

// deadLetter waits for the relay dead letter of endpoint and decodes it.
func (e *relayEnv) deadLetter(t testing.TB, endpoint string) DeadLetter {
	t.Helper()
	m := e.nextMsg(t, "GENESYS_DEAD", "genesys.dead.relay."+endpoint)
	var dl DeadLetter
	if err := json.Unmarshal(m.Data(), &dl); err != nil {
		t.Fatal(err)
	}
	return dl
}

// opsEvent waits for the last ops event of kind and returns its data.
func (e *relayEnv) opsEvent(t testing.TB, kind string) audit.OpsData {
	t.Helper()
	m := e.nextMsg(t, "GENESYS_AUDIT", "genesys.audit.ops."+kind)
	var ev struct{ Data audit.OpsData }
	if err := json.Unmarshal(m.Data(), &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Data
}

// recordingObserver counts what the relay reports.
type recordingObserver struct {
	changed  changes // notified after each call
	mu       sync.Mutex
	statuses map[string]int // endpoint/status → attempts
	retries  map[string]int
	dead     map[string]int
	backlog  map[string]uint64
	enabled  map[string]bool
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{statuses: map[string]int{}, retries: map[string]int{}, dead: map[string]int{},
		backlog: map[string]uint64{}, enabled: map[string]bool{}}
}

// update changes the counts under the lock, then wakes waiters.
func (o *recordingObserver) update(f func()) {
	o.mu.Lock()
	f()
	o.mu.Unlock()
	o.changed.notify()
}

func (o *recordingObserver) Attempted(ep, status string, _ time.Duration) {
	o.update(func() { o.statuses[ep+"/"+status]++ })
}
func (o *recordingObserver) Delivered(string, time.Duration) {}
func (o *recordingObserver) Retried(ep string)               { o.update(func() { o.retries[ep]++ }) }
func (o *recordingObserver) DeadLettered(ep string)          { o.update(func() { o.dead[ep]++ }) }
func (o *recordingObserver) Backlog(ep string, n uint64, _ time.Duration) {
	o.update(func() { o.backlog[ep] = n })
}
func (o *recordingObserver) EndpointEnabled(ep string, on bool) {
	o.update(func() { o.enabled[ep] = on })
}

func (o *recordingObserver) count(m map[string]int, key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return m[key]
}
