package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
)

// startJS starts a NATS server and returns a JetStream client on it and its URL.
func startJS(t *testing.T) (jetstream.JetStream, string) {
	t.Helper()
	s, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js, s.ClientURL()
}

// provisionedJS starts a NATS server and provisions cfg on it.
func provisionedJS(t *testing.T, cfg TopologyConfig) jetstream.JetStream {
	t.Helper()
	js, _ := startJS(t)
	if err := Provision(t.Context(), js, cfg); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return js
}

// streamShape is the part of a stream config that Provision decides.
type streamShape struct {
	Subjects              []string
	Retention             jetstream.RetentionPolicy
	Discard               jetstream.DiscardPolicy
	MaxMsgs, MaxBytes     int64
	MaxAge, Duplicates    time.Duration
	DenyDelete, DenyPurge bool
	Storage               jetstream.StorageType
	Replicas              int
}

func shapeOf(t *testing.T, js jetstream.JetStream, name string) streamShape {
	t.Helper()
	s, err := js.Stream(t.Context(), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	c := s.CachedInfo().Config
	return streamShape{c.Subjects, c.Retention, c.Discard, c.MaxMsgs, c.MaxBytes, c.MaxAge, c.Duplicates,
		c.DenyDelete, c.DenyPurge, c.Storage, c.Replicas}
}

type consumerShape struct {
	FilterSubjects []string
	DeliverPolicy  jetstream.DeliverPolicy
	AckPolicy      jetstream.AckPolicy
	AckWait        time.Duration
	MaxDeliver     int
	MaxAckPending  int
	BackOff        []time.Duration
}

func consumerOf(t *testing.T, js jetstream.JetStream, stream, name string) consumerShape {
	t.Helper()
	c, err := js.Consumer(t.Context(), stream, name)
	if err != nil {
		t.Fatalf("consumer %s: %v", name, err)
	}
	cc := c.CachedInfo().Config
	return consumerShape{cc.FilterSubjects, cc.DeliverPolicy, cc.AckPolicy, cc.AckWait, cc.MaxDeliver, cc.MaxAckPending, cc.BackOff}
}

type bucketShape struct {
	History             int64
	TTL, LimitMarkerTTL time.Duration
}

func bucketOf(t *testing.T, js jetstream.JetStream, name string) bucketShape {
	t.Helper()
	kv, err := js.KeyValue(t.Context(), name)
	if err != nil {
		t.Fatalf("bucket %s: %v", name, err)
	}
	st, err := kv.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return bucketShape{st.History(), st.TTL(), st.LimitMarkerTTL()}
}

func TestProvisionCreatesTheDocumentedTopology(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	const day = 24 * time.Hour
	streams := map[string]streamShape{
		"GENESYS_JOBS": {[]string{"genesys.jobs.urgent", "genesys.jobs.urgent.*", "genesys.jobs.normal", "genesys.jobs.normal.*", "genesys.jobs.reactivate", "genesys.jobs.reactivate.*", "genesys.jobs.cleanup", "genesys.jobs.cleanup.*", "genesys.jobs.at.*.*", "genesys.jobs.delete", "genesys.jobs.delete.*"}, jetstream.WorkQueuePolicy,
			jetstream.DiscardNew, -1, -1, 7 * day, day, false, false, jetstream.FileStorage, 1},
		"GENESYS_AUDIT": {[]string{"genesys.audit.>"}, jetstream.LimitsPolicy,
			jetstream.DiscardNew, -1, -1, 400 * day, day, true, true, jetstream.FileStorage, 1},
		"GENESYS_DEAD": {[]string{"genesys.dead.>"}, jetstream.LimitsPolicy,
			jetstream.DiscardNew, -1, -1, 30 * day, day, false, false, jetstream.FileStorage, 1},
		"GENESYS_ADVISORIES": {[]string{
			"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.GENESYS_JOBS.*",
			"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.GENESYS_JOBS.*",
		}, jetstream.LimitsPolicy, jetstream.DiscardOld, -1, -1, 30 * day, 2 * time.Minute, false, false, jetstream.FileStorage, 1},
		// Nothing is discarded by a limit: pending schedules stay until they fire.
		"GENESYS_SCHEDULED": {[]string{"genesys.scheduled.at.*.*.*", "genesys.scheduled.due.*.*.*", "genesys.scheduled.canceled.*.*.*"},
			jetstream.LimitsPolicy, jetstream.DiscardOld, -1, -1, 0, 2 * time.Minute, true, false, jetstream.FileStorage, 1},
	}
	for name, want := range streams {
		if diff := cmp.Diff(want, shapeOf(t, js, name)); diff != "" {
			t.Errorf("stream %s (-want +got):\n%s", name, diff)
		}
	}
	consumers := map[string]consumerShape{
		"workers-urgent":  {[]string{"genesys.jobs.urgent", "genesys.jobs.urgent.*"}, jetstream.DeliverAllPolicy, jetstream.AckExplicitPolicy, 30 * time.Second, 100, 1000, nil},
		"workers-normal":  {[]string{"genesys.jobs.normal", "genesys.jobs.normal.*", "genesys.jobs.reactivate", "genesys.jobs.reactivate.*"}, jetstream.DeliverAllPolicy, jetstream.AckExplicitPolicy, 30 * time.Second, 100, 1000, nil},
		"workers-cleanup": {[]string{"genesys.jobs.cleanup", "genesys.jobs.cleanup.*"}, jetstream.DeliverAllPolicy, jetstream.AckExplicitPolicy, 30 * time.Second, 100, 1000, nil},
		"workers-at":      {[]string{"genesys.jobs.at.*.*"}, jetstream.DeliverAllPolicy, jetstream.AckExplicitPolicy, 30 * time.Second, 100, 1000, nil},
		"workers-delete":  {[]string{"genesys.jobs.delete", "genesys.jobs.delete.*"}, jetstream.DeliverAllPolicy, jetstream.AckExplicitPolicy, 30 * time.Second, 100, 1000, nil},
	}
	for name, want := range consumers {
		if diff := cmp.Diff(want, consumerOf(t, js, "GENESYS_JOBS", name)); diff != "" {
			t.Errorf("consumer %s (-want +got):\n%s", name, diff)
		}
	}
	buckets := map[string]bucketShape{
		"genesys-status": {1, 30 * day, 0},
		"genesys-budget": {1, 0, time.Minute},
		"genesys-guard":  {1, 0, time.Minute},
		"genesys-locks":  {1, 0, time.Minute},
		"genesys-holds":  {5, 0, 0}, // kept until removed; a removal stays visible in the history
	}
	for name, want := range buckets {
		if diff := cmp.Diff(want, bucketOf(t, js, name)); diff != "" {
			t.Errorf("bucket %s (-want +got):\n%s", name, diff)
		}
	}
}

func TestProvisionIsIdempotent(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	before := shapeOf(t, js, "GENESYS_JOBS")
	beforeCons := consumerOf(t, js, "GENESYS_JOBS", "workers-normal")
	if err := Provision(t.Context(), js, TopologyConfig{}); err != nil {
		t.Fatalf("second Provision: %v", err)
	}
	if diff := cmp.Diff(before, shapeOf(t, js, "GENESYS_JOBS")); diff != "" {
		t.Errorf("jobs stream changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(beforeCons, consumerOf(t, js, "GENESYS_JOBS", "workers-normal")); diff != "" {
		t.Errorf("consumer changed (-before +after):\n%s", diff)
	}
	var names []string
	for name := range js.StreamNames(t.Context()).Name() {
		names = append(names, name)
	}
	if len(names) != 11 { // 5 streams, 6 buckets (the drift watch's: issue 17)
		t.Errorf("streams after two calls = %v, want 11", names)
	}
}

func TestProvisionConcurrently(t *testing.T) {
	t.Parallel()
	_, url := startJS(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		nc, err := nats.Connect(url) // one connection per worker, as in a fleet
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		// As in a rolling upgrade, the configs differ: whichever call comes last wins, none fails.
		cfg := TopologyConfig{JobsMaxAge: time.Duration(7+i) * 24 * time.Hour, AckWait: time.Duration(30+i) * time.Second}
		wg.Go(func() { errs[i] = Provision(t.Context(), js, cfg) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
}

func TestProvisionAppliesAChangedConfig(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	cfg := TopologyConfig{AckWait: 10 * time.Second, JobsMaxAge: 48 * time.Hour, MaxAckPending: 7, StatusTTL: 2 * 24 * time.Hour}
	if err := Provision(t.Context(), js, cfg); err != nil {
		t.Fatalf("Provision with new config: %v", err)
	}
	if got := shapeOf(t, js, "GENESYS_JOBS").MaxAge; got != 48*time.Hour {
		t.Errorf("jobs MaxAge = %v, want 48h", got)
	}
	for _, name := range []string{"workers-urgent", "workers-normal", "workers-cleanup", "workers-at"} {
		got := consumerOf(t, js, "GENESYS_JOBS", name)
		if got.AckWait != 10*time.Second || got.MaxAckPending != 7 {
			t.Errorf("%s: AckWait %v MaxAckPending %d, want 10s and 7", name, got.AckWait, got.MaxAckPending)
		}
	}
	if got := bucketOf(t, js, "genesys-status").TTL; got != 48*time.Hour {
		t.Errorf("status TTL = %v, want 48h", got)
	}
}

func TestProvisionDerivesNamesFromThePrefix(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{Names: Names{Prefix: "acme.genesys"}})
	for stream, subjects := range map[string][]string{
		"ACME_GENESYS_JOBS":      {"acme.genesys.jobs.urgent", "acme.genesys.jobs.urgent.*", "acme.genesys.jobs.normal", "acme.genesys.jobs.normal.*", "acme.genesys.jobs.reactivate", "acme.genesys.jobs.reactivate.*", "acme.genesys.jobs.cleanup", "acme.genesys.jobs.cleanup.*", "acme.genesys.jobs.at.*.*", "acme.genesys.jobs.delete", "acme.genesys.jobs.delete.*"},
		"ACME_GENESYS_SCHEDULED": {"acme.genesys.scheduled.at.*.*.*", "acme.genesys.scheduled.due.*.*.*", "acme.genesys.scheduled.canceled.*.*.*"},
		"ACME_GENESYS_AUDIT":     {"acme.genesys.audit.>"},
		"ACME_GENESYS_DEAD":      {"acme.genesys.dead.>"},
		"ACME_GENESYS_ADVISORIES": {"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ACME_GENESYS_JOBS.*",
			"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.ACME_GENESYS_JOBS.*"},
	} {
		if diff := cmp.Diff(subjects, shapeOf(t, js, stream).Subjects); diff != "" {
			t.Errorf("%s subjects (-want +got):\n%s", stream, diff)
		}
	}
	if got := consumerOf(t, js, "ACME_GENESYS_JOBS", "workers-urgent").FilterSubjects; !slices.Equal(got, []string{"acme.genesys.jobs.urgent", "acme.genesys.jobs.urgent.*"}) {
		t.Errorf("urgent filter = %q", got)
	}
	for _, b := range []string{"acme-genesys-status", "acme-genesys-budget", "acme-genesys-guard", "acme-genesys-locks", "acme-genesys-holds"} {
		bucketOf(t, js, b)
	}
}

func TestProvisionEnablesPerKeyTTL(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	ctx := t.Context()
	kv, err := js.KeyValue(ctx, "genesys-locks")
	if err != nil {
		t.Fatal(err)
	}
	// Refused with "per-message TTL is disabled" unless the bucket allows per-key TTLs.
	if _, err := kv.Create(ctx, "lease", []byte("w1"), jetstream.KeyTTL(time.Second)); err != nil {
		t.Fatalf("Create with KeyTTL: %v", err)
	}
	// History 1 keeps the 1s TTL from being raised to the one-minute marker TTL. The expiry
	// leaves a marker (the bucket's LimitMarkerTTL), which a watcher hears as a purge.
	w, err := kv.Watch(ctx, "lease")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	timeout := time.After(10 * time.Second)
	for expired := false; !expired; {
		select {
		case e := <-w.Updates():
			expired = e != nil && e.Operation() == jetstream.KeyValuePurge
		case <-timeout:
			t.Fatal("gave up after 10s waiting for the lease to expire")
		}
	}
	if _, err := kv.Get(ctx, "lease"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("Get after the expiry = %v, want ErrKeyNotFound", err)
	}
}

func TestProvisionNamesAStreamThatCannotChange(t *testing.T) {
	t.Parallel()
	js, _ := startJS(t)
	_, err := js.CreateStream(t.Context(), jetstream.StreamConfig{
		Name: "GENESYS_JOBS", Subjects: []string{"genesys.jobs.*"}, Retention: jetstream.LimitsPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = Provision(t.Context(), js, TopologyConfig{})
	for _, want := range []string{"jobs: provision GENESYS_JOBS:", "retention Limits (want WorkQueue)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Provision over a limits stream = %v, want it to contain %q", err, want)
		}
	}
}

func TestProvisionRejectsABadConfig(t *testing.T) {
	t.Parallel()
	js, _ := startJS(t)
	for name, cfg := range map[string]TopologyConfig{
		"prefix":            {Names: Names{Prefix: "a..b"}},
		"replicas":          {Replicas: 6},
		"storage":           {Storage: 7},
		"window > max age":  {JobsMaxAge: time.Hour},
		"window > status":   {StatusTTL: time.Hour},
		"negative deliver":  {MaxDeliver: -1},
		"negative ack wait": {AckWait: -time.Second},
	} {
		if err := Provision(t.Context(), js, cfg); err == nil {
			t.Errorf("%s: Provision(%+v) = nil, want an error", name, cfg)
		}
	}
	if err := Provision(t.Context(), nil, TopologyConfig{}); err == nil {
		t.Error("Provision(nil JetStream) = nil")
	}
	if n := len(streamNames(t, js)); n != 0 {
		t.Errorf("a refused config created %d streams", n)
	}
}

func streamNames(t *testing.T, js jetstream.JetStream) []string {
	var names []string
	for name := range js.StreamNames(t.Context()).Name() {
		names = append(names, name)
	}
	return names
}

// advisory is the part of a JetStream consumer advisory the tests look at.
type advisory struct {
	Type       string `json:"type"`
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
	Reason     string `json:"reason"`
}

// fetchOneJob enqueues a job on the normal lane and fetches it from the normal consumer.
func fetchOneJob(t *testing.T, js jetstream.JetStream) jetstream.Msg {
	t.Helper()
	p, err := NewPublisher(js, Names{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Enqueue(t.Context(), validJob()); err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(t.Context(), "GENESYS_JOBS", "workers-normal")
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for msg := range batch.Messages() {
		return msg
	}
	t.Fatalf("no job fetched: %v", batch.Error())
	return nil
}

// waitForAdvisory waits for the first advisory on subject that the advisory stream stores,
// reading the stream with an ordered consumer (which the server delivers to as it stores).
func waitForAdvisory(t *testing.T, js jetstream.JetStream, subject string) advisory {
	t.Helper()
	cons, err := js.OrderedConsumer(t.Context(), "GENESYS_ADVISORIES",
		jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		t.Fatalf("waiting for an advisory on %s: %v", subject, err)
	}
	var a advisory
	if err := json.Unmarshal(msg.Data(), &a); err != nil {
		t.Fatalf("advisory %s: %v", msg.Data(), err)
	}
	return a
}

func TestAdvisoryStreamCapturesTerminatedJobs(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	msg := fetchOneJob(t, js)
	if err := msg.TermWithReason("test"); err != nil {
		t.Fatal(err)
	}
	got := waitForAdvisory(t, js, "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.GENESYS_JOBS.workers-normal")
	want := advisory{Type: "io.nats.jetstream.advisory.v1.terminated", Stream: "GENESYS_JOBS",
		Consumer: "workers-normal", StreamSeq: 1, Deliveries: 1, Reason: "test"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("advisory (-want +got):\n%s", diff)
	}
}

func TestAdvisoryStreamCapturesMaxDeliveries(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{MaxDeliver: 1, AckWait: 200 * time.Millisecond})
	_ = fetchOneJob(t, js) // and never ack it
	got := waitForAdvisory(t, js, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.GENESYS_JOBS.workers-normal")
	want := advisory{Type: "io.nats.jetstream.advisory.v1.max_deliver", Stream: "GENESYS_JOBS",
		Consumer: "workers-normal", StreamSeq: 1, Deliveries: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("advisory (-want +got):\n%s", diff)
	}
}

// Provisioning repeats what a busy cluster refuses for now, and gives up at once on the rest.
func TestRetryTransient(t *testing.T) {
	t.Parallel()
	unavailable := &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}
	refused := &jetstream.APIError{Code: 500, ErrorCode: 10052, Description: "stream configuration update can not change storage"}
	disabled := &jetstream.APIError{Code: 503, ErrorCode: 10076, Description: "JetStream not enabled"}
	for _, tt := range []struct {
		name  string
		errs  []error // f's answers in turn; nil after them
		calls int
		fails bool
	}{
		{"a timeout, then success", []error{context.DeadlineExceeded, nats.ErrTimeout}, 3, false},
		{"503 while leaders are elected", []error{unavailable, unavailable}, 3, false},
		{"the name race", []error{jetstream.ErrStreamNameAlreadyInUse}, 2, false},
		{"no responders yet", []error{nats.ErrNoResponders}, 2, false},
		{"a refusal is final", []error{refused}, 1, true},
		{"JetStream disabled is final", []error{disabled}, 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := retryTransient(t.Context(), time.Now().Add(time.Minute), func() error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if calls != tt.calls || (err != nil) != tt.fails {
				t.Errorf("%d calls, err %v; want %d calls, failure %v", calls, err, tt.calls, tt.fails)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := 0
	if err := retryTransient(ctx, time.Now().Add(time.Minute), func() error { calls++; return nats.ErrTimeout }); err == nil || calls != 1 {
		t.Errorf("with ctx ended: %d calls, err %v; want one call and its error", calls, err)
	}
}

// Which JetStream API errors Provision repeats: the cluster's transient states (no leaders yet, a
// node not joined yet) and timeouts, never a configuration error.
func TestRetryableJetStreamError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{&jetstream.APIError{Code: 400, ErrorCode: 10005, Description: "no suitable peers for placement, peer offline"}, true},
		{&jetstream.APIError{Code: 503, ErrorCode: 10039, Description: "jetstream not enabled for account"}, false},
		{&jetstream.APIError{Code: 400, ErrorCode: 10052, Description: "consumer name in subject does not match durable name in request"}, false},
		{fmt.Errorf("provision: %w", context.DeadlineExceeded), true},
	} {
		if got := RetryableJetStreamError(tt.err); got != tt.want {
			t.Errorf("RetryableJetStreamError(%v) = %t, want %t", tt.err, got, tt.want)
		}
	}
}
