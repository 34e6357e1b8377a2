package ctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/jobwait"
	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// enqueueMain runs the enqueue command against the fixture's server.
func (f *fixture) enqueueMain(args ...string) (code int, stdout, stderr string) {
	f.TB.Helper()
	var out, errb bytes.Buffer
	code = enqueue.Main(f.TB.Context(), append(args, "--nats-url", f.URL), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// The test: with the guard tripped, enqueue --wait and genesysctl status name the guard
// for a held job, with the lane, since when, and the command that resumes it (they answered
// "pending" and "no status record").
func TestHeldJobNamesTheGuard(t *testing.T) {
	t.Parallel()
	f, ids := guardFixture(t)
	held := heldJob(t, f, ids) // which two jobs took the guard's slots is up to the worker
	user := f.ActiveUsers(1)[0]

	// enqueue --wait, as a new user would: a normal job for another user, waited for briefly.
	code, out, errOut := f.enqueueMain("--user-id", user.ID, "--reason", "leaver", "--wait", "--timeout", "300ms")
	if code != 1 {
		t.Fatalf("enqueue: exit %d, want 1 (pending)\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"pending: held by the mass-deactivation guard", "the normal lane since", "genesysctl guard resume --operator NAME"} {
		if !strings.Contains(out, want) {
			t.Errorf("enqueue --wait output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = f.enqueueMain("--user-id", user.ID, "--reason", "leaver", "--wait", "--timeout", "300ms", "--output", "json")
	var res enqueue.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 {
		t.Fatalf("enqueue json: exit %d, %v: %q", code, err, out)
	}
	if res.Waiting == nil || res.Waiting.Reason != jobwait.Guard || res.Waiting.Lane != jobs.LaneNormal ||
		res.Waiting.Since.IsZero() || res.Waiting.Resume != "genesysctl guard resume --operator NAME" {
		t.Errorf("enqueue json: waiting %+v", res.Waiting)
	}

	// genesysctl status of a held job: no status record, and why.
	code, out, errOut = f.ctl("status", held)
	if code != ExitFailure || !strings.Contains(errOut, "no status record") {
		t.Errorf("status: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"waiting for", "held by the mass-deactivation guard", "normal lane since", "genesysctl guard resume --operator NAME"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = f.ctl("status", held, "--output", "json")
	var nf notFound
	if err := json.Unmarshal([]byte(out), &nf); err != nil || nf.Waiting == nil || nf.Waiting.Reason != jobwait.Guard {
		t.Errorf("status json: %v %q", err, out)
	}

	// Once resumed, the answer changes: the job runs.
	if code, out, errOut := f.ctl("guard", "resume", "--operator", "dana"); code != ExitOK {
		t.Fatalf("resume: %d %q %q", code, out, errOut)
	}
	f.WaitDone(held)
	if code, out, _ := f.ctl("status", held); code != ExitOK || strings.Contains(out, "waiting for") {
		t.Errorf("status after resume: exit %d\n%s", code, out)
	}
}

// A job for a later time: enqueue says when; genesysctl status says "scheduled" and when.
func TestScheduledJobSaysWhen(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	f.Worker(worker.Config{})
	user := f.ActiveUsers(1)[0]
	at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	code, out, errOut := f.enqueueMain("--user-id", user.ID, "--reason", "leaver", "--at", at.Format(time.RFC3339), "--wait", "--timeout", "60s", "--output", "json")
	var res enqueue.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != ExitOK || res.Outcome != enqueue.OutcomeScheduled {
		t.Fatalf("enqueue: exit %d %v %q %q", code, err, out, errOut)
	}
	code, out, _ = f.ctl("status", res.JobID)
	if code != ExitOK || !strings.Contains(out, "scheduled: a worker stored it to run at "+at.Format(time.RFC3339)) {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	_, out, _ = f.ctl("status", res.JobID, "--output", "json")
	var line struct {
		Waiting *jobwait.Diagnosis `json:"waiting"`
	}
	if err := json.Unmarshal([]byte(out), &line); err != nil || line.Waiting == nil || line.Waiting.Reason != jobwait.Scheduled || !line.Waiting.NotBefore.Equal(at) {
		t.Errorf("status json: %v %q", err, out)
	}
}

// A fleet paused by Genesys's 429: a queued job says so, until when, and how to resume early.
func TestPausedFleetSaysWhy(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 3, RateLimit: 1_000_000})
	kv, err := f.JS.KeyValue(t.Context(), f.Names.BudgetBucket())
	if err != nil {
		t.Fatal(err)
	}
	b, err := budget.New(budget.Config{KV: kv, Key: "sim-client", WorkerID: "w-1", Limit: 600, Window: time.Minute, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	b.Observe(budget.Response{StatusCode: http.StatusTooManyRequests, RetryAfter: 15 * time.Minute})
	testbed.WaitFor(t, "the 429 pause stored", f.Watch(f.Names.BudgetBucket()), testbed.Until[jetstream.KeyValueEntry](func() bool {
		_, out, _ := f.ctl("budget", "status")
		return strings.Contains(out, "paused by a 429")
	}))
	id := f.Enqueue(testbed.Refs(f.ActiveUsers(1)), nil)[0]
	code, out, _ := f.ctl("status", id)
	if code != ExitFailure {
		t.Errorf("status: exit %d", code)
	}
	for _, want := range []string{"fleet paused: Genesys answered 429", "client.sim-client is paused until", "genesysctl budget resume --operator NAME"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
}

// A user's second job waits while the first one (Genesys failing its PATCH) retries: enqueue
// --wait says it is behind an earlier job of the same user, and genesysctl status of the first
// says it is running, with its failed attempts.
func TestJobBehindAnEarlierJobOfTheSameUser(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 3, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		ErrorRate: 1, ErrorStatuses: []int{503}, Routes: []string{patchRoute},
	}})
	f.Worker(worker.Config{MaxAttempts: 1000})
	user := f.ActiveUsers(1)[0]
	first := f.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID = "first-job" })[0]
	testbed.WaitFor(t, "the first job to fail an attempt", f.Watch(f.Names.StatusBucket(), first), func(e jetstream.KeyValueEntry) bool {
		var st jobs.Status
		return json.Unmarshal(e.Value(), &st) == nil && len(st.Attempts) > 0
	})
	code, out, errOut := f.enqueueMain("--user-id", user.ID, "--reason", "again", "--new-ids", "--wait", "--timeout", "300ms", "--output", "json")
	var res enqueue.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 {
		t.Fatalf("enqueue: exit %d %v %q %q", code, err, out, errOut)
	}
	if res.Waiting == nil || res.Waiting.Reason != jobwait.Behind || res.Waiting.UserJobs != 2 ||
		!strings.Contains(res.Waiting.Text, "behind an earlier job of the same user") {
		t.Errorf("enqueue: waiting %+v", res.Waiting)
	}
	code, out, _ = f.ctl("status", first)
	if code != ExitOK || !strings.Contains(out, "running: taken by worker") || !strings.Contains(out, "it retries with backoff") {
		t.Errorf("status of the first job: exit %d\n%s", code, out)
	}
}

// heldJob returns one of ids that the guard holds: a job with no status record once the guard
// holds (the two that took its slots are done; which two is the worker's choice).
func heldJob(t *testing.T, f *fixture, ids []string) string {
	t.Helper()
	store, err := jobs.NewStatusStore(t.Context(), f.JS, f.Names)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := store.Get(t.Context(), id); errors.Is(err, jobs.ErrNoStatus) {
			return id
		}
	}
	t.Fatalf("every job of %v has a status record; want two held by the guard", ids)
	return ""
}
