package enqueue

import (
	"io"
	"strconv"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// HRRequestedBy is the requested_by of the rows of an HR termination list, and of the jobs
// `worker reconcile --enqueue` publishes for them.
const HRRequestedBy = "reconcile"

// HRList is an HR termination list as ReadHR reads it.
type HRList struct {
	// Rows are the rows in file order. A row with Problems is not a person to reconcile; its
	// Line and Problems say why, as enqueue says it. Every valid row has TerminatedAt set and
	// Job is the deactivation job reconcile --enqueue would publish for it, with its
	// deterministic id. DuplicateOf marks a valid row that repeats an earlier one.
	Rows []*Row
	// NotRows counts the lines that hold no row (blank lines, comments before the CSV header).
	NotRows int
}

// ReadHR reads an HR termination list: CSV (with a header) or JSON lines, "-" for stdin, with
// the identifier and line rules of enqueue's --file (the same columns name the user: id or
// user_id, external_id, user_name or email) plus a required terminated_at column (also
// "termination_time" or "termination_date" in a CSV header): RFC 3339 with an offset, or a date
// (2026-11-30, read as midnight UTC). Columns enqueue knows that do not belong to an HR row
// (reason, priority…) are row problems. format is auto, csv or jsonl. The error is about the
// input as a whole; problems of single rows are in the rows.
func ReadHR(file, format string, stdin io.Reader) (HRList, error) {
	c := &Config{File: file, Format: format, Action: string(jobs.ActionDeactivate), RequestedBy: HRRequestedBy, hr: true,
		Reason: "HR termination"} // a placeholder for validation; hrTime sets each row's reason
	b, err := c.readBatch(stdin)
	if err != nil {
		return HRList{}, err
	}
	markDuplicates(b.rows)
	return HRList{Rows: b.rows, NotRows: len(b.skipped)}, nil
}

// HRReason is the reason of the deactivation job for an HR row: it names the termination time,
// so that the job's deterministic id is the same for the same row on every run.
func HRReason(terminatedAt time.Time) string {
	return "HR termination at " + terminatedAt.UTC().Format(time.RFC3339) + " found still active (reconcile)"
}

// hrTime checks a row's terminated_at: required in an HR list, refused elsewhere. In an HR list
// it also gives the row's job its reason and id, and refuses the job fields an HR row does not
// carry.
func (c *Config) hrTime(r *Row, v string) []jobs.Problem {
	if !c.hr {
		if v != "" {
			return []jobs.Problem{{Field: colTerminated, Message: "belongs to an HR termination list (worker reconcile --hr), not to a job"}}
		}
		return nil
	}
	var ps []jobs.Problem
	j := &r.Job
	if j.Reason != c.Reason || j.Ticket != "" || j.RequestedBy != c.RequestedBy || j.Priority != jobs.PriorityNormal || j.DryRun || !j.NotBefore.IsZero() {
		ps = append(ps, jobs.Problem{Message: "an HR row holds the user and terminated_at only (no reason, ticket, priority, requested_by, dry_run or not_before)"})
	}
	if v == "" {
		return append(ps, jobs.Problem{Field: colTerminated, Message: "is required: the termination time, RFC 3339 (2026-11-30T17:00:00Z) or a date (2026-11-30)"})
	}
	t, err := jobs.ParseTime(v)
	if err != nil {
		d, derr := time.Parse(time.DateOnly, v)
		if derr != nil {
			return append(ps, jobs.Problem{Field: colTerminated, Message: err.Error() + " or a date (2026-11-30), not " + strconv.Quote(clip(v))})
		}
		t = d
	}
	r.TerminatedAt = t.UTC()
	j.Reason = HRReason(t)
	j.ID = j.DeterministicID()
	return ps
}
