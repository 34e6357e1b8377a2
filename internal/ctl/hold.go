package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// The hold commands add, remove and list legal holds (jobs.Holds): a delete job for a held user
// ends "held", dead-lettered, and deletes nothing. Each change is an ops event naming the
// operator and the NATS user (legal_hold_added, legal_hold_removed).
//
//	genesysctl hold add USER --reason R --operator O
//	genesysctl hold remove USER --reason R --operator O
//	genesysctl hold list
//
// USER is id:<uuid>, user_name:<email> or external_id:<value>; a bare UUID is an id and a bare
// value with an '@' a user name.

// holdChange is what hold add and hold remove share: one USER and --reason.
func holdChange(name, summary string, run func(ctx context.Context, s *session, o *opts, ref jobs.UserRef, reason string) int) *command {
	var reason string
	return &command{
		name: name, args: "USER", changes: true, summary: summary,
		flags: func(fs *flag.FlagSet, _ *opts) {
			fs.StringVar(&reason, "reason", "", "why (a matter or case reference), recorded in the hold and the ops event; required")
		},
		check: func(_ *opts, args []string) error {
			var errs []error
			if len(args) != 1 {
				errs = append(errs, errors.New("want exactly one USER"))
			} else if _, err := parseUser(args[0]); err != nil {
				errs = append(errs, err)
			}
			if strings.TrimSpace(reason) == "" {
				errs = append(errs, errors.New("--reason is required"))
			} else if p := jobs.TextProblem(reason); p != "" || len(reason) > jobs.MaxReasonLength {
				errs = append(errs, fmt.Errorf("--reason: %s", cmpStr(p, "too long")))
			}
			return errors.Join(errs...)
		},
		run: func(ctx context.Context, s *session, o *opts, args []string) int {
			ref, _ := parseUser(args[0]) // check has parsed it
			return run(ctx, s, o, ref, reason)
		},
	}
}

func holdAddCommand() *command {
	return holdChange("hold add", "Puts a legal hold on a user: delete jobs for the user end \"held\" (dead-lettered), nothing deleted,\n"+
		"until the hold is removed. A delete is blocked when any of the user's identifiers is held. Audited (legal_hold_added).",
		func(ctx context.Context, s *session, o *opts, ref jobs.UserRef, reason string) int {
			holds, err := jobs.NewHolds(ctx, s.js, s.names)
			if err != nil {
				return s.fail("hold add", err)
			}
			h, added, err := holds.Add(ctx, ref, reason, o.Operator, s.natsUser)
			if err != nil {
				return s.fail("hold add", err)
			}
			if !added {
				s.printHold("already held", h)
				return ExitOK
			}
			if code := s.holdEvent(ctx, "hold add", "legal_hold_added", o.Operator, h, reason,
				fmt.Sprintf("%s put a legal hold on %s %s: %s", s.identity(o.Operator), h.Kind, h.Value, reason)); code != ExitOK {
				return code
			}
			s.printHold("held", h)
			return ExitOK
		})
}

func holdRemoveCommand() *command {
	return holdChange("hold remove", "Removes a legal hold: delete jobs for the user run again (replay the held ones). Audited (legal_hold_removed).",
		func(ctx context.Context, s *session, o *opts, ref jobs.UserRef, reason string) int {
			holds, err := jobs.NewHolds(ctx, s.js, s.names)
			if err != nil {
				return s.fail("hold remove", err)
			}
			h, err := holds.Remove(ctx, ref)
			if err != nil {
				return s.fail("hold remove", err)
			}
			if code := s.holdEvent(ctx, "hold remove", "legal_hold_removed", o.Operator, h, reason,
				fmt.Sprintf("%s removed the legal hold on %s %s (held since %s by %s for %q): %s", s.identity(o.Operator), h.Kind, h.Value,
					h.Since.Format("2006-01-02T15:04:05Z"), h.By, h.Reason, reason)); code != ExitOK {
				return code
			}
			s.printHold("removed", h)
			return ExitOK
		})
}

func holdListCommand() *command {
	return &command{
		name: "hold list", summary: "Lists the legal holds in force, oldest first.",
		check: func(_ *opts, args []string) error { return noArgs(args) },
		run: func(ctx context.Context, s *session, _ *opts, _ []string) int {
			holds, err := jobs.NewHolds(ctx, s.js, s.names)
			if err != nil {
				return s.fail("hold list", err)
			}
			list, err := holds.List(ctx)
			if err != nil {
				return s.fail("hold list", err)
			}
			if len(list) == 0 && !s.json {
				fmt.Fprintln(s.stdout, "no legal holds")
			}
			for _, h := range list {
				s.printHold("held", h)
			}
			return ExitOK
		},
	}
}

// holdEvent publishes the ops event of a hold change.
func (s *session) holdEvent(ctx context.Context, cmd, kind, operator string, h jobs.Hold, reason, message string) int {
	events, err := s.opsPublisher()
	if err == nil {
		err = s.publishOps(ctx, events, kind, operator, kind+":"+jobs.HoldKey(h.Ref())+":"+h.Since.Format("20060102T150405.000000000"), message,
			map[string]string{"user": h.Kind + ":" + h.Value, "reason": reason, "hold_reason": h.Reason, "held_by": h.By})
	}
	if err != nil {
		return s.fail(cmd, fmt.Errorf("the hold changed, but its ops event was not stored: %w", err))
	}
	return ExitOK
}

func (s *session) printHold(result string, h jobs.Hold) {
	if s.json {
		s.emit(struct {
			Result string `json:"result"`
			jobs.Hold
		}{result, h})
		return
	}
	fmt.Fprintf(s.stdout, "%s  %s:%s  since %s by %s: %s\n", result, h.Kind, h.Value, h.Since.Format("2006-01-02 15:04:05Z"), h.By, h.Reason)
}
