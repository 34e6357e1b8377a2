package enqueue

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// ReadHR reads CSV and JSON lines with enqueue's identifier rules plus terminated_at, gives each
// valid row its deterministic deactivation job, and marks repeated rows.
func TestReadHR(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"csv": "# from the HR system\n\nEmail,External ID,Termination Date\nA@example.com,,2026-11-30\n,EMP-1,2026-12-01T09:00:00+01:00\nA@example.com,,2026-11-30\n",
		"jsonl": `{"email":"A@example.com","terminated_at":"2026-11-30"}` + "\n\n" + `{"external_id":"EMP-1","terminated_at":"2026-12-01T09:00:00+01:00"}` +
			"\n" + `{"user_name":"A@example.com","terminated_at":"2026-11-30"}` + "\n",
	} {
		list, err := ReadHR("-", FormatAuto, strings.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(list.Rows) != 3 {
			t.Fatalf("%s: %d rows", name, len(list.Rows))
		}
		a, emp, again := list.Rows[0], list.Rows[1], list.Rows[2]
		for _, r := range list.Rows {
			if len(r.Problems) > 0 {
				t.Errorf("%s: line %d: %v", name, r.Line, r.Problems)
			}
		}
		if !a.TerminatedAt.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) || !emp.TerminatedAt.Equal(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: times %v, %v", name, a.TerminatedAt, emp.TerminatedAt)
		}
		want := jobs.Job{Action: jobs.ActionDeactivate, User: jobs.UserRef{UserName: "A@example.com"}, RequestedBy: HRRequestedBy,
			Reason: "HR termination at 2026-11-30T00:00:00Z found still active (reconcile)"}
		if a.Job.ID != want.DeterministicID() || a.Job.Reason != want.Reason || a.Job.RequestedBy != "reconcile" || a.Job.Validate() != nil {
			t.Errorf("%s: job %+v", name, a.Job)
		}
		if again.DuplicateOf != a.Line || emp.DuplicateOf != 0 {
			t.Errorf("%s: duplicates %d, %d", name, again.DuplicateOf, emp.DuplicateOf)
		}
	}
}

func TestReadHRProblems(t *testing.T) {
	t.Parallel()
	list, err := ReadHR("-", FormatCSV, strings.NewReader("user_name,terminated_at,ticket\n"+
		"a@example.com,,\nb@example.com,soon,\nc@example.com,2026-11-30,T-1\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range list.Rows {
		got = append(got, r.problemText())
	}
	want := []string{
		"terminated_at: is required: the termination time, RFC 3339 (2026-11-30T17:00:00Z) or a date (2026-11-30)",
		"terminated_at: must be an RFC 3339 date-time with an offset",
		"an HR row holds the user and terminated_at only (no reason, ticket, priority, requested_by, dry_run or not_before)",
	}
	for i := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d: %q, want %q…", i+2, got[i], want[i])
		}
	}
	if _, err := ReadHR("-", FormatCSV, strings.NewReader("user_name\na@example.com\n")); err != nil {
		t.Fatal(err) // the column may be missing: each row then lacks its time
	}
	// enqueue's own files refuse the column.
	cfg := testConfig()
	cfg.Reason = "left"
	b, err := cfg.readCSV(bufio.NewReader(strings.NewReader("user_name,terminated_at\na@example.com,2026-11-30\n")))
	if err != nil || len(b.rows) != 1 || !strings.Contains(b.rows[0].problemText(), "terminated_at: belongs to an HR termination list") {
		t.Errorf("enqueue with terminated_at: %v %v", err, b.rows)
	}
}
