package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// The guard commands read and decide on the mass-deactivation guard
// (jobs.Guard). The decisions are audited by jobs.Guard itself, as ops events
// naming the operator and the NATS user.

func guardStatusCommand() *command {
	return &command{
		name: "guard status", summary: "Shows the mass-deactivation guard: limits, deactivations in the window, whether a lane is held, recent decisions.",
		flags: reactivationsFlag,
		check: func(_ *opts, args []string) error { return noArgs(args) },
		run: func(ctx context.Context, s *session, o *opts, _ []string) int {
			g, err := s.guard(ctx, o)
			if err != nil {
				return s.fail("guard status", err)
			}
			st, _, err := g.State(ctx)
			if err != nil {
				return s.fail("guard status", err)
			}
			s.printGuard(st, o)
			if !s.json {
				if holds, err := g.LaneHolds(ctx); err == nil {
					s.printHolds(holds)
				}
			}
			return ExitOK
		},
	}
}

func guardResumeCommand() *command {
	return &command{
		name: "guard resume", changes: true,
		summary: "Lets the held jobs through: the window's count starts again from zero. Audited (guard_resumed).",
		flags:   reactivationsFlag,
		check:   func(_ *opts, args []string) error { return noArgs(args) },
		run: func(ctx context.Context, s *session, o *opts, _ []string) int {
			return s.guardDecision(ctx, "guard resume", func(g *jobs.Guard, d jobs.GuardDecision) (jobs.GuardState, error) {
				return g.Resume(ctx, d)
			}, o)
		},
	}
}

func guardSetLimitCommand() *command {
	var limit, urgent int
	return &command{
		name: "guard set-limit", changes: true,
		summary: "Changes the guard's limits in force (normal and urgent), lifting a hold they no longer justify. Audited (guard_limit_set).",
		flags: func(fs *flag.FlagSet, o *opts) {
			fs.IntVar(&limit, "limit", 0, "deactivations per window before normal jobs are held; 0 keeps the current one")
			fs.IntVar(&urgent, "urgent-limit", 0, "urgent deactivations per window before urgent jobs are held; 0 keeps the current one")
			reactivationsFlag(fs, o)
		},
		check: func(o *opts, args []string) error {
			var errs []error
			if limit < 0 || urgent < 0 {
				errs = append(errs, errors.New("--limit and --urgent-limit must not be negative"))
			}
			if limit == 0 && urgent == 0 {
				errs = append(errs, errors.New("give --limit, --urgent-limit or both"))
			}
			return errors.Join(append(errs, noArgs(args))...)
		},
		run: func(ctx context.Context, s *session, o *opts, _ []string) int {
			return s.guardDecision(ctx, "guard set-limit", func(g *jobs.Guard, d jobs.GuardDecision) (jobs.GuardState, error) {
				return g.SetLimits(ctx, limit, urgent, d)
			}, o)
		},
	}
}

func guardDropCommand() *command {
	return &command{
		name: "guard drop-held", changes: true,
		summary: "Drops every job queued so far: each ends \"dropped\" (Genesys untouched, dead-lettered for replay);\n" +
			"jobs published later run. Needs --yes. Audited (guard_dropped).",
		flags: func(fs *flag.FlagSet, o *opts) {
			fs.BoolVar(&o.Yes, "yes", false, "confirm dropping the held jobs; required")
			reactivationsFlag(fs, o)
		},
		check: func(o *opts, args []string) error {
			if !o.Yes {
				return errors.Join(errors.New("guard drop-held ends every queued job without deactivating anyone: add --yes"), noArgs(args))
			}
			return noArgs(args)
		},
		run: func(ctx context.Context, s *session, o *opts, _ []string) int {
			return s.guardDecision(ctx, "guard drop-held", func(g *jobs.Guard, d jobs.GuardDecision) (jobs.GuardState, error) {
				return g.DropHeld(ctx, d)
			}, o)
		},
	}
}

func noArgs(args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	return nil
}

