package ctl

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// The scheduled commands read and change the jobs waiting in the scheduled stream for their
// not_before (issue 16). A cancel or move replaces the job's pending schedule in one server
// operation (jobs.Scheduler.Cancel and Move); each publishes an ops event naming the operator.

// defaultCancelWait bounds how long scheduled cancel waits for the canceled job's outcome.
const defaultCancelWait = 30 * time.Second

// scheduledOpts are the scheduled commands' own flags.
type scheduledOpts struct {
	users  []jobs.UserRef // --user, repeatable
	reason string         // --reason
	at     string         // --at
	wait   time.Duration  // --wait
	atTime time.Time      // at, parsed
}

func (so *scheduledOpts) userFlag(fs *flag.FlagSet) {
	fs.Func("user", "only the jobs of this user: a user id, userName or externalId (or id:…, user_name:…, external_id:…); repeat it to give every identifier the user has (a job is found only under the identifier it was published with)", func(s string) error {
		u, err := parseUser(s)
		if err == nil {
			so.users = append(so.users, u)
		}
		return err
	})
}

// checkReason checks a --reason: required, text of at most 1024 characters.
func (so *scheduledOpts) checkReason() error {
	switch {
	case strings.TrimSpace(so.reason) == "":
		return errors.New("--reason is required: why (recorded in the job's audit event and the ops event)")
	case len([]rune(so.reason)) > jobs.MaxReasonLength:
		return fmt.Errorf("--reason: at most %d characters", jobs.MaxReasonLength)
	case jobs.TextProblem(so.reason) != "" || !textRE.MatchString(so.reason):
		return errors.New("--reason: no control characters")
	}
	return nil
}

// scheduledLine is one scheduled job as list and show print it with --output json.
type scheduledLine struct {
	JobID        string `json:"job_id"`
	State        string `json:"state"` // pending, canceled (fires now, ends canceled) or fired
	NotBefore    string `json:"not_before"`
	Action       string `json:"action"`
	User         string `json:"user"`
	Priority     string `json:"priority,omitempty"`
	RequestedBy  string `json:"requested_by"`
	Ticket       string `json:"ticket,omitempty"`
	Reason       string `json:"reason,omitempty"`
	CanceledBy   string `json:"canceled_by,omitempty"`
	CancelReason string `json:"cancel_reason,omitempty"`
	Subject      string `json:"subject"`
	Sequence     uint64 `json:"sequence"`
	// show only: the job's status record, when it has one.
	Status *jobs.Status `json:"status,omitempty"`
}

func lineOf(s jobs.Scheduled) scheduledLine {
	state := "pending"
	switch {
	case s.Canceled():
		state = "canceled"
	case !s.Pending():
		state = "fired"
	}
	j := s.Job
	return scheduledLine{JobID: j.ID, State: state, NotBefore: j.NotBefore.UTC().Format(time.RFC3339Nano), Action: string(j.Action),
		User: j.User.Key(), Priority: string(j.Priority), RequestedBy: j.RequestedBy, Ticket: j.Ticket, Reason: j.Reason,
		CanceledBy: s.CanceledBy, CancelReason: s.CancelReason, Subject: s.Subject, Sequence: s.Sequence}
}

func (l scheduledLine) text() string {
	s := fmt.Sprintf("%s  %s  %s %s  %s  requested by %s", l.JobID, l.NotBefore, l.Action, l.User, l.State, l.RequestedBy)
	if l.CanceledBy != "" {
		s += " (canceled by " + l.CanceledBy + ")"
	}
	return s
}

func (s *session) scheduler() (*jobs.Scheduler, error) { return jobs.NewScheduler(s.js, s.names, 0) }

