package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// tidied is what the test's clean step records: the user as it read it.
type tidied struct {
	UserName string `json:"user_name"`
	Active   bool   `json:"active"`
}

// tidyStep is a clean step of the test's own: it reads the user through worker.Call, records
// what it read, counts its runs and then does what do says (nil: nothing more).
func tidyStep(name string, runs *atomic.Int32, do func(n int32) error) worker.Step {
	return worker.Step{Name: name, Phase: worker.PhaseClean, Optional: true, Do: func(ctx context.Context, r *worker.Run) error {
		n := runs.Add(1)
		u, err := worker.Call(ctx, r, func(c *genesys.Client) (*genesys.User, *genesys.Response, error) {
			return c.Users.Get(ctx, r.User().ID)
		})
		if err != nil {
			return err
		}
		if err := r.Found(name, tidied{UserName: u.UserName, Active: u.Active}); err != nil {
			return err
		}
		if do != nil {
			return do(n)
		}
		return nil
	}}
}

func newCleanupBed(t *testing.T) (*testbed.T, genesyssim.User) {
	t.Helper()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	return b, b.ActiveUsers(1)[0]
}

// A deactivation with a clean step enabled cuts the access in its own job and publishes one
// cleanup job, on the cleanup lane, with the reserved id and the parent's fields; a redelivery of
// the deactivation after that publish (its status not written, as after a crash) publishes no
// second job; the cleanup job runs the clean step once and ends cleaned_up, its event naming the
// deactivation.
func TestCleanupJobIsPublishedOnce(t *testing.T) {
	t.Parallel()
	b, u := newCleanupBed(t)
	// Every publish on the cleanup lane, the duplicates too.
	published := make(chan *nats.Msg, 16)
	sub, err := b.NC.ChanSubscribe(b.Names.CleanupSubject()+".>", published)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	var tidyRuns, crashes atomic.Int32
	crashOnce := worker.Step{Name: "crash_once", Phase: worker.PhaseCut, Do: func(context.Context, *worker.Run) error {
		if crashes.Add(1) == 1 {
			return worker.Wait(errors.New("test: the worker dies after publishing the cleanup job"))
		}
		return nil
	}}
	plan := worker.PlanWith(tidyStep("tidy", &tidyRuns, nil))
	b.Worker(worker.Config{Plan: func(job jobs.Job) []worker.Step {
		p := plan(job)
		if job.Action == jobs.ActionDeactivate {
			p = append(p, crashOnce)
		}
		return p
	}})
	id := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.Priority = jobs.PriorityUrgent })[0]
	cid := jobs.CleanupID(id)
	st := b.WaitDone(id, cid)

	if got := st[id]; got.Outcome != audit.OutcomeDeactivated || !slices.Contains(got.Steps.Done, "schedule_cleanup") || slices.Contains(got.Steps.Done, "tidy") {
		t.Errorf("deactivation: %s, done %v; want deactivated with schedule_cleanup done and tidy left to the cleanup", got.Outcome, got.Steps.Done)
	}
	if crashes.Load() != 2 {
		t.Fatalf("the deactivation ran %d times; the test needs the redelivery after the publish", crashes.Load())
	}
	if got := st[cid]; got.Outcome != audit.OutcomeCleanedUp || tidyRuns.Load() != 1 {
		t.Errorf("cleanup: %s (%s) after %d tidy runs; want cleaned_up after 1", got.Outcome, got.Error, tidyRuns.Load())
	}
	b.WaitUntil("the jobs stream to empty", func() bool { return b.JobsLeft() == 0 })
	var msgs []jobs.Job
	for len(published) > 0 {
		j, err := jobs.Decode((<-published).Data)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, j)
	}
	info, err := b.JS.Stream(t.Context(), b.Names.JobsStream())
	if err != nil {
		t.Fatal(err)
	}
	// Stored: the deactivation and one cleanup job; published: the cleanup job twice.
	if last := info.CachedInfo().State.LastSeq; last != 2 || len(msgs) != 2 || msgs[0].ID != msgs[1].ID {
		t.Fatalf("the jobs stream stored %d messages; %d cleanup publishes seen; want 2 and 2 of the same job", last, len(msgs))
	}
	want := jobs.Job{Version: 1, ID: cid, Action: jobs.ActionCleanup, User: jobs.UserRef{ID: u.ID}, Reason: "left the company",
		RequestedBy: "hr-system", Ticket: "HR-1", Priority: jobs.PriorityNormal, CleanupOf: id, RequestedAt: msgs[0].RequestedAt}
	if msgs[0] != want {
		t.Errorf("cleanup job %+v, want %+v", msgs[0], want)
	}
	events := b.AuditEvents()
	ev := events[cid]
	var got tidied
	if err := json.Unmarshal(ev.Steps["tidy"], &got); err != nil || got != (tidied{UserName: u.UserName}) {
		t.Errorf("cleanup event steps.tidy = %s (%v)", ev.Steps["tidy"], err)
	}
	if ev.CleanupOf != id || ev.Outcome != audit.OutcomeCleanedUp {
		t.Errorf("cleanup event: outcome %s cleanup_of %q", ev.Outcome, ev.CleanupOf)
	}
	var sched struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal(events[id].Steps["schedule_cleanup"], &sched); err != nil || sched.JobID != cid {
		t.Errorf("deactivation event steps.schedule_cleanup = %s", events[id].Steps["schedule_cleanup"])
	}
}