// reactivationsFlag selects the reactivation guard instead of the mass-deactivation guard.
func reactivationsFlag(fs *flag.FlagSet, o *opts) {
	fs.BoolVar(&o.Reactivations, "reactivations", false, "act on the reactivation guard (which holds reactivations past --guard-reactivate-limit) instead of the mass-deactivation guard")
	fs.BoolVar(&o.Deletes, "deletes", false, "act on the delete guard (which holds the delete lane past --guard-delete-limit) instead of the mass-deactivation guard")
}

// guard opens the deployment's guard, or its reactivation guard. The limits
// of a guard that has no state yet come from the workers; this one only
// reads and decides.
func (s *session) guard(ctx context.Context, o *opts) (*jobs.Guard, error) {
	var cfg jobs.GuardConfig
	switch { // validate refuses both
	case o.Reactivations:
		cfg.Key = jobs.ReactivateGuardKey
	case o.Deletes:
		cfg.Key = jobs.DeleteGuardKey
	}
	return jobs.NewGuard(ctx, s.js, s.names, cfg, audit.Origin{})
}

func (s *session) guardDecision(ctx context.Context, cmd string, decide func(*jobs.Guard, jobs.GuardDecision) (jobs.GuardState, error), o *opts) int {
	g, err := s.guard(ctx, o)
	if err != nil {
		return s.fail(cmd, err)
	}
	st, err := decide(g, jobs.GuardDecision{Operator: o.Operator, NATSUser: s.natsUser, At: s.nowFunc().UTC()})
	if err != nil {
		return s.fail(cmd, err)
	}
	s.printGuard(st, o)
	return ExitOK
}

func (s *session) printGuard(st jobs.GuardState, o *opts) {
	all, urgent := st.Counts()
	if s.json {
		s.emit(struct {
			jobs.GuardState
			Count       int `json:"count"`
			UrgentCount int `json:"urgent_count"`
		}{st, all, urgent})
		return
	}
	held := []string{}
	if st.Held {
		held = append(held, "normal")
	}
	if st.UrgentHeld {
		held = append(held, "urgent")
	}
	if o.Deletes {
		fmt.Fprintf(s.stdout, "delete guard: limit %d per %s; %d deletes in the window; held: %t\n", st.Limit, st.Window, all, st.Held)
	} else if o.Reactivations {
		fmt.Fprintf(s.stdout, "reactivation guard: limit %d per %s; %d reactivations in the window; held: %t\n", st.Limit, st.Window, all, st.Held)
	} else {
		fmt.Fprintf(s.stdout, "limit %d (urgent %d) per %s; %d deactivations in the window (%d urgent); held: %s\n",
			st.Limit, st.UrgentLimit, st.Window, all, urgent, cmpStr(strings.Join(held, ", "), "nothing"))
	}
	if st.DropThrough > 0 {
		fmt.Fprintf(s.stdout, "jobs queued through sequence %d are dropped\n", st.DropThrough)
	}
	for _, d := range st.Decisions {
		fmt.Fprintf(s.stdout, "  %s  %-10s %s (NATS user %s): %s\n", d.At.Format("2006-01-02 15:04:05Z"), d.Action, d.Operator, d.NATSUser, d.Detail)
	}
}

func cmpStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// printHolds lists every reason a lane is held: the guard's, a fleet pause
// for refused credentials or permissions, another guard's.
func (s *session) printHolds(h jobs.LaneHolds) {
	now := s.nowFunc()
	for _, name := range slices.Sorted(maps.Keys(h.Holds)) {
		hold := h.Holds[name]
		if !hold.Until.IsZero() && !hold.Until.After(now) {
			continue
		}
		until := "until lifted"
		if !hold.Until.IsZero() {
			until = "until " + hold.Until.UTC().Format("2006-01-02 15:04:05Z") + " unless renewed"
		}
		fmt.Fprintf(s.stdout, "lanes %s held by %s (%s): %s\n", strings.Join(hold.Lanes, ", "), name, until, hold.Reason)
	}
}
