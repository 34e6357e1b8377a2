package ctl

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
)

// The budget commands show and clear the fleet's 429 pause (pkg/budget):
// Genesys may ask for up to 15 minutes with Retry-After, and every worker
// holds that pause in memory as well as in the budget bucket (review L8).

func budgetStatusCommand() *command {
	return &command{
		name: "budget status", summary: "Shows each rate budget (one per OAuth client) and its 429 pause, if any.",
		check: func(_ *opts, args []string) error { return noArgs(args) },
		run: func(ctx context.Context, s *session, o *opts, _ []string) int {
			kv, err := s.js.KeyValue(ctx, s.names.BudgetBucket())
			if err != nil {
				return s.fail("budget status", err)
			}
			ps, err := budget.Pauses(ctx, kv)
			if err != nil {
				return s.fail("budget status", err)
			}
			for _, p := range ps {
				s.printPause(p, s.nowFunc())
			}
			return ExitOK
		},
	}
}

func budgetResumeCommand() *command {
	var clientID string
	return &command{
		name: "budget resume", changes: true,
		summary: "Clears the fleet's 429 pause of one OAuth client's budget (--client-id), or of every budget;\n" +
			"workers take requests again within seconds. Audited (budget_resumed).",
		flags: func(fs *flag.FlagSet, o *opts) {
			fs.StringVar(&clientID, "client-id", "", "the OAuth client id whose budget to resume; empty for every budget")
		},
		check: func(_ *opts, args []string) error { return noArgs(args) },
		run: func(ctx context.Context, s *session, o *opts, _ []string) int {
			return s.budgetResume(ctx, o, clientID)
		},
	}
}

func (s *session) budgetResume(ctx context.Context, o *opts, clientID string) int {
	const cmd = "budget resume"
	kv, err := s.js.KeyValue(ctx, s.names.BudgetBucket())
	if err != nil {
		return s.fail(cmd, err)
	}
	keys := []string{budget.KeyFor(clientID)}
	if clientID == "" {
		ps, err := budget.Pauses(ctx, kv)
		if err != nil {
			return s.fail(cmd, err)
		}
		keys = keys[:0]
		for _, p := range ps {
			keys = append(keys, p.Key)
		}
	}
	pub, err := s.opsPublisher()
	if err != nil {
		return s.fail(cmd, err)
	}
	for _, key := range keys {
		if code := s.resumeOne(ctx, kv, pub, o, key); code != ExitOK {
			return code
		}
	}
	return ExitOK
}

func (s *session) resumeOne(ctx context.Context, kv jetstream.KeyValue, pub *audit.Publisher, o *opts, key string) int {
	const cmd = "budget resume"
	now := s.nowFunc()
	was, err := budget.Resume(ctx, kv, key, now)
	if err != nil {
		return s.fail(cmd, err)
	}
	until := "none"
	if !was.Until.IsZero() {
		until = was.Until.UTC().Format(time.RFC3339)
	}
	msg := fmt.Sprintf("An operator cleared the fleet's 429 pause of budget %s (it was paused until %s).", key, until)
	n := was.Resumes + 1
	fields := map[string]string{"budget": key, "paused_until": until, "resumes": fmt.Sprint(n)}
	if err := s.publishOps(ctx, pub, "budget_resumed", o.Operator, fmt.Sprintf("budget-resume:%s:%d", key, n), msg, fields); err != nil {
		return s.fail(cmd, fmt.Errorf("the pause is cleared, but the ops event was not stored: %w", err))
	}
	if s.json {
		s.emit(map[string]any{"budget": key, "cleared_pause_until": was.Until, "operator": o.Operator})
		return ExitOK
	}
	fmt.Fprintf(s.stdout, "%s: pause cleared (was until %s); recorded as budget_resumed by %s\n", key, until, s.identity(o.Operator))
	return ExitOK
}

func (s *session) printPause(p budget.Paused, now time.Time) {
	if s.json {
		s.emit(p)
		return
	}
	if p.Until.IsZero() || !p.Until.After(now) {
		fmt.Fprintf(s.stdout, "%s: not paused (%d operator resumes)\n", p.Key, p.Resumes)
		return
	}
	fmt.Fprintf(s.stdout, "%s: paused by a 429 until %s (%s from now)\n", p.Key, p.Until.UTC().Format(time.RFC3339), p.Until.Sub(now).Round(time.Second))
}
