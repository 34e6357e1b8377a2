package jobs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

func TestCheckSubject(t *testing.T) {
	t.Parallel()
	const uid = "0b5c3f2e-9a1d-4e6f-8b7a-1c2d3e4f5a6b"
	deact := jobs.Job{ID: "j", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: uid}}
	react := deact
	react.Action = jobs.ActionReactivate
	clean := deact.CleanupJob(time.Time{})
	later := deact
	later.NotBefore = time.Date(2027, 1, 31, 17, 0, 0, 0, time.UTC)
	laterR := later
	cancelJob := deact
	cancelJob.Action = jobs.ActionCancel
	cancelLater := later
	cancelLater.Action = jobs.ActionCancel
	laterR.Action = jobs.ActionReactivate
	tok := jobs.UserToken(deact.User)
	other := jobs.UserToken(jobs.UserRef{UserName: "someone@example.com"})
	n := jobs.Names{}
	for _, tt := range []struct {
		subject string
		job     jobs.Job
		ok      bool
	}{
		{"genesys.jobs.normal", deact, true},
		{"genesys.jobs.urgent." + tok, deact, true},
		{n.SubjectFor(deact), deact, true},
		{n.SubjectFor(react), react, true},
		{"genesys.jobs.reactivate", react, true},
		{"genesys.jobs.normal." + other, deact, false},   // another user's token
		{"genesys.jobs.normal." + tok, react, false},     // a reactivation on a deactivation lane
		{"genesys.jobs.reactivate." + tok, deact, false}, // a deactivation on the operators' lane
		{"genesys.jobs.reactivate." + other, react, false},
		{n.SubjectFor(clean), clean, true},
		{"genesys.jobs.cleanup", clean, true},
		{"genesys.jobs.normal." + tok, clean, false},     // a cleanup on the normal lane
		{"genesys.jobs.urgent." + tok, clean, false},     // or the urgent one
		{"genesys.jobs.reactivate." + tok, clean, false}, // or the operators' lane
		{"genesys.jobs.cleanup." + tok, deact, false},    // a deactivation on the workers' cleanup lane
		{"genesys.jobs.cleanup." + tok, react, false},    // a reactivation there
		{"genesys.jobs.cleanup." + other, clean, false},
		{n.IntakeSubject(later), later, true},
		{n.IntakeSubject(laterR), laterR, true},
		{"genesys.jobs.at.urgent." + tok, later, true},
		{n.IntakeSubject(deact), deact, false},            // no not_before
		{"genesys.jobs.at.normal", later, false},          // no user token
		{"genesys.jobs.at.normal." + other, later, false}, // another user's token
		{"genesys.jobs.at.reactivate." + tok, later, false},
		{"genesys.jobs.at.normal." + tok, laterR, false},
		{"genesys.jobs.at.cleanup." + tok, later, false},
		{n.SubjectFor(later), later, true}, // on its lane: the worker schedules it (or it fired)
		{"genesys.jobs.normal." + tok, cancelJob, true},
		{"genesys.jobs.urgent." + tok, cancelJob, true},
		{"genesys.jobs.reactivate." + tok, cancelJob, false},
		{"genesys.jobs.at.normal." + tok, cancelLater, false}, // a cancel never waits for a date
		{"acme.jobs.normal", deact, false},
		{"genesys.jobs.later", deact, false},
	} {
		err := n.CheckSubject(tt.subject, tt.job)
		if (err == nil) != tt.ok {
			t.Errorf("CheckSubject(%s, %s) = %v, want ok %t", tt.subject, tt.job.Action, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, jobs.ErrWrongSubject) || !errors.Is(err, jobs.ErrInvalidJob)) {
			t.Errorf("CheckSubject(%s) = %v, does not match ErrWrongSubject and ErrInvalidJob", tt.subject, err)
		}
	}
}

// Stand-in ids are reserved: Validate and the JSON Schema refuse them for real jobs.
func TestStandInIDsAreReserved(t *testing.T) {
	t.Parallel()
	id := jobs.StandInID(42)
	if !jobs.IsReservedID(id) || jobs.IsReservedID("rejected-seq-42") {
		t.Errorf("IsReservedID wrong for %s", id)
	}
	j := jobs.Job{Version: 1, ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{UserName: "a@b.example"}, RequestedBy: "hr"}
	if err := j.Validate(); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("Validate(%s) = %v, want the reserved namespace refused", id, err)
	}
	schema := testbed.CompileSchema(t, jobs.Schema())
	for body, ok := range map[string]bool{
		`{"version":1,"id":"_rejected.seq-42","action":"deactivate","user":{"user_name":"a@b.example"},"requested_by":"hr"}`: false,
		`{"version":1,"id":"a_b","action":"deactivate","user":{"user_name":"a@b.example"},"requested_by":"hr"}`:              true,
	} {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if got := schema.Validate(doc) == nil; got != ok {
			t.Errorf("schema accepts %s: %t, want %t", body, got, ok)
		}
		if _, err := jobs.Decode([]byte(body)); (err == nil) != ok {
			t.Errorf("Decode(%s) = %v, want ok %t", body, err, ok)
		}
	}
}