// A cleanup job takes only what the urgent and normal lanes leave: a normal job published behind
// a backlog of cleanups is taken first.
func TestNormalJobOvertakesQueuedCleanups(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	users := b.ActiveUsers(21)
	var cids []string
	for i, u := range users[:20] {
		parent := jobs.Job{ID: "parent-" + string(rune('a'+i)), Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr-system"}
		c := parent.CleanupJob(time.Time{})
		if _, err := b.Pub.Enqueue(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		cids = append(cids, c.ID)
	}
	normal := b.Enqueue([]jobs.UserRef{{ID: users[20].ID}}, nil)[0]
	b.Worker(worker.Config{Concurrency: 1})
	b.WaitDone(append(cids, normal)...)
	var order []string
	for _, m := range b.StreamMsgs(b.Names.AuditStream()) {
		if strings.Contains(m.Subject, ".audit.user.") {
			var ev struct {
				Data audit.AccountChange `json:"data"`
			}
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				t.Fatal(err)
			}
			order = append(order, ev.Data.Unmapped.JobID)
		}
	}
	if len(order) == 0 || order[0] != normal {
		t.Errorf("audit events in the order %v; want the normal job %s first", order, normal)
	}
	for _, id := range cids {
		if ev := b.AuditEvents()[id]; ev.Outcome != audit.OutcomeCleanupSkipped {
			t.Errorf("cleanup %s of an active user: %s, want cleanup_skipped", id, ev.Outcome)
		}
	}
}

// A cleanup job for a user who is active again changes nothing and ends cleanup_skipped, a
// routine outcome: no dead letter, no clean step run.
func TestCleanupSkippedWhenTheUserIsActive(t *testing.T) {
	t.Parallel()
	b, u := newCleanupBed(t)
	var runs atomic.Int32
	b.Worker(worker.Config{Plan: worker.PlanWith(tidyStep("tidy", &runs, nil))})
	c := jobs.Job{ID: "gone-back", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr-system"}.CleanupJob(time.Time{})
	if _, err := b.Pub.Enqueue(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	st := b.WaitDone(c.ID)[c.ID]
	if st.Outcome != audit.OutcomeCleanupSkipped || runs.Load() != 0 {
		t.Errorf("outcome %s after %d clean step runs; want cleanup_skipped after none", st.Outcome, runs.Load())
	}
	if _, dead := b.DeadLetters()[c.ID]; dead {
		t.Error("a skipped cleanup was dead-lettered")
	}
	for _, r := range b.Sim.Requests() {
		if r.UserID == u.ID && !strings.HasPrefix(r.Route, "GET ") {
			t.Errorf("the skipped cleanup called %s", r.Route)
		}
	}
	if msg := b.EventMessage(c.ID); !strings.Contains(msg, "active again") {
		t.Errorf("event message %q", msg)
	}
}

// Per-user order covers the cleanup lane: a reactivation published while the deactivation's
// cleanup is queued waits for it, and then restores from the deactivation's findings merged with
// the cleanup's.
func TestReactivationWaitsForTheCleanupAndGetsItsFindings(t *testing.T) {
	t.Parallel()
	b, u := newCleanupBed(t)
	var runs atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	tidy := tidyStep("tidy", &runs, func(int32) error {
		close(started)
		<-release
		return nil
	})
	recorded := make(chan *audit.Findings, 1)
	tidy.Undo = func(_ context.Context, _ *worker.Run, f *audit.Findings) error {
		recorded <- f
		return nil
	}
	b.Worker(worker.Config{Plan: worker.PlanWith(tidy), Concurrency: 4})
	id := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, nil)[0]
	<-started
	react := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.ID, j.Action = "react", jobs.ActionReactivate })[0]
	// The reactivation is taken (the normal lane goes first) and handed back while the cleanup
	// is queued before it.
	b.WaitUntil("the reactivation to be handed back", func() bool {
		info, err := b.JS.Consumer(t.Context(), b.Names.JobsStream(), b.Names.NormalConsumer())
		if err != nil {
			t.Fatal(err)
		}
		return info.CachedInfo().Delivered.Consumer > 0 && len(b.AuditEvents()) == 1
	})
	select {
	case f := <-recorded:
		t.Fatalf("the reactivation ran before the cleanup ended: %+v", f)
	default:
	}
	close(release)
	st := b.WaitDone(jobs.CleanupID(id), react)
	if st[react].Outcome != audit.OutcomeReactivated || st[jobs.CleanupID(id)].Outcome != audit.OutcomeCleanedUp {
		t.Fatalf("cleanup %s, reactivation %s", st[jobs.CleanupID(id)].Outcome, st[react].Outcome)
	}
	f := <-recorded
	if f == nil || f.Steps["tidy"] == nil || f.Steps["schedule_cleanup"] == nil {
		t.Fatalf("the undo got %+v; want the deactivation's steps (schedule_cleanup) and the cleanup's (tidy)", f)
	}
	if c, r := st[jobs.CleanupID(id)].FinishedAt, st[react].FinishedAt; !c.Before(r) {
		t.Errorf("cleanup finished at %v, reactivation at %v", c, r)
	}
}