func scheduledListCommand() *command {
	so := &scheduledOpts{}
	return &command{
		name: "scheduled list", args: "[--user U]... [--all]",
		summary: "Lists the jobs waiting for their not_before in the scheduled stream, oldest schedule first (a year ahead\n" +
			"included). --user lists one user's (under the identifiers given); --all adds the fired ones still kept.",
		flags: func(fs *flag.FlagSet, o *opts) {
			so.userFlag(fs)
			fs.BoolVar(&o.All, "all", false, "also the jobs that fired (kept as tombstones for ScheduledKeep)")
			fs.IntVar(&o.Limit, "limit", jobs.DefaultPendingLimit, "list at most this many")
		},
		check: func(_ *opts, args []string) error { return noArgs(args) },
		run: func(ctx context.Context, s *session, o *opts, _ []string) int {
			sched, err := s.scheduler()
			if err != nil {
				return s.fail("scheduled list", err)
			}
			list, err := sched.Pending(ctx, jobs.PendingQuery{Users: so.users, History: o.All, Limit: o.Limit})
			if err != nil && !errors.Is(err, jobs.ErrTooMany) {
				return s.fail("scheduled list", err)
			}
			for _, sc := range list {
				if s.json {
					s.emit(lineOf(sc))
				} else {
					fmt.Fprintln(s.stdout, lineOf(sc).text())
				}
			}
			if errors.Is(err, jobs.ErrTooMany) {
				fmt.Fprintf(s.stderr, "genesysctl scheduled list: more than %d; raise --limit or give --user\n", len(list))
			} else if !s.json {
				fmt.Fprintf(s.stdout, "%d scheduled %s\n", len(list), plural(len(list), "job", "jobs"))
			}
			return ExitOK
		},
	}
}

func scheduledShowCommand() *command {
	return &command{
		name: "scheduled show", args: "JOB_ID",
		summary: "Shows a scheduled job: its date, what it asks for, whether it is pending, canceled or fired, and its status.",
		check: func(_ *opts, args []string) error {
			if len(args) > 1 {
				return errors.New("give one job id")
			}
			return checkJobIDs(args, 1)
		},
		run: func(ctx context.Context, s *session, _ *opts, args []string) int {
			sched, err := s.scheduler()
			if err != nil {
				return s.fail("scheduled show", err)
			}
			sc, err := sched.Lookup(ctx, args[0])
			if err != nil {
				return s.fail("scheduled show", err)
			}
			l := lineOf(sc)
			if store, err := jobs.NewStatusStore(ctx, s.js, s.names); err == nil {
				if st, err := store.Get(ctx, args[0]); err == nil {
					l.Status = &st
				}
			}
			if s.json {
				s.emit(l)
				return ExitOK
			}
			fmt.Fprintf(s.stdout, "job %s\n  state:        %s\n  not_before:   %s\n  action:       %s\n  user:         %s\n  requested_by: %s\n",
				l.JobID, l.State, l.NotBefore, l.Action, l.User, l.RequestedBy)
			for _, kv := range [][2]string{{"priority", l.Priority}, {"ticket", l.Ticket}, {"reason", l.Reason},
				{"canceled_by", l.CanceledBy}, {"cancel_reason", l.CancelReason}} {
				if kv[1] != "" {
					fmt.Fprintf(s.stdout, "  %-13s %s\n", kv[0]+":", kv[1])
				}
			}
			fmt.Fprintf(s.stdout, "  stored:       %s #%d\n", l.Subject, l.Sequence)
			if l.Status != nil {
				fmt.Fprintf(s.stdout, "  status:       %s %s\n", l.Status.State, l.Status.Outcome)
			}
			return ExitOK
		},
	}
}

// changeLine is one job's result of scheduled cancel or move with --output json.
type changeLine struct {
	JobID     string `json:"job_id"`
	Result    string `json:"result"`            // canceled, moved or failed
	Outcome   string `json:"outcome,omitempty"` // cancel: the job's outcome, once done
	NotBefore string `json:"not_before,omitempty"`
	Error     string `json:"error,omitempty"`
}

