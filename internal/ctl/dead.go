package ctl

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// deadEntry is a dead letter with its place in the dead-letter stream.
type deadEntry struct {
	Seq     uint64
	Subject string
	jobs.DeadLetter
	decodeErr error // the message is not a dead letter this version reads
}

// replayJob returns the job a dead letter holds, or why it cannot be replayed: a rejected job can
// never become valid, and a job that does not decode would be rejected again.
func (e deadEntry) replayJob() (jobs.Job, error) {
	switch {
	case e.decodeErr != nil:
		return jobs.Job{}, fmt.Errorf("the dead letter is unreadable: %v", e.decodeErr)
	case e.Outcome == audit.OutcomeRejected:
		return jobs.Job{}, fmt.Errorf("it was rejected as invalid (%s); a replay would be rejected again", clip(e.Reason, 200))
	case len(e.Job) == 0:
		return jobs.Job{}, fmt.Errorf("the dead letter holds no job (truncated %t)", e.Truncated)
	}
	j, err := jobs.Decode(e.Job)
	if err != nil {
		return jobs.Job{}, fmt.Errorf("its job is not valid: %v", err)
	}
	return j, nil
}

// deadLetters reads the job dead letters of outcome ("" for all) stored at or after start (zero:
// all). Job dead letters are on <prefix>.dead.<outcome>; the webhook relay's, on
// <prefix>.dead.relay.<endpoint>, have another layout and are left out.
func (s *session) deadLetters(ctx context.Context, outcome string, start time.Time) ([]deadEntry, error) {
	filter := s.names.DeadSubject(cmp.Or(outcome, "*"))
	var out []deadEntry
	err := s.scan(ctx, s.names.DeadStream(), filter, start, func(m scanned) bool {
		e := deadEntry{Seq: m.Seq, Subject: m.Subject}
		e.decodeErr = json.Unmarshal(m.Data, &e.DeadLetter)
		if e.decodeErr == nil && e.JobID == "" {
			e.decodeErr = fmt.Errorf("no job_id")
		}
		out = append(out, e)
		return true
	})
	return out, err
}

// findDead returns the dead letters of each job id, scanning the whole dead-letter stream once.
func (s *session) findDead(ctx context.Context, ids []string) (map[string][]deadEntry, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	all, err := s.deadLetters(ctx, "", time.Time{})
	if err != nil {
		return nil, err
	}
	found := map[string][]deadEntry{}
	for _, e := range all {
		if e.decodeErr == nil && want[e.JobID] {
			found[e.JobID] = append(found[e.JobID], e)
		}
	}
	return found, nil
}

func deadListCommand() *command {
	return &command{
		name: "dead list", args: "[--outcome O] [--since D|T] [--limit N]",
		summary: "Lists dead letters: jobs an operator must look at (such as protected, rejected, conflict, exhausted).",
		flags: func(fs *flag.FlagSet, o *opts) {
			fs.StringVar(&o.Outcome, "outcome", "", "list only dead letters of this outcome, such as conflict or exhausted")
			fs.StringVar(&o.Since, "since", "", "list only dead letters stored after this: a duration back from now (48h) or a time (2026-11-27T08:00:00Z); default all")
			fs.IntVar(&o.Limit, "limit", 0, "show at most this many, the most recent; 0 shows all")
		},
		check: func(o *opts, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected argument %q", args[0])
			}
			return checkOutcome(o.Outcome, false, true)
		},
		run: runDeadList,
	}
}

// deadLine is one dead letter in dead list's output (one JSON object per line with --output json).
type deadLine struct {
	Seq        uint64        `json:"seq"`
	JobID      string        `json:"job_id"`
	Outcome    audit.Outcome `json:"outcome"`
	Time       string        `json:"time"`
	User       string        `json:"user,omitempty"`
	Reason     string        `json:"reason"`
	Attempts   int           `json:"attempts"`
	Replayable bool          `json:"replayable"`
}

func runDeadList(ctx context.Context, s *session, o *opts, _ []string) int {
	all, err := s.deadLetters(ctx, o.Outcome, o.since)
	if err != nil {
		return s.fail("dead list", err)
	}
	if o.Limit > 0 && len(all) > o.Limit {
		all = all[len(all)-o.Limit:]
	}
	for _, e := range all {
		if e.decodeErr != nil {
			fmt.Fprintf(s.stderr, "genesysctl dead list: seq %d on %s: unreadable: %v\n", e.Seq, e.Subject, e.decodeErr)
			continue
		}
		j, err := e.replayJob()
		l := deadLine{Seq: e.Seq, JobID: e.JobID, Outcome: e.Outcome, Time: fmtTime(e.Time), User: cmp.Or(j.User.Key(), e.UserID),
			Reason: e.Reason, Attempts: len(e.Attempts), Replayable: err == nil}
		if s.json {
			s.emit(l)
			continue
		}
		fmt.Fprintf(s.stdout, "%6d  %s  %-9s  %s  %s  %s\n", l.Seq, l.Time, l.Outcome, l.JobID, cmp.Or(l.User, "-"), clip(l.Reason, 200))
	}
	if !s.json {
		fmt.Fprintf(s.stdout, "%d dead %s\n", len(all), plural(len(all), "letter", "letters"))
	}
	return ExitOK
}
