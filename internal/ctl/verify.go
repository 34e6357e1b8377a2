package ctl

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// defaultVerifyWait bounds genesysctl verify's wait for the worker's answer.
const defaultVerifyWait = 25 * time.Second

// verifyLine is genesysctl verify's result with --output json.
type verifyLine struct {
	JobID    string        `json:"job_id"`
	User     string        `json:"user"`
	Outcome  string        `json:"outcome,omitempty"` // verified or unverified (or another outcome: not_found...)
	Verified *bool         `json:"verified,omitempty"`
	Checks   []audit.Check `json:"checks,omitempty"`
	Error    string        `json:"error,omitempty"`
}

func verifyCommand() *command {
	var wait time.Duration
	var urgent bool
	return &command{
		name: "verify", args: "USER",
		summary: "Reads the user back now (genesysctl has no Genesys access: it publishes a verify job, \"action\":\"verify\",\n" +
			"which a worker runs and which changes nothing): SCIM active must be false, no token issued since the revocation of\n" +
			"the user's last deactivation by this system, the routing status not on queue when that deactivation set it off\n" +
			"queue. Prints each check; exit 0 verified, 1 not (or no answer within --wait). USER: a user id, a userName, an\n" +
			"externalId, or id:…, user_name:…, external_id:…. The job's audit event (verified or unverified) keeps the checks.",
		flags: func(fs *flag.FlagSet, _ *opts) {
			fs.DurationVar(&wait, "wait", defaultVerifyWait, "how long to wait for the worker's answer (within --timeout)")
			fs.BoolVar(&urgent, "urgent", false, "publish on the urgent lane, ahead of a backlog of normal jobs")
		},
		check: func(_ *opts, args []string) error {
			if len(args) != 1 {
				return errors.New("want exactly one USER")
			}
			if wait <= 0 {
				return errors.New("--wait must be positive")
			}
			_, err := parseUser(args[0])
			return err
		},
		run: func(ctx context.Context, s *session, _ *opts, args []string) int {
			u, _ := parseUser(args[0]) // check has parsed it
			p := jobs.PriorityNormal
			if urgent {
				p = jobs.PriorityUrgent
			}
			return s.runVerify(ctx, u, p, wait)
		},
	}
}

func (s *session) runVerify(ctx context.Context, u jobs.UserRef, p jobs.Priority, wait time.Duration) int {
	const cmd = "verify"
	pub, err := jobs.NewPublisher(s.js, s.names)
	if err != nil {
		return s.fail(cmd, err)
	}
	store, err := jobs.NewStatusStore(ctx, s.js, s.names)
	if err != nil {
		return s.fail(cmd, err)
	}
	now := s.nowFunc().UTC()
	job := jobs.Job{
		ID: jobs.DeterministicID(string(jobs.ActionVerify), u.Key(), now.Format(time.RFC3339Nano), s.natsUser), Action: jobs.ActionVerify,
		User: u, Priority: p, Reason: "read-back asked by an operator (genesysctl verify)",
		RequestedBy: clipRunes("genesysctl verify, NATS user "+cmp.Or(s.natsUser, "unknown"), jobs.MaxRequestedByLength),
	}
	l := verifyLine{JobID: job.ID, User: u.Key()}
	if _, err := pub.Enqueue(ctx, job); err != nil {
		return s.fail(cmd, err)
	}
	st, err := waitStatus(ctx, store, job.ID, wait)
	if err != nil {
		l.Error = fmt.Sprintf("published verify job %s; no answer: %v (is a worker running? `genesysctl status %s` shows it later)", job.ID, err, job.ID)
		s.reportVerify(l)
		return ExitFailure
	}
	l.Outcome, l.Verified, l.Checks = string(st.Outcome), st.Steps.Verified, st.Steps.Verification
	if st.Outcome != audit.OutcomeVerified && st.Outcome != audit.OutcomeUnverified {
		l.Error = fmt.Sprintf("the verify job ended %s", st.Outcome)
		if st.Decided != nil && st.Decided.Error != "" {
			l.Error += ": " + st.Decided.Error
		}
	}
	s.reportVerify(l)
	if st.Outcome == audit.OutcomeVerified {
		return ExitOK
	}
	return ExitFailure
}

// reportVerify prints the checks: a JSON line with --output json, else one line per check.
func (s *session) reportVerify(l verifyLine) {
	if s.json {
		s.emit(l)
	} else {
		if l.Outcome != "" {
			fmt.Fprintf(s.stdout, "%s: %s (job %s)\n", l.User, l.Outcome, l.JobID)
		}
		for _, c := range l.Checks {
			mark := "FAIL"
			if c.OK {
				mark = "ok  "
			}
			fmt.Fprintf(s.stdout, "  %s %-22s %s\n       %s\n", mark, c.Check, c.Observed, c.Reason)
		}
	}
	if l.Error != "" {
		fmt.Fprintf(s.stderr, "genesysctl verify: %s\n", l.Error)
	}
}
