package enqueue

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/jobwait"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Outcomes of a Result beyond the audit outcomes.
const (
	// OutcomeQueued: the job was published and not followed (no --wait).
	OutcomeQueued audit.Outcome = "queued"
	// OutcomePending: --wait ended (timeout or interrupt) before the job was done.
	OutcomePending audit.Outcome = "pending"
	// OutcomeInvalid: the row was invalid and skipped (--skip-invalid); it has no job.
	OutcomeInvalid audit.Outcome = "invalid"
	// OutcomeScheduled: the job waits for its not_before; --wait follows it until a worker stored
	// it, and reports the date stored.
	OutcomeScheduled audit.Outcome = "scheduled"
	// OutcomeForeign: the job id is held by a different job (another user, action or dry run,
	// published by someone else first); this row's request was not carried out.
	OutcomeForeign audit.Outcome = "foreign_job"
)

// Result is how one row ended: one JSON object per line with --output json.
type Result struct {
	// Line is the row's line in its file; 0 for a job given by flags.
	Line int `json:"line"`
	// JobID is the job's id; empty for an invalid row.
	JobID string `json:"job_id,omitempty"`
	// User is the user's identifier with its kind, such as "user_name:a@example.com".
	User string `json:"user,omitempty"`
	// Outcome is the job's audit outcome, or queued, pending or invalid.
	Outcome audit.Outcome `json:"outcome"`
	// Error is why a job failed (from its status) or why a row is invalid.
	Error string `json:"error,omitempty"`
	// NotBefore is when a scheduled job runs (RFC 3339, UTC).
	NotBefore string `json:"not_before,omitempty"`
	// Duplicate is true when JetStream already held the job from an earlier run.
	Duplicate bool `json:"duplicate"`
	// Note says more about a scheduled job: that the stored date is not the one submitted (an
	// earlier request with this id keeps its date).
	Note string `json:"note,omitempty"`
	// Waiting is what a pending job waits for (--wait ended before it was done): a guard, its
	// schedule, an earlier job of the same user, a fleet pause, or a worker to take it.
	Waiting *jobwait.Diagnosis `json:"waiting,omitempty"`
	// Preview is what a dry run found a real job would do, when the worker runs optional steps.
	Preview *Preview `json:"preview,omitempty"`
}

// succeeded reports whether an outcome counts as success for the exit status.
func succeeded(o audit.Outcome) bool {
	switch o {
	case audit.OutcomeDeactivated, audit.OutcomeAlreadyInactive, audit.OutcomeDryRun, audit.OutcomeReactivated:
		return true
	}
	return false
}

// buildResults lists every row in file order: invalid rows that were skipped, then published jobs
// with their status (when waited for). Rows repeating an earlier row's request are left out: they
// are the same job.
func buildResults(rows []*Row, pubs []published, statuses map[string]jobs.Status, waited bool) []Result {
	dup, sched := map[string]bool{}, map[string]bool{}
	for _, p := range pubs {
		dup[p.row.Job.ID], sched[p.row.Job.ID] = p.duplicate, p.scheduled
	}
	var out []Result
	for _, r := range rows {
		if r.DuplicateOf != 0 {
			continue
		}
		if len(r.Problems) > 0 {
			out = append(out, Result{Line: r.Line, User: r.Job.User.Key(), Outcome: OutcomeInvalid, Error: r.problemText()})
			continue
		}
		res := Result{Line: r.Line, JobID: r.Job.ID, User: r.Job.User.Key(), Duplicate: dup[r.Job.ID], Outcome: OutcomeQueued}
		st, ok := statuses[r.Job.ID]
		switch {
		case ok && st.State == jobs.StateScheduled && st.BelongsTo(r.Job):
			res.Outcome, res.NotBefore = OutcomeScheduled, formatAt(st.NotBefore)
			if !st.NotBefore.Equal(r.Job.NotBefore) {
				res.Note = fmt.Sprintf("already scheduled for %s (not %s); use genesysctl scheduled move", res.NotBefore, submittedAt(r.Job))
			}
			out = append(out, res)
			continue
		case sched[r.Job.ID] && !waited:
			res.Outcome, res.NotBefore = OutcomeScheduled, formatAt(r.Job.NotBefore)
			out = append(out, res)
			continue
		}
		if waited {
			res.Outcome = OutcomePending
			if ok {
				res.Outcome, res.Error = rowOutcome(r.Job, st)
				if res.Outcome == audit.OutcomeDryRun {
					res.Preview = previewOf(st)
				}
			}
		}
		out = append(out, res)
	}
	return out
}

// rowOutcome is how a row ended by the status found under its job id. A status of another job
// (jobs.Status.BelongsTo) is an error, never success; and a dry run's outcome is a success only
// for a row that asked for a dry run.
func rowOutcome(j jobs.Job, st jobs.Status) (audit.Outcome, string) {
	if !st.BelongsTo(j) || st.Outcome == audit.OutcomeDryRun && !j.DryRun {
		return OutcomeForeign, fmt.Sprintf("job id %s belongs to a different job (user %q, action %q, dry_run %t, outcome %q); this request was not carried out: enqueue it again with --new-ids and find out who published that job",
			j.ID, st.User, st.Action, st.DryRun, st.Outcome)
	}
	return st.Outcome, st.Error
}

// writeJSON writes one Result per line.
func writeJSON(w io.Writer, results []Result) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range results {
		enc.Encode(r)
	}
}

// writeText writes each row's outcome, then a summary by outcome.
func writeText(w io.Writer, results []Result) {
	counts := map[audit.Outcome]int{}
	for _, r := range results {
		counts[r.Outcome]++
		where := "flags"
		if r.Line > 0 {
			where = fmt.Sprintf("line %d", r.Line)
		}
		head := where + ": " + r.JobID + " " + r.User
		if r.JobID == "" {
			head = where + ": " + r.User
		}
		switch {
		case r.Outcome == OutcomeInvalid:
			fmt.Fprintf(w, "%s: invalid, skipped: %s\n", where, r.Error)
		case r.Outcome == OutcomeScheduled && r.Note != "":
			fmt.Fprintf(w, "%s: %s\n", head, r.Note)
		case r.Outcome == OutcomeScheduled:
			fmt.Fprintf(w, "%s: scheduled for %s\n", head, r.NotBefore)
		case r.Waiting != nil:
			fmt.Fprintf(w, "%s: %s: %s\n", head, r.Outcome, r.Waiting.Text)
		case r.Error != "":
			fmt.Fprintf(w, "%s: %s: %s\n", head, r.Outcome, r.Error)
		default:
			fmt.Fprintf(w, "%s: %s\n", head, r.Outcome)
		}
		if r.Preview != nil {
			writePreview(w, r.Preview)
		}
	}
	fmt.Fprintf(w, "\nSummary: %d %s\n", len(results), plural(len(results), "row", "rows"))
	for _, o := range sortedOutcomes(counts) {
		fmt.Fprintf(w, "  %-18s %d\n", o, counts[o])
	}
}

// submittedAt is the not_before a row submitted, for a note.
func submittedAt(j jobs.Job) string {
	if j.NotBefore.IsZero() {
		return "now"
	}
	return formatAt(j.NotBefore)
}

// formatAt renders a job's not_before for people and JSON: RFC 3339 in UTC.
func formatAt(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// exitStatus is 0 when every row ended well: published (without --wait), scheduled, or
// deactivated, already inactive or dry run; else 1.
func exitStatus(results []Result) int {
	for _, r := range results {
		if r.Outcome != OutcomeQueued && r.Outcome != OutcomeScheduled && !succeeded(r.Outcome) {
			return 1
		}
	}
	return 0
}
