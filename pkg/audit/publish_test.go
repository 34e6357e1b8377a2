package audit

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup starts NATS with the audit stream of DESIGN.md and returns a publisher for it.
func setup(t *testing.T) (*Publisher, jetstream.Stream, jetstream.JetStream) {
	t.Helper()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.CreateStream(t.Context(), jetstream.StreamConfig{
		Name: "GENESYS_AUDIT", Subjects: []string{"genesys.audit.>"}, Retention: jetstream.LimitsPolicy,
		Duplicates: 2 * time.Minute, DenyDelete: true, DenyPurge: true,
	})
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	p, err := NewPublisher(js, PublisherConfig{Stream: "GENESYS_AUDIT"})
	if err != nil {
		t.Fatal(err)
	}
	return p, stream, js
}

func TestPublishStoresOneEventPerJob(t *testing.T) {
	t.Parallel()
	p, stream, _ := setup(t)
	ctx := t.Context()
	ev, err := Origin{}.UserEvent(fullRecord())
	if err != nil {
		t.Fatal(err)
	}
	first, err := p.Publish(ctx, ev)
	if err != nil {
		t.Fatalf("first publish: %v", err)
	}
	if first.Duplicate || first.Stream != "GENESYS_AUDIT" {
		t.Errorf("first ack = %+v", first)
	}
	// A redelivered job reaches another outcome; the event id is the job's, so nothing new is stored.
	r := fullRecord()
	r.Outcome, r.Time = OutcomeAlreadyInactive, r.Time.Add(time.Minute)
	redo, _ := Origin{}.UserEvent(r)
	second, err := p.Publish(ctx, redo)
	if err != nil {
		t.Fatalf("second publish: %v", err)
	}
	if !second.Duplicate || second.Sequence != first.Sequence {
		t.Errorf("second ack = %+v, want a duplicate of sequence %d", second, first.Sequence)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages, want 1", info.State.Msgs)
	}
}

func TestPublishedMessage(t *testing.T) {
	t.Parallel()
	p, stream, _ := setup(t)
	ctx := t.Context()
	ops, _ := Origin{}.OpsEvent(Ops{Kind: "guard_tripped", Message: "guard tripped", Time: testTime})
	rejected, _ := Origin{}.UserEvent(Record{JobID: "seq-9", Outcome: OutcomeRejected, Time: testTime, Error: "jobs: malformed JSON"})
	hostile, _ := Origin{}.UserEvent(Record{JobID: "job-9", Outcome: OutcomeNotFound, Time: testTime, User: Target{ID: "a.*.>"}})
	tests := []struct {
		ev      *Event
		subject string
	}{
		{mustUserEvent(t, fullRecord()), "genesys.audit.user.deactivated." + testUser},
		{rejected, "genesys.audit.user.rejected.unknown"},
		{hostile, "genesys.audit.user.not_found.a~2E~2A~2E~3E"},
		{ops, "genesys.audit.ops.guard_tripped"},
	}
	for _, tt := range tests {
		if _, err := p.Publish(ctx, tt.ev); err != nil {
			t.Fatalf("publish %s: %v", tt.ev.Type, err)
		}
		msg, err := stream.GetLastMsgForSubject(ctx, tt.subject)
		if err != nil {
			t.Fatalf("no message on %s: %v", tt.subject, err)
		}
		want, _ := tt.ev.Encode()
		if string(msg.Data) != string(want) {
			t.Errorf("%s: stored %s, want %s", tt.subject, msg.Data, want)
		}
		if err := validateAgainstSchema(t, msg.Data); err != nil {
			t.Errorf("%s: stored event fails the schema: %v", tt.subject, err)
		}
		if got := msg.Header.Get(jetstream.MsgIDHeader); got != tt.ev.ID {
			t.Errorf("%s: Nats-Msg-Id = %q, want %q", tt.subject, got, tt.ev.ID)
		}
		if got := msg.Header.Get("Content-Type"); got != "application/cloudevents+json; charset=UTF-8" {
			t.Errorf("%s: Content-Type = %q", tt.subject, got)
		}
	}
}

// A subscriber to one user's subject sees that user's events, whatever the outcome.
func TestSubscribeByUser(t *testing.T) {
	t.Parallel()
	p, _, js := setup(t)
	ctx := t.Context()
	for i, o := range []Outcome{OutcomeDryRun, OutcomeDeactivated} {
		r := fullRecord()
		r.JobID, r.Outcome = "job-"+string(rune('a'+i)), o
		if _, err := p.Publish(ctx, mustUserEvent(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	other := fullRecord()
	other.JobID, other.User.ID = "job-z", "11111111-2222-4333-8444-555555555555"
	if _, err := p.Publish(ctx, mustUserEvent(t, other)); err != nil {
		t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(ctx, "GENESYS_AUDIT", jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"genesys.audit.user.*." + testUser},
	})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(10)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for msg := range batch.Messages() {
		subjects = append(subjects, msg.Subject())
	}
	want := []string{"genesys.audit.user.dry_run." + testUser, "genesys.audit.user.deactivated." + testUser}
	if len(subjects) != len(want) || subjects[0] != want[0] || subjects[1] != want[1] {
		t.Errorf("subjects = %q, want %q", subjects, want)
	}
}

func TestPublishErrors(t *testing.T) {
	t.Parallel()
	p, _, js := setup(t)
	ctx := t.Context()
	ev := mustUserEvent(t, fullRecord())

	if _, err := p.Publish(ctx, &Event{ID: "x"}); err == nil {
		t.Error("an event without a route was published")
	}
	noStream, err := NewPublisher(js, PublisherConfig{Prefix: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = noStream.Publish(ctx, ev)
	if !errors.Is(err, jetstream.ErrNoStreamResponse) || !strings.HasPrefix(err.Error(), "audit: ") {
		t.Errorf("publish with no stream: %v, want an audit: error wrapping ErrNoStreamResponse", err)
	}
	wrong, _ := NewPublisher(js, PublisherConfig{Stream: "OTHER"})
	if _, err := wrong.Publish(ctx, ev); err == nil {
		t.Error("publish into an unexpected stream succeeded")
	}
	for _, prefix := range []string{"a.", "a b", "a.*", ">", "a..b"} {
		if _, err := NewPublisher(js, PublisherConfig{Prefix: prefix}); err == nil {
			t.Errorf("NewPublisher accepted prefix %q", prefix)
		}
	}
	if _, err := NewPublisher(nil, PublisherConfig{}); err == nil {
		t.Error("NewPublisher accepted a nil JetStream")
	}
}

func mustUserEvent(t *testing.T, r Record) *Event {
	t.Helper()
	ev, err := Origin{}.UserEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
