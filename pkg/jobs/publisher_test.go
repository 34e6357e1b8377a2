package jobs

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"
)

var enqueueNow = time.Date(2026, 11, 27, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))

// publisherFor returns a publisher on js whose clock reads enqueueNow.
func publisherFor(t *testing.T, js jetstream.JetStream) *Publisher {
	t.Helper()
	p, err := NewPublisher(js, Names{})
	if err != nil {
		t.Fatal(err)
	}
	p.nowFunc = func() time.Time { return enqueueNow }
	return p
}

func jobsStream(t *testing.T, js jetstream.JetStream) jetstream.Stream {
	t.Helper()
	s, err := js.Stream(t.Context(), "GENESYS_JOBS")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func msgCount(t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestEnqueueStoresTheJob(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	job := validJob() // no RequestedAt, Priority or (below) Version: Enqueue fills them in
	job.Version = 0
	res, err := publisherFor(t, js).Enqueue(t.Context(), job)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if diff := cmp.Diff(EnqueueResult{Stream: "GENESYS_JOBS", Sequence: 1}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	msg, err := jobsStream(t, js).GetMsg(t.Context(), res.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if want := "genesys.jobs.normal." + UserToken(validJob().User); msg.Subject != want {
		t.Errorf("subject = %q, want %s", msg.Subject, want)
	}
	wantHeader := http.Header{"Nats-Msg-Id": {"job-1"}, "Content-Type": {"application/json"}, "Nats-Expected-Stream": {"GENESYS_JOBS"}}
	if diff := cmp.Diff(wantHeader, http.Header(msg.Header)); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	got, err := Decode(msg.Data)
	if err != nil {
		t.Fatalf("Decode(%s): %v", msg.Data, err)
	}
	want := validJob()
	want.Priority = PriorityNormal
	want.RequestedAt = time.Date(2026, 11, 27, 8, 30, 0, 123000000, time.UTC)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored job (-want +got):\n%s", diff)
	}
	if got.RequestedAt.Location() != time.UTC {
		t.Errorf("requested_at = %v, want UTC", got.RequestedAt)
	}
}

// Every field a producer can set survives the trip through the stream and Decode unchanged.
func TestEnqueueRoundTripsAFullJob(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	job := Job{
		Version: Version, ID: "j-full.1", Action: ActionDeactivate, User: UserRef{UserName: "jane.o'doe+x@example.com"},
		Reason: "left <the> company & \"moved\"\tto\nAcme — für immer", RequestedBy: "hr-bot", Ticket: "HR-42",
		Priority: PriorityUrgent, DryRun: true, ReplayOf: "job-0",
		RequestedAt: time.Date(2026, 11, 27, 9, 30, 0, 5, time.FixedZone("", -5*3600)),
	}
	res, err := publisherFor(t, js).Enqueue(t.Context(), job)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	msg, err := jobsStream(t, js).GetMsg(t.Context(), res.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(msg.Data)
	if err != nil {
		t.Fatalf("Decode(%s): %v", msg.Data, err)
	}
	if diff := cmp.Diff(job, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if want := "genesys.jobs.urgent." + UserToken(job.User); msg.Subject != want {
		t.Errorf("urgent job on %q, want %s", msg.Subject, want)
	}
	if !strings.Contains(string(msg.Data), "<the> company & ") {
		t.Errorf("body %s is HTML-escaped", msg.Data)
	}
}

func TestEnqueueDeduplicatesByJobID(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	p := publisherFor(t, js)
	first, err := p.Enqueue(t.Context(), validJob())
	if err != nil {
		t.Fatal(err)
	}
	again := validJob()
	again.Reason = "a producer's retry" // same id: the same job, whatever else differs
	second, err := p.Enqueue(t.Context(), again)
	if err != nil {
		t.Fatal(err)
	}
	if want := (EnqueueResult{Duplicate: true, Stream: "GENESYS_JOBS", Sequence: first.Sequence}); second != want {
		t.Errorf("second Enqueue = %+v, want %+v", second, want)
	}
	if n := msgCount(t, jobsStream(t, js)); n != 1 {
		t.Errorf("stream holds %d jobs, want 1", n)
	}
}

func TestEnqueueLanes(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	p := publisherFor(t, js)
	for i, prio := range []Priority{PriorityUrgent, PriorityNormal, ""} {
		job := validJob()
		job.ID, job.Priority = fmt.Sprintf("job-%d", i), prio
		res, err := p.Enqueue(t.Context(), job)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := jobsStream(t, js).GetMsg(t.Context(), res.Sequence)
		if err != nil {
			t.Fatal(err)
		}
		want := map[Priority]string{PriorityUrgent: "genesys.jobs.urgent"}[prio]
		if want == "" {
			want = "genesys.jobs.normal"
		}
		if want += "." + UserToken(job.User); msg.Subject != want {
			t.Errorf("priority %q: subject %q, want %q", prio, msg.Subject, want)
		}
	}
}

func TestEnqueueRefusesAnInvalidJob(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	job := validJob()
	job.RequestedBy, job.User.ID = "", "../tokens/me"
	_, err := publisherFor(t, js).Enqueue(t.Context(), job)
	var ve *ValidationError
	if !errors.Is(err, ErrInvalidJob) || !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("Enqueue(invalid) = %v, want a ValidationError with 2 problems matching ErrInvalidJob", err)
	}
	if n := msgCount(t, jobsStream(t, js)); n != 0 {
		t.Errorf("stream holds %d jobs, want 0", n)
	}
}

func TestEnqueueWithoutTheJobsStream(t *testing.T) {
	t.Parallel()
	js, _ := startJS(t)
	_, err := publisherFor(t, js).Enqueue(t.Context(), validJob())
	if !errors.Is(err, jetstream.ErrNoStreamResponse) || !strings.Contains(err.Error(), "is GENESYS_JOBS provisioned?") {
		t.Errorf("Enqueue without a stream = %v", err)
	}
}

// A stream other than the jobs stream that captures the job subjects does not get the job.
func TestEnqueueRefusesAnotherStream(t *testing.T) {
	t.Parallel()
	js, _ := startJS(t)
	other, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"genesys.jobs.>"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = publisherFor(t, js).Enqueue(t.Context(), validJob())
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10060 { // expected stream does not match
		t.Errorf("Enqueue into another stream = %v, want an expected-stream error", err)
	}
	if n := msgCount(t, other); n != 0 {
		t.Errorf("the other stream holds %d jobs, want 0", n)
	}
}

func TestEnqueueConcurrently(t *testing.T) {
	t.Parallel()
	js := provisionedJS(t, TopologyConfig{})
	p := publisherFor(t, js)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			job := validJob()
			job.ID = fmt.Sprintf("job-%d", i)
			if _, err := p.Enqueue(t.Context(), job); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := msgCount(t, jobsStream(t, js)); n != 8 {
		t.Errorf("stream holds %d jobs, want 8", n)
	}
}

func TestNewPublisherRefuses(t *testing.T) {
	t.Parallel()
	js, _ := startJS(t)
	if _, err := NewPublisher(nil, Names{}); err == nil {
		t.Error("NewPublisher(nil) = nil error")
	}
	if _, err := NewPublisher(js, Names{Prefix: "bad prefix"}); err == nil {
		t.Error("NewPublisher(bad prefix) = nil error")
	}
}