// A clean step that keeps failing exhausts the cleanup job: dead letter and audit event name the
// step, and the deactivation stays what it was, the access cut.
func TestFailingCleanStepDeadLettersTheCleanupJob(t *testing.T) {
	t.Parallel()
	b, u := newCleanupBed(t)
	var runs atomic.Int32
	b.Worker(worker.Config{MaxAttempts: 2, Plan: worker.PlanWith(tidyStep("tidy", &runs, func(int32) error {
		return errors.New("queue service down")
	}))})
	id := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, nil)[0]
	cid := jobs.CleanupID(id)
	st := b.WaitDone(id, cid)
	if st[id].Outcome != audit.OutcomeDeactivated {
		t.Errorf("deactivation: %s", st[id].Outcome)
	}
	if got, _ := b.Sim.User(u.ID); got.Active {
		t.Error("the user is active")
	}
	if st[cid].Outcome != audit.OutcomeExhausted || runs.Load() != 2 {
		t.Fatalf("cleanup: %s after %d runs; want exhausted after 2", st[cid].Outcome, runs.Load())
	}
	dl, ok := b.DeadLetters()[cid]
	if !ok || !strings.Contains(dl.Reason, "step tidy: queue service down") || !strings.HasPrefix(dl.Subject, b.Names.CleanupSubject()+".") {
		t.Errorf("dead letter %+v; want the step named, on the cleanup lane", dl)
	}
	ev := b.AuditEvents()[cid]
	if !strings.Contains(ev.Error, "step tidy: queue service down") || ev.CleanupOf != id {
		t.Errorf("cleanup event error %q cleanup_of %q", ev.Error, ev.CleanupOf)
	}
	if ev := b.AuditEvents()[id]; ev.Outcome != audit.OutcomeDeactivated {
		t.Errorf("deactivation event outcome %s", ev.Outcome)
	}
}