func scheduledCancelCommand() *command {
	so := &scheduledOpts{}
	return &command{
		name: "scheduled cancel", args: "JOB_ID... | --user U... --reason R", changes: true,
		summary: "Cancels pending scheduled jobs: each ends \"canceled\" (Genesys untouched), with an audit event naming the\n" +
			"operator and the reason, and an ops event scheduled_canceled. --user cancels the user's pending deactivations\n" +
			"and deletes found under the identifiers given (a cancel job, \"action\":\"cancel\", also finds them under the\n" +
			"user's other identifiers). Waits up to --wait for each job's outcome. A job that fired already is refused.",
		flags: func(fs *flag.FlagSet, _ *opts) {
			so.userFlag(fs)
			fs.StringVar(&so.reason, "reason", "", "why; required")
			fs.DurationVar(&so.wait, "wait", defaultCancelWait, "how long to wait for each canceled job's outcome (0: do not wait)")
		},
		check: func(_ *opts, args []string) error {
			var errs []error
			switch {
			case len(so.users) > 0 && len(args) > 0:
				errs = append(errs, errors.New("give job ids or --user, not both"))
			case len(so.users) == 0:
				errs = append(errs, checkJobIDs(args, 1))
			}
			if so.wait < 0 {
				errs = append(errs, errors.New("--wait must not be negative"))
			}
			return errors.Join(append(errs, so.checkReason())...)
		},
		run: func(ctx context.Context, s *session, o *opts, ids []string) int {
			return s.runScheduledCancel(ctx, o, so, ids)
		},
	}
}

func (s *session) runScheduledCancel(ctx context.Context, o *opts, so *scheduledOpts, ids []string) int {
	const cmd = "scheduled cancel"
	sched, err := s.scheduler()
	if err != nil {
		return s.fail(cmd, err)
	}
	events, err := s.opsPublisher()
	if err != nil {
		return s.fail(cmd, err)
	}
	store, err := jobs.NewStatusStore(ctx, s.js, s.names)
	if err != nil {
		return s.fail(cmd, err)
	}
	if len(so.users) > 0 {
		list, err := sched.Pending(ctx, jobs.PendingQuery{Users: so.users})
		if err != nil {
			return s.fail(cmd, err)
		}
		for _, sc := range list {
			if sc.Pending() && (sc.Job.Action == jobs.ActionDeactivate || sc.Job.Action == jobs.ActionDelete) {
				ids = append(ids, sc.Job.ID)
			}
		}
		if len(ids) == 0 {
			fmt.Fprintf(s.stdout, "no pending scheduled deactivation or delete under %s\n", userKeys(so.users))
			return ExitOK
		}
	}
	code := ExitOK
	by := s.identity(o.Operator)
	for _, id := range ids {
		l := changeLine{JobID: id, Result: "failed"}
		sc, err := sched.Cancel(ctx, id, by, so.reason)
		if err != nil {
			l.Error, code = s.explain(err).Error()+s.statusNote(ctx, store, id), ExitFailure
			s.report(cmd, id, l.Result, "", l.Error, l)
			continue
		}
		l.Result, l.NotBefore = "canceled", sc.Job.NotBefore.UTC().Format(time.RFC3339Nano)
		err = s.publishOps(ctx, events, "scheduled_canceled", o.Operator, id+"@"+fmt.Sprint(sc.Sequence),
			fmt.Sprintf("%s canceled scheduled job %s (%s of %s, due %s): %s", by, id, sc.Job.Action, sc.Job.User.Key(), l.NotBefore, so.reason),
			map[string]string{"job_id": id, "not_before": l.NotBefore, "reason": so.reason, "user": sc.Job.User.Key(), "action": string(sc.Job.Action)})
		if err != nil {
			l.Error, code = "canceled, but the ops event was not stored: "+s.explain(err).Error(), ExitFailure
		}
		if so.wait == 0 {
			s.report(cmd, id, l.Result, "", l.Error, l)
			continue
		}
		st, werr := waitStatus(ctx, store, id, so.wait)
		switch {
		case werr != nil:
			l.Error = cmp.Or(l.Error, "canceled; its outcome is not known yet: "+werr.Error())
		case st.Outcome != "canceled":
			// The fire won the race (a replicated stream may accept both): the job ran.
			l.Result, l.Outcome, code = "failed", string(st.Outcome), ExitFailure
			l.Error = "the job fired before the cancel took effect and ended " + string(st.Outcome)
		default:
			l.Outcome = string(st.Outcome)
		}
		s.report(cmd, id, l.Result, "", l.Error, l)
	}
	return code
}

