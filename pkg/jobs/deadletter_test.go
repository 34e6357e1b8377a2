package jobs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

var deadTime = time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)

func conflictLetter() DeadLetter {
	return DeadLetter{
		JobID: "job-1", Outcome: audit.OutcomeConflict, Reason: "genesys: conflict",
		Job:     json.RawMessage(`{"version":1,"id":"job-1"}`),
		Subject: "genesys.jobs.normal", StreamSeq: 7, UserID: testUUID,
		Genesys: &GenesysError{Status: 409, Code: "general.conflict", Message: "user is in use", CorrelationID: "c-1"},
		Time:    deadTime, Worker: "w-1",
	}
}

// deadSetup provisions NATS and returns dead letters and the dead-letter stream.
func deadSetup(t *testing.T) (*DeadLetters, jetstream.Stream) {
	t.Helper()
	js := provisionedJS(t, TopologyConfig{})
	s, err := js.Stream(t.Context(), "GENESYS_DEAD")
	if err != nil {
		t.Fatal(err)
	}
	return NewDeadLetters(js, Names{}), s
}

// lastDeadLetter reads the last dead letter on subject.
func lastDeadLetter(t *testing.T, s jetstream.Stream, subject string) (DeadLetter, *jetstream.RawStreamMsg) {
	t.Helper()
	msg, err := s.GetLastMsgForSubject(t.Context(), subject)
	if err != nil {
		t.Fatalf("no dead letter on %s: %v", subject, err)
	}
	var dl DeadLetter
	if err := json.Unmarshal(msg.Data, &dl); err != nil {
		t.Fatalf("dead letter %s: %v", msg.Data, err)
	}
	return dl, msg
}

func TestDeadLetterIsStoredOnItsOutcomeSubject(t *testing.T) {
	t.Parallel()
	d, s := deadSetup(t)
	if err := d.Publish(t.Context(), conflictLetter()); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	got, msg := lastDeadLetter(t, s, "genesys.dead.conflict")
	want := conflictLetter()
	want.Version = 1
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dead letter (-want +got):\n%s", diff)
	}
	wantHeader := http.Header{"Nats-Msg-Id": {"dead:job-1"}, "Content-Type": {"application/json"},
		"Nats-Expected-Stream": {"GENESYS_DEAD"}}
	if diff := cmp.Diff(wantHeader, http.Header(msg.Header)); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

func TestDeadLetterPublishedTwiceIsStoredOnce(t *testing.T) {
	t.Parallel()
	d, s := deadSetup(t)
	for _, reason := range []string{"first", "after a redelivery"} {
		dl := conflictLetter()
		dl.Reason = reason
		if err := d.Publish(t.Context(), dl); err != nil {
			t.Fatalf("Publish(%s): %v", reason, err)
		}
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d dead letters, want 1", info.State.Msgs)
	}
	if got, _ := lastDeadLetter(t, s, "genesys.dead.conflict"); got.Reason != "first" {
		t.Errorf("stored reason %q, want the first", got.Reason)
	}
}

func TestDeadLetterExhaustedKeepsEveryAttempt(t *testing.T) {
	t.Parallel()
	d, s := deadSetup(t)
	dl := DeadLetter{JobID: "job-2", Outcome: audit.OutcomeExhausted, Reason: "5 attempts failed",
		Subject: "genesys.jobs.urgent", StreamSeq: 3, Time: deadTime}
	for n := 1; n <= 5; n++ {
		dl.Attempts = append(dl.Attempts, Attempt{N: n, At: deadTime.Add(time.Duration(n) * time.Minute),
			Error: fmt.Sprintf("genesys: GET /api/v2/scim/v2/users: 503 (attempt %d)", n)})
	}
	if err := d.Publish(t.Context(), dl); err != nil {
		t.Fatal(err)
	}
	got, _ := lastDeadLetter(t, s, "genesys.dead.exhausted")
	dl.Version = 1
	if diff := cmp.Diff(dl, got); diff != "" {
		t.Errorf("dead letter (-want +got):\n%s", diff)
	}
}

func TestDeadLetterKeepsANonJSONJobAsRawBytes(t *testing.T) {
	t.Parallel()
	d, s := deadSetup(t)
	for i, raw := range [][]byte{[]byte(`{"id": "job-`), {'{', '"', 0xff, '"', ':', '1', '}'}} {
		dl := DeadLetter{JobID: fmt.Sprintf("rejected-seq-%d", i), Outcome: audit.OutcomeRejected,
			Reason: "jobs: malformed JSON", Job: raw, Time: deadTime}
		if err := d.Publish(t.Context(), dl); err != nil {
			t.Fatal(err)
		}
		got, msg := lastDeadLetter(t, s, "genesys.dead.rejected")
		if got.Job != nil || !bytes.Equal(got.RawJob, raw) {
			t.Errorf("%q: job %q raw_job %q, want only raw_job", raw, got.Job, got.RawJob)
		}
		if !json.Valid(msg.Data) || !strings.Contains(string(msg.Data), `"raw_job":"`) {
			t.Errorf("%q: body %s", raw, msg.Data)
		}
	}
}

