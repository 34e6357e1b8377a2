package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/jobwait"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

func statusCommand() *command {
	return &command{
		name: "status", args: "JOB_ID...",
		summary: "Shows the status record of each job: state, outcome, attempts with their errors, steps and times,\n" +
			"and what a job that is not done waits for: a guard (and the command to resume), its schedule, an earlier\n" +
			"job of the same user, a fleet pause (credentials refused, 429), or a worker to take it.\n" +
			"Exit status 1 when a job has no status record (not taken by a worker yet, unknown, or expired).",
		check: func(_ *opts, args []string) error { return checkJobIDs(args, 1) },
		run:   runStatus,
	}
}

// statusLine is one job's status with --output json.
type statusLine struct {
	Found bool `json:"found"` // true
	*jobs.Status
	Waiting *jobwait.Diagnosis `json:"waiting,omitempty"` // what a job that is not done waits for
}

// notFound is the --output json line of a job without a status record.
type notFound struct {
	JobID   string             `json:"job_id"`
	Found   bool               `json:"found"` // false
	Waiting *jobwait.Diagnosis `json:"waiting,omitempty"`
}

func runStatus(ctx context.Context, s *session, _ *opts, ids []string) int {
	store, err := jobs.NewStatusStore(ctx, s.js, s.names)
	if err != nil {
		return s.fail("status", err)
	}
	code := ExitOK
	var fleet *jobwait.Fleet // read once, at the first job that is not done
	why := func(id string, st *jobs.Status) *jobwait.Diagnosis {
		if fleet == nil {
			fleet = jobwait.ReadFleet(ctx, s.js, s.names)
		}
		d := fleet.Explain(ctx, id, st, nil)
		return &d
	}
	for i, id := range ids {
		st, err := store.Get(ctx, id)
		switch {
		case errors.Is(err, jobs.ErrNoStatus):
			code = ExitFailure
			d := why(id, nil)
			fmt.Fprintf(s.stderr, "genesysctl status: %s: no status record (not taken by a worker yet, unknown, or expired)\n", id)
			if s.json {
				s.emit(notFound{JobID: id, Waiting: d})
			} else {
				fmt.Fprintf(s.stdout, "job %s\n  %-13s %s\n", id, "waiting for", d.Text)
			}
			continue
		case err != nil:
			return s.fail("status", err)
		}
		var d *jobwait.Diagnosis
		if st.State != jobs.StateDone {
			d = why(id, &st)
		}
		if s.json {
			s.emit(statusLine{Found: true, Status: &st, Waiting: d})
			continue
		}
		if i > 0 {
			fmt.Fprintln(s.stdout)
		}
		writeStatus(s.stdout, st)
		if d != nil {
			fmt.Fprintf(s.stdout, "  %-13s %s\n", "waiting for", d.Text)
		}
	}
	return code
}

// writeStatus writes a status record for people.
func writeStatus(w io.Writer, st jobs.Status) {
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-13s %s\n", k, v)
		}
	}
	fmt.Fprintf(w, "job %s\n", st.JobID)
	row("state", string(st.State))
	row("outcome", string(st.Outcome))
	row("error", st.Error)
	row("priority", string(st.Priority))
	if st.DryRun {
		row("dry run", "yes")
	}
	row("worker", st.Worker)
	row("created", fmtTime(st.CreatedAt))
	row("updated", fmtTime(st.UpdatedAt))
	row("finished", fmtTime(st.FinishedAt))
	row("steps", stepsText(st.Steps))
	row("user", strings.TrimSpace(strings.Join([]string{st.Steps.UserID, st.Steps.UserName, st.Steps.ExternalID}, " ")))
	if len(st.Steps.RolesBefore) > 0 {
		row("roles before", strings.Join(st.Steps.RolesBefore, ", "))
	}
	row("attempts", fmt.Sprint(len(st.Attempts)))
	for _, a := range st.Attempts {
		fmt.Fprintf(w, "    #%d %s  %s\n", a.N, fmtTime(a.At), a.Error)
	}
}

// stepsText lists the plan steps a status says are done.
func stepsText(s jobs.Steps) string {
	var done []string
	for _, st := range []struct {
		ok   bool
		name string
	}{{s.Resolved, "resolved"}, {s.WasActive, "was_active"}, {s.PatchSent, "patch_sent"}, {s.Deactivated, "deactivated"}, {s.TokensRevoked, "tokens_revoked"}} {
		if st.ok {
			done = append(done, st.name)
		}
	}
	if len(done) == 0 {
		return "none"
	}
	return strings.Join(done, ", ")
}

// fmtTime renders a time in UTC to the millisecond, "" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