func userKeys(us []jobs.UserRef) string {
	keys := make([]string, len(us))
	for i, u := range us {
		keys[i] = u.Key()
	}
	return strings.Join(keys, ", ")
}

// statusNote says what the status record knows about id, for an error.
func (s *session) statusNote(ctx context.Context, store *jobs.StatusStore, id string) string {
	st, err := store.Get(ctx, id)
	if err != nil {
		return ""
	}
	if st.State == jobs.StateDone {
		return fmt.Sprintf(" (its status: done, %s)", st.Outcome)
	}
	return fmt.Sprintf(" (its status: %s)", st.State)
}

// waitStatus waits up to d for id's status to be done.
func waitStatus(ctx context.Context, store *jobs.StatusStore, id string, d time.Duration) (jobs.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	w, err := store.Watch(ctx, id)
	if err != nil {
		return jobs.Status{}, err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return jobs.Status{}, fmt.Errorf("not done after %s", d)
		case e := <-w.Updates():
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			st, err := store.Get(ctx, id)
			if err == nil && st.State == jobs.StateDone {
				return st, nil
			}
		}
	}
}

func scheduledMoveCommand() *command {
	so := &scheduledOpts{}
	return &command{
		name: "scheduled move", args: "JOB_ID --at T --reason R", changes: true,
		summary: "Moves a pending scheduled job to another time (RFC 3339 with an offset; a past time runs it now).\n" +
			"Publishes an ops event scheduled_moved naming the operator, the old and the new time.",
		flags: func(fs *flag.FlagSet, _ *opts) {
			fs.StringVar(&so.at, "at", "", "the new time, such as 2027-01-31T17:00:00+01:00; required")
			fs.StringVar(&so.reason, "reason", "", "why; required")
		},
		check: func(_ *opts, args []string) error {
			errs := []error{so.checkReason()}
			if len(args) != 1 {
				errs = append(errs, errors.New("give one job id"))
			} else {
				errs = append(errs, checkJobIDs(args, 1))
			}
			t, err := time.Parse(time.RFC3339Nano, so.at)
			if err != nil || !strings.ContainsAny(so.at[min(len(so.at), 19):], "Z+-") {
				errs = append(errs, fmt.Errorf("--at %q: want an RFC 3339 time with an offset, such as 2027-01-31T17:00:00Z", clip(so.at, 64)))
			}
			so.atTime = t
			return errors.Join(errs...)
		},
		run: func(ctx context.Context, s *session, o *opts, args []string) int {
			const cmd = "scheduled move"
			id := args[0]
			sched, err := s.scheduler()
			if err != nil {
				return s.fail(cmd, err)
			}
			events, err := s.opsPublisher()
			if err != nil {
				return s.fail(cmd, err)
			}
			before, err := sched.Lookup(ctx, id)
			if err != nil {
				return s.fail(cmd, err)
			}
			sc, err := sched.Move(ctx, id, so.atTime)
			if err != nil {
				return s.fail(cmd, err)
			}
			from, to := before.Job.NotBefore.UTC().Format(time.RFC3339Nano), sc.Job.NotBefore.UTC().Format(time.RFC3339Nano)
			l := changeLine{JobID: id, Result: "moved", NotBefore: to}
			err = s.publishOps(ctx, events, "scheduled_moved", o.Operator, id+"@"+fmt.Sprint(sc.Sequence),
				fmt.Sprintf("%s moved scheduled job %s (%s of %s) from %s to %s: %s", s.identity(o.Operator), id, sc.Job.Action, sc.Job.User.Key(), from, to, so.reason),
				map[string]string{"job_id": id, "from": from, "to": to, "reason": so.reason, "user": sc.Job.User.Key(), "action": string(sc.Job.Action)})
			code := ExitOK
			if err != nil {
				l.Error, code = "moved, but the ops event was not stored: "+s.explain(err).Error(), ExitFailure
			}
			if s.json {
				s.emit(l)
			} else {
				fmt.Fprintf(s.stdout, "%s: moved from %s to %s\n", id, from, to)
			}
			if l.Error != "" {
				fmt.Fprintf(s.stderr, "genesysctl %s: %s: %s\n", cmd, id, l.Error)
			}
			return code
		},
	}
}