// A cleanup job carries the reserved id of the deactivation it follows, and nothing else may: its
// id is derived, not chosen, and a long parent id still gives a valid one.
func TestCleanupJob(t *testing.T) {
	t.Parallel()
	parent := jobs.Job{Version: 1, ID: "j-1", Action: jobs.ActionDeactivate, User: jobs.UserRef{UserName: "a@b.example"},
		RequestedBy: "hr", Ticket: "HR-1", Reason: "left", Priority: jobs.PriorityUrgent}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := parent.CleanupJob(at)
	want := jobs.Job{Version: 1, ID: "_cleanup.j-1", Action: jobs.ActionCleanup, User: parent.User, RequestedBy: "hr",
		Ticket: "HR-1", Reason: "left", Priority: jobs.PriorityNormal, CleanupOf: "j-1", RequestedAt: at}
	if c != want {
		t.Errorf("CleanupJob = %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the cleanup job is invalid: %v", err)
	}
	if got := (jobs.Names{}).SubjectFor(c); got != "genesys.jobs.cleanup."+jobs.UserToken(parent.User) {
		t.Errorf("SubjectFor(cleanup) = %s", got)
	}
	long := strings.Repeat("a", jobs.MaxIDLength)
	if id := jobs.CleanupID(long); len(id) > jobs.MaxIDLength || !strings.HasPrefix(id, "_cleanup-h.") || id == jobs.CleanupID(long[1:]) {
		t.Errorf("CleanupID of a 128-character id = %q", id)
	}
	replay := c
	replay.ID, replay.ReplayOf = c.ID+".r1", c.ID
	if err := replay.Validate(); err != nil {
		t.Errorf("an operator's replay of the cleanup job is invalid: %v", err)
	}
	for name, edit := range map[string]func(j *jobs.Job){
		"another id":             func(j *jobs.Job) { j.ID = "_cleanup.j-2" },
		"a producer's id":        func(j *jobs.Job) { j.ID = "j-2" },
		"a replay id, no replay": func(j *jobs.Job) { j.ID += ".r1" },
		"no cleanup_of":          func(j *jobs.Job) { j.CleanupOf = "" },
		"a dry run":              func(j *jobs.Job) { j.DryRun = true },
		"cleanup_of elsewhere":   func(j *jobs.Job) { j.Action = jobs.ActionDeactivate },
		"a reserved cleanup_of":  func(j *jobs.Job) { j.CleanupOf, j.ID = "_x", jobs.CleanupID("_x") },
	} {
		j := c
		edit(&j)
		if err := j.Validate(); !errors.Is(err, jobs.ErrInvalidJob) {
			t.Errorf("%s: Validate = %v, want invalid", name, err)
		}
	}
}

func TestCheckFired(t *testing.T) {
	t.Parallel()
	const uid = "0b5c3f2e-9a1d-4e6f-8b7a-1c2d3e4f5a6b"
	j := jobs.Job{ID: "hr.1", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: uid}, Priority: jobs.PriorityNormal}
	other := j
	other.ID = "hr.2"
	n := jobs.Names{}
	tok := jobs.UserToken(j.User)
	for _, tt := range []struct {
		subject, scheduler string
		ok                 bool
	}{
		{n.SubjectFor(j), n.ScheduleSubject(j), true},
		{n.SubjectFor(j), n.ScheduleSubject(other), false},                           // another job's schedule
		{n.SubjectFor(j), n.DueSubject(j), false},                                    // not a schedule subject
		{"genesys.jobs.normal", n.ScheduleSubject(j), false},                         // no user token
		{"genesys.jobs.urgent." + tok, n.ScheduleSubject(j), false},                  // fired into another lane
		{"genesys.jobs.reactivate." + tok, n.ScheduleSubject(j), false},              // or the operators' lane
		{n.SubjectFor(j), "", false},                                                 // forged empty
		{n.SubjectFor(j), strings.Replace(n.ScheduleSubject(j), tok, "x", 1), false}, // another token
	} {
		err := n.CheckFired(tt.subject, tt.scheduler, j)
		if (err == nil) != tt.ok {
			t.Errorf("CheckFired(%s, %s) = %v, want ok %t", tt.subject, tt.scheduler, err, tt.ok)
		}
		if err != nil && !errors.Is(err, jobs.ErrWrongSubject) {
			t.Errorf("CheckFired error %v does not match ErrWrongSubject", err)
		}
	}
}

func TestScheduledNames(t *testing.T) {
	t.Parallel()
	const uid = "0b5c3f2e-9a1d-4e6f-8b7a-1c2d3e4f5a6b"
	j := jobs.Job{ID: "hr.2027.1", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: uid}, Priority: jobs.PriorityUrgent}
	n := jobs.Names{Prefix: "acme.prod"}
	tok, idt := jobs.UserToken(j.User), jobs.IDToken(j.ID)
	if len(idt) != 32 || strings.ContainsAny(idt, ".*> ") {
		t.Errorf("IDToken = %q, want 32 hex digits", idt)
	}
	for _, tc := range []struct{ got, want string }{
		{n.IntakeSubject(j), "acme.prod.jobs.at.urgent." + tok},
		{n.IntakeSubjects(), "acme.prod.jobs.at.*.*"},
		{n.ScheduledStream(), "ACME_PROD_SCHEDULED"},
		{n.ScheduleSubject(j), "acme.prod.scheduled.at.urgent." + tok + "." + idt},
		{n.DueSubject(j), "acme.prod.scheduled.due.urgent." + tok + "." + idt},
		{n.CanceledSubject(j), "acme.prod.scheduled.canceled.urgent." + tok + "." + idt},
		{n.ScheduledIDFilter(j.ID), "acme.prod.scheduled.*.*.*." + idt},
		{n.IntakeConsumer(), "workers-at"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
