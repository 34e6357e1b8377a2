package ctl

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// selectDead returns the dead letters a replay or purge names: every one (of --outcome) with
// --all, else those of the given job ids. A job id without a dead letter is reported on stderr
// and makes the exit status 1. targets is nil when there is nothing to do; code is then the exit
// status.
func (s *session) selectDead(ctx context.Context, cmd string, o *opts, ids []string) (targets []deadEntry, code int) {
	if o.All {
		all, err := s.deadLetters(ctx, o.Outcome, time.Time{})
		if err != nil {
			return nil, s.fail(cmd, err)
		}
		for _, e := range all {
			if e.decodeErr == nil {
				targets = append(targets, e)
			}
		}
		if len(targets) == 0 {
			fmt.Fprintf(s.stderr, "genesysctl %s: no dead letters\n", cmd)
			return nil, ExitOK
		}
		return targets, ExitOK
	}
	found, err := s.findDead(ctx, ids)
	if err != nil {
		return nil, s.fail(cmd, err)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if len(found[id]) == 0 {
			fmt.Fprintf(s.stderr, "genesysctl %s: %s: no dead letter\n", cmd, id)
			code = ExitFailure
		}
		targets = append(targets, found[id]...)
	}
	return targets, code
}

// opsPublisher returns a publisher of audit events into the deployment's audit stream.
func (s *session) opsPublisher() (*audit.Publisher, error) {
	return audit.NewPublisher(s.js, audit.PublisherConfig{Prefix: s.names.Prefix, Stream: s.names.AuditStream()})
}

// publishOps stores one ops event of kind naming who did it: the operator and the NATS user,
// with fields. key makes the event id unique to the change, so a retry stores it once.
func (s *session) publishOps(ctx context.Context, p *audit.Publisher, kind, operator, key, message string, fields map[string]string) error {
	f := map[string]string{"operator": operator, "nats_user": s.natsUser, "tool": "genesysctl"}
	maps.Copy(f, fields)
	ev, err := audit.Origin{}.OpsEvent(audit.Ops{Kind: kind, Message: message, Fields: f, Time: s.nowFunc(), Key: key})
	if err != nil {
		return err
	}
	_, err = p.Publish(ctx, ev)
	return err
}

// report writes one job's result of a changing command: line as JSON with --output json, else
// a sentence; errors also go to stderr.
func (s *session) report(cmd, jobID, result, newID, errText string, line any) {
	if s.json {
		s.emit(line)
	}
	switch {
	case errText != "" && result != "skipped":
		fmt.Fprintf(s.stderr, "genesysctl %s: %s: %s\n", cmd, jobID, errText)
	case s.json:
	case result == "skipped":
		fmt.Fprintf(s.stdout, "%s: skipped: %s\n", jobID, errText)
	case newID != "":
		fmt.Fprintf(s.stdout, "%s: %s as %s\n", jobID, result, newID)
	default:
		fmt.Fprintf(s.stdout, "%s: %s\n", jobID, result)
	}
}