// The status is written after each clean step: a cleanup job handed back at a later step (as
// after a crash, without a status write of its own) does not run the completed step again.
func TestCompletedCleanStepIsNotRepeated(t *testing.T) {
	t.Parallel()
	b, u := newCleanupBed(t)
	var first, second atomic.Int32
	b.Worker(worker.Config{Plan: worker.PlanWith(
		tidyStep("first", &first, nil),
		tidyStep("second", &second, func(n int32) error {
			if n == 1 {
				return worker.Wait(errors.New("test: the worker dies in the second step"))
			}
			return nil
		}),
	)})
	id := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, nil)[0]
	cid := jobs.CleanupID(id)
	st := b.WaitDone(id, cid)[cid]
	if st.Outcome != audit.OutcomeCleanedUp || first.Load() != 1 || second.Load() != 2 {
		t.Errorf("cleanup %s; first ran %d times, second %d; want cleaned_up, 1 and 2", st.Outcome, first.Load(), second.Load())
	}
	if ev := b.AuditEvents()[cid]; ev.Steps["first"] == nil || ev.Steps["second"] == nil {
		t.Errorf("cleanup event steps %v; want first and second", ev.Steps)
	}
}

// A dry run previews the optional steps, cut and clean, in dry-run mode: each records what it
// found and would change, the dry run's findings add up the calls the real run would cost, and
// no cleanup job is published.
func TestDryRunPreviewsTheOptionalSteps(t *testing.T) {
	t.Parallel()
	b, u := newCleanupBed(t)
	var cutRuns, cleanRuns atomic.Int32
	step := func(name string, phase worker.Phase, runs *atomic.Int32) worker.Step {
		return worker.Step{Name: name, Phase: phase, Optional: true,
			Calls: func(*worker.Run) int { return 2 },
			Do: func(_ context.Context, r *worker.Run) error {
				runs.Add(1)
				if !r.DryRun() {
					return errors.New("test: a real run in a dry run")
				}
				if err := r.Found(name, map[string]int{"found": 1}); err != nil {
					return err
				}
				r.Would(name, "change one thing")
				return nil
			}}
	}
	b.Worker(worker.Config{Plan: worker.PlanWith(step("cut", worker.PhaseCut, &cutRuns), step("clean", worker.PhaseClean, &cleanRuns))})
	id := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.DryRun = true })[0]
	st := b.WaitDone(id)[id]
	if st.Outcome != audit.OutcomeDryRun || cutRuns.Load() != 1 || cleanRuns.Load() != 1 {
		t.Fatalf("%s (%s); cut ran %d, clean %d", st.Outcome, st.Error, cutRuns.Load(), cleanRuns.Load())
	}
	ev := b.AuditEvents()[id]
	for _, name := range []string{"cut", "clean"} {
		if got := string(ev.Steps[name]); got != `{"found":1,"would":["change one thing"]}` {
			t.Errorf("steps.%s = %s", name, got)
		}
	}
	var cost struct {
		Calls     int            `json:"calls"`
		BaseCalls int            `json:"base_calls"`
		Steps     map[string]int `json:"steps"`
	}
	if err := json.Unmarshal(ev.Steps["dry_run"], &cost); err != nil {
		t.Fatal(err)
	}
	// The base: resolve by id (1), the PATCH, the revocation, and the cleanup job's resolve (1).
	if cost.BaseCalls != 4 || cost.Calls != 8 || cost.Steps["cut"] != 2 || cost.Steps["clean"] != 2 {
		t.Errorf("dry run cost %+v; want base 4, 8 in all, 2 per step", cost)
	}
	if _, err := b.Bed.Status.Get(t.Context(), jobs.CleanupID(id)); !errors.Is(err, jobs.ErrNoStatus) {
		t.Errorf("a cleanup job ran for a dry run: %v", err)
	}
	b.WaitUntil("the jobs stream to empty", func() bool { return b.JobsLeft() == 0 })
	if got, _ := b.Sim.User(u.ID); !got.Active {
		t.Error("the dry run deactivated the user")
	}
}

// An unknown step name or OAuth client policy is a config error that says what is known.
func TestStepConfigErrors(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 2}})
	for _, tt := range []struct {
		cfg  worker.Config
		want string
	}{
		{worker.Config{Steps: []string{"queuez"}}, `unknown step "queuez"; the optional steps are: `},
		{worker.Config{OAuthClientPolicy: "delete"}, `OAuthClientPolicy "delete": want "report" or "disable"`},
	} {
		_, err := b.StartWorker(t.Context(), tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("StartWorker(%+v) = %v, want an error containing %q", tt.cfg, err, tt.want)
		}
	}
}
