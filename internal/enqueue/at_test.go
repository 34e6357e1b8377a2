package enqueue_test

import (
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// --at, the not_before column and member: a later time is reported "scheduled for T" (with
// --wait, once a worker stored it: the date it stored), exit 0; the job goes to the intake subject.
func TestAtSchedulesAndWaitReportsIt(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r := b.run(t, "", "--user-name", "ada.rossi.3@example.com", "--at", at.Format(time.RFC3339), "--wait", "--timeout", "5s", "--output", "json")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	rs := decodeResults(t, r.stdout)
	if len(rs) != 1 || rs[0].Outcome != enqueue.OutcomeScheduled || rs[0].NotBefore != at.Format(time.RFC3339Nano) {
		t.Errorf("results %+v, want one scheduled for %s", rs, at.Format(time.RFC3339))
	}
	later := at.Add(time.Hour).Format("2006-01-02T15:04:05-07:00")
	csv := "user_name,not_before\nx1@example.com," + later + "\nx2@example.com,\n"
	r = b.run(t, csv, "--file", "-", "--format", "csv")
	if r.code != 0 || !strings.Contains(r.stdout, "user_name:x1@example.com: scheduled for "+at.Add(time.Hour).Format(time.RFC3339)) ||
		!strings.Contains(r.stdout, "user_name:x2@example.com: queued") {
		t.Errorf("CSV: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	jl := `{"user_name":"x3@example.com","not_before":"` + later + `"}` + "\n"
	r = b.run(t, jl, "--file", "-", "--format", "jsonl", "--wait", "--timeout", "5s")
	if r.code != 0 || !strings.Contains(r.stdout, "user_name:x3@example.com: scheduled for ") {
		t.Errorf("JSON lines: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// A bad time is a line-numbered problem, and nothing is published.
func TestAtBadTimesAreLineNumbered(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	csv := "user_name,not_before\nx1@example.com,2027-01-31 17:00\nx2@example.com,2027-01-31T17:00:00\n"
	r := b.run(t, csv, "--file", "-", "--format", "csv")
	for _, want := range []string{
		`line 2: not_before: must be an RFC 3339 date-time with an offset, such as 2026-11-27T09:30:00Z, not "2027-01-31 17:00"`,
		`line 3: not_before: must be an RFC 3339 date-time with an offset`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.code != 2 || b.published(t) != 0 {
		t.Errorf("exit %d, %d published; want 2 (invalid input), 0", r.code, b.published(t))
	}
	r = b.run(t, "", "--user-name", "ada.rossi.3@example.com", "--at", "tomorrow")
	if r.code != 2 || !strings.Contains(r.stderr, "flags: not_before: must be an RFC 3339 date-time") {
		t.Errorf("--at tomorrow: exit %d\nstderr:\n%s", r.code, r.stderr)
	}
}

// An HR re-send of a scheduled job with another date is the same job (the same deterministic id):
// --wait reports the date kept and how to change it, exit 0.
func TestWaitSaysAlreadyScheduled(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r := b.run(t, "", "--user-name", "ada.rossi.3@example.com", "--at", at.Format(time.RFC3339), "--wait", "--timeout", "10s")
	if r.code != 0 || !strings.Contains(r.stdout, "user_name:ada.rossi.3@example.com: scheduled for "+at.Format(time.RFC3339)) {
		t.Fatalf("first: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	later := at.Add(24 * time.Hour)
	r = b.run(t, "", "--user-name", "ada.rossi.3@example.com", "--at", later.Format(time.RFC3339), "--wait", "--timeout", "10s")
	want := "already scheduled for " + at.Format(time.RFC3339) + " (not " + later.Format(time.RFC3339) + "); use genesysctl scheduled move"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("re-send: exit %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
	r = b.run(t, "", "--user-name", "ada.rossi.3@example.com", "--at", later.Format(time.RFC3339), "--wait", "--timeout", "10s", "--output", "json")
	rs := decodeResults(t, r.stdout)
	if r.code != 0 || len(rs) != 1 || rs[0].Outcome != enqueue.OutcomeScheduled || rs[0].NotBefore != at.Format(time.RFC3339Nano) || rs[0].Note != want {
		t.Fatalf("re-send, JSON: exit %d, %+v", r.code, rs)
	}
	// An operator moved it: the status still holds the first date, the schedule the new one.
	sched, err := jobs.NewScheduler(b.JS, b.Names, 0)
	if err != nil {
		t.Fatal(err)
	}
	moved := at.Add(2 * time.Hour)
	if _, err := sched.Move(t.Context(), rs[0].JobID, moved); err != nil {
		t.Fatal(err)
	}
	r = b.run(t, "", "--user-name", "ada.rossi.3@example.com", "--at", later.Format(time.RFC3339), "--wait", "--timeout", "10s", "--output", "json")
	rs = decodeResults(t, r.stdout)
	if r.code != 0 || len(rs) != 1 || rs[0].NotBefore != moved.Format(time.RFC3339Nano) || !strings.Contains(rs[0].Note, "already scheduled for "+moved.Format(time.RFC3339)) {
		t.Errorf("re-send after a move: exit %d, %+v; want the moved date", r.code, rs)
	}
}
