package ctl

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Defaults of the jobs command.
const (
	defaultJobsSince = 24 * time.Hour
	defaultLimit     = 50
)

func jobsCommand() *command {
	return &command{
		name: "jobs", args: "--outcome O [--since D|T] [--limit N]",
		summary: "Lists recent jobs that ended with one outcome, from their audit events: job id, user, time, error.\n" +
			"Reads <prefix>.audit.user.<outcome>.* from --since on and shows the most recent --limit.",
		flags: func(fs *flag.FlagSet, o *opts) {
			fs.StringVar(&o.Outcome, "outcome", "", "the outcome to list, such as exhausted or deactivated; required")
			fs.StringVar(&o.Since, "since", "", "list jobs that ended after this: a duration back from now (48h) or a time (2026-11-27T08:00:00Z, 2026-11-27); default 24h")
			fs.IntVar(&o.Limit, "limit", defaultLimit, "show at most this many, the most recent; 0 shows all")
		},
		check: func(o *opts, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected argument %q", args[0])
			}
			return checkOutcome(o.Outcome, true, false)
		},
		run: runJobs,
	}
}

// jobLine is one job in the jobs command's output (one JSON object per line with --output json).
type jobLine struct {
	Seq         uint64        `json:"seq"` // in the audit stream
	JobID       string        `json:"job_id"`
	Outcome     audit.Outcome `json:"outcome"`
	User        string        `json:"user"`
	Time        string        `json:"time"`
	Error       string        `json:"error,omitempty"`
	ReplayOf    string        `json:"replay_of,omitempty"`
	RequestedBy string        `json:"requested_by,omitempty"`
}

func runJobs(ctx context.Context, s *session, o *opts, _ []string) int {
	start := o.since
	if o.Since == "" {
		start = s.nowFunc().Add(-defaultJobsSince)
	}
	filter := s.names.UserAuditSubjects(audit.Outcome(o.Outcome))
	var lines []jobLine
	err := s.scan(ctx, s.names.AuditStream(), filter, start, func(m scanned) bool {
		lines = append(lines, jobLineOf(m))
		if o.Limit > 0 && len(lines) > o.Limit {
			lines = lines[1:] // keep the most recent
		}
		return true
	})
	if err != nil {
		return s.fail("jobs", err)
	}
	for _, l := range lines {
		if s.json {
			s.emit(l)
			continue
		}
		fmt.Fprintf(s.stdout, "%s  %s  %s  %s", l.Time, l.JobID, l.Outcome, l.User)
		if l.ReplayOf != "" {
			fmt.Fprintf(s.stdout, "  replay_of=%s", l.ReplayOf)
		}
		if l.Error != "" {
			fmt.Fprintf(s.stdout, "  error: %s", clip(l.Error, 300))
		}
		fmt.Fprintln(s.stdout)
	}
	if !s.json {
		fmt.Fprintf(s.stdout, "%d %s %s since %s\n", len(lines), plural(len(lines), "job", "jobs"), o.Outcome, fmtTime(start))
	}
	return ExitOK
}

// jobLineOf reads a user audit event; what it cannot read stays empty.
func jobLineOf(m scanned) jobLine {
	var ev struct {
		Time string              `json:"time"`
		Data audit.AccountChange `json:"data"`
	}
	_ = json.Unmarshal(m.Data, &ev) // the stream holds our own events; show what parses
	u, d := ev.Data.User, ev.Data
	l := jobLine{
		Seq: m.Seq, JobID: d.Unmapped.JobID, Outcome: d.Unmapped.Outcome, User: cmp.Or(u.UID, u.Name, u.UIDAlt),
		Time: cmp.Or(ev.Time, fmtTime(m.Time)), Error: d.Unmapped.Error, ReplayOf: d.Unmapped.ReplayOf,
	}
	if d.Actor.User != nil {
		l.RequestedBy = d.Actor.User.Name
	}
	return l
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