func TestDeadLetterTruncatesAnOversizeJob(t *testing.T) {
	t.Parallel()
	d, s := deadSetup(t)
	big := []byte(`{"reason":"` + strings.Repeat("x", 200<<10) + `"}`)
	dl := conflictLetter()
	dl.Outcome, dl.Job, dl.Genesys = audit.OutcomeRejected, big, nil
	if err := d.Publish(t.Context(), dl); err != nil {
		t.Fatal(err)
	}
	got, msg := lastDeadLetter(t, s, "genesys.dead.rejected")
	if len(msg.Data) > MaxDeadLetterSize || len(msg.Data) < MaxDeadLetterSize-64 {
		t.Errorf("body is %d bytes, want just under %d", len(msg.Data), MaxDeadLetterSize)
	}
	if !got.Truncated || got.Job != nil || len(got.RawJob) == 0 || !bytes.HasPrefix(big, got.RawJob) {
		t.Errorf("truncated %v, job %d bytes, raw_job %d bytes: want a prefix of the job in raw_job",
			got.Truncated, len(got.Job), len(got.RawJob))
	}
	if got.Reason != dl.Reason || got.JobID != dl.JobID {
		t.Errorf("reason %q job id %q changed", got.Reason, got.JobID)
	}
}

// Texts that leave no room for the job are clipped, the most recent attempts kept.
func TestDeadLetterClipsOversizeTexts(t *testing.T) {
	t.Parallel()
	dl := DeadLetter{JobID: "job-3", Outcome: audit.OutcomeExhausted, Reason: strings.Repeat("r", 40<<10),
		Job: json.RawMessage(`{"id":"job-3"}`), Time: deadTime}
	for n := 1; n <= 200; n++ {
		dl.Attempts = append(dl.Attempts, Attempt{N: n, At: deadTime, Error: strings.Repeat("\x01", 1000)})
	}
	data, err := encodeDeadLetter(dl)
	if err != nil {
		t.Fatal(err)
	}
	var got DeadLetter
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if len(data) > MaxDeadLetterSize || !got.Truncated || string(got.Job) != `{"id":"job-3"}` {
		t.Errorf("%d bytes, truncated %v, job %s: want at most %d bytes, truncated, the whole job",
			len(data), got.Truncated, got.Job, MaxDeadLetterSize)
	}
	if len(got.Attempts) == 0 || got.Attempts[len(got.Attempts)-1].N != 200 {
		t.Errorf("kept %d attempts, want the last ones", len(got.Attempts))
	}
	if len(dl.Attempts[0].Error) != 1000 {
		t.Error("encodeDeadLetter changed the caller's attempts")
	}
}

func TestDeadLetterRefusesWhatIsNotADeadLetter(t *testing.T) {
	t.Parallel()
	d, s := deadSetup(t)
	for name, edit := range map[string]func(*DeadLetter){
		"routine outcome": func(dl *DeadLetter) { dl.Outcome = audit.OutcomeDeactivated },
		"not found":       func(dl *DeadLetter) { dl.Outcome = audit.OutcomeNotFound },
		"unknown outcome": func(dl *DeadLetter) { dl.Outcome = "lost" },
		"no outcome":      func(dl *DeadLetter) { dl.Outcome = "" },
		"no job id":       func(dl *DeadLetter) { dl.JobID = "" },
		"header breaking": func(dl *DeadLetter) { dl.JobID = "job-1\r\nX-Evil: 1" },
		"long job id":     func(dl *DeadLetter) { dl.JobID = strings.Repeat("j", MaxIDLength+1) },
		"version 2":       func(dl *DeadLetter) { dl.Version = 2 },
	} {
		dl := conflictLetter()
		edit(&dl)
		if err := d.Publish(t.Context(), dl); err == nil {
			t.Errorf("%s: Publish = nil, want an error", name)
		}
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Errorf("stream holds %d dead letters, want 0", info.State.Msgs)
	}
}

func TestDeadLetterFillsVersionAndTime(t *testing.T) {
	t.Parallel()
	d, s := deadSetup(t)
	d.nowFunc = func() time.Time { return deadTime.In(time.FixedZone("CET", 3600)) }
	dl := conflictLetter()
	dl.Time = time.Time{}
	if err := d.Publish(t.Context(), dl); err != nil {
		t.Fatal(err)
	}
	got, _ := lastDeadLetter(t, s, "genesys.dead.conflict")
	if got.Version != DeadLetterVersion || !got.Time.Equal(deadTime) || got.Time.Location() != time.UTC {
		t.Errorf("version %d time %v, want %d and %v", got.Version, got.Time, DeadLetterVersion, deadTime)
	}
}
