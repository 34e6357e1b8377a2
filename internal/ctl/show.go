package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

func deadShowCommand() *command {
	return &command{
		name: "dead show", args: "JOB_ID",
		summary: "Shows a job's dead letter (reason, Genesys's answer, every attempt's error, the job as received)\n" +
			"and the job's status record (attempts, steps). Exit status 1 when the job has no dead letter.",
		check: func(_ *opts, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("give one job id, not %d", len(args))
			}
			return checkJobIDs(args, 1)
		},
		run: runDeadShow,
	}
}

// shown is dead show's output with --output json: one line per dead letter of the job.
type shown struct {
	Seq        uint64           `json:"seq"`
	Subject    string           `json:"subject"`
	DeadLetter *jobs.DeadLetter `json:"dead_letter"`
	Replayable bool             `json:"replayable"`
	Status     *jobs.Status     `json:"status"` // null when the job has no status record
}

func runDeadShow(ctx context.Context, s *session, _ *opts, ids []string) int {
	id := ids[0]
	found, err := s.findDead(ctx, ids)
	if err != nil {
		return s.fail("dead show", err)
	}
	if len(found[id]) == 0 {
		fmt.Fprintf(s.stderr, "genesysctl dead show: %s: no dead letter (see genesysctl dead list)\n", id)
		return ExitFailure
	}
	store, err := jobs.NewStatusStore(ctx, s.js, s.names)
	if err != nil {
		return s.fail("dead show", err)
	}
	var st *jobs.Status
	switch got, err := store.Get(ctx, id); {
	case err == nil:
		st = &got
	case !errors.Is(err, jobs.ErrNoStatus):
		return s.fail("dead show", err)
	}
	for _, e := range found[id] {
		_, whyNot := e.replayJob()
		if s.json {
			s.emit(shown{Seq: e.Seq, Subject: e.Subject, DeadLetter: &e.DeadLetter, Replayable: whyNot == nil, Status: st})
			continue
		}
		writeDeadLetter(s.stdout, e, whyNot)
	}
	if !s.json {
		fmt.Fprintln(s.stdout)
		if st == nil {
			fmt.Fprintf(s.stdout, "job %s has no status record (expired, or never taken)\n", id)
		} else {
			fmt.Fprint(s.stdout, "status record:\n")
			writeStatus(s.stdout, *st)
		}
	}
	return ExitOK
}

// writeDeadLetter writes a dead letter for people.
func writeDeadLetter(w io.Writer, e deadEntry, whyNot error) {
	dl := e.DeadLetter
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-13s %s\n", k, v)
		}
	}
	fmt.Fprintf(w, "dead letter %s (seq %d on %s)\n", dl.JobID, e.Seq, e.Subject)
	row("outcome", string(dl.Outcome))
	row("reason", dl.Reason)
	row("time", fmtTime(dl.Time))
	row("worker", dl.Worker)
	row("user id", dl.UserID)
	row("job seq", fmt.Sprint(dl.StreamSeq))
	if g := dl.Genesys; g != nil {
		row("genesys", fmt.Sprintf("%d %s: %s (correlation %s)", g.Status, g.Code, g.Message, g.CorrelationID))
	}
	if dl.Truncated {
		row("truncated", "yes: the job or texts were cut to fit")
	}
	for _, a := range dl.Attempts {
		fmt.Fprintf(w, "    attempt #%d %s  %s\n", a.N, fmtTime(a.At), a.Error)
	}
	var job bytes.Buffer
	if len(dl.Job) > 0 && json.Indent(&job, dl.Job, "    ", "  ") == nil {
		fmt.Fprintf(w, "  job:\n    %s\n", job.String())
	} else if len(dl.RawJob) > 0 {
		row("raw job", fmt.Sprintf("%q", clip(string(dl.RawJob), 500)))
	}
	if whyNot != nil {
		row("replayable", "no: "+whyNot.Error())
	} else {
		row("replayable", "yes: genesysctl dead replay --operator NAME "+dl.JobID)
	}
}
