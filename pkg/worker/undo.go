package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// undoSteps are the undos of the steps that have one, in reverse order, as steps of a
// reactivation: each gets what its step recorded in the user's last deactivation event and the
// cleanup that followed it (nil
// when none is recorded and the reactivation is forced). An undo runs on every delivery when its
// step does (it reads the state it restores), whatever the step's Applies said at the time:
// what was recorded is given back even if the worker no longer records it.
func undoSteps(plan []Step) []Step {
	var out []Step
	for i := len(plan) - 1; i >= 0; i-- {
		s := plan[i]
		if s.Undo == nil {
			continue
		}
		undo := s.Undo
		out = append(out, Step{Name: "undo_" + s.Name, Phase: PhaseUndo, Every: s.Every,
			Do: func(ctx context.Context, r *Run) error { return undo(ctx, r, r.recorded) }})
	}
	return out
}

// lastDeactivation returns what the user's last "deactivated" audit event recorded, merged with
// what the cleanup job that followed it recorded (its last "cleaned_up" event, when that names
// this deactivation in cleanup_of: the steps' findings of both, by step name), or nil when no
// deactivation is recorded. A cleanup that did not end cleaned_up (it failed, or found the user
// active) adds nothing: what it may have changed is in its dead letter for an operator.
func (w *Worker) lastDeactivation(ctx context.Context, userID string) (*audit.Findings, error) {
	deact, err := w.lastUserEvent(ctx, audit.OutcomeDeactivated, userID)
	if deact == nil || err != nil {
		return nil, err
	}
	f := deact.Findings
	clean, err := w.lastUserEvent(ctx, audit.OutcomeCleanedUp, userID)
	if err != nil {
		return nil, err
	}
	if clean != nil && clean.CleanupOf == deact.JobID && len(clean.Steps) > 0 {
		merged := maps.Clone(f.Steps)
		if merged == nil {
			merged = map[string]json.RawMessage{}
		}
		maps.Copy(merged, clean.Steps)
		f.Steps = merged
	}
	return &f, nil
}

// lastUserEvent returns the unmapped part of the user's last audit event of outcome o, nil when
// there is none.
func (w *Worker) lastUserEvent(ctx context.Context, o audit.Outcome, userID string) (*audit.Unmapped, error) {
	u, _, err := w.lastUserEventAt(ctx, o, userID)
	return u, err
}

// lastUserEventAt is lastUserEvent with the event's time.
func (w *Worker) lastUserEventAt(ctx context.Context, o audit.Outcome, userID string) (*audit.Unmapped, time.Time, error) {
	subject := w.cfg.Names.UserAuditSubject(o, userID)
	m, err := w.audits.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read the user's last %s event: %w", o, err)
	}
	var ev struct {
		Data audit.AccountChange `json:"data"`
	}
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		return nil, time.Time{}, fmt.Errorf("decode the user's last %s event: %w", o, err)
	}
	return &ev.Data.Unmapped, time.UnixMilli(ev.Data.Time).UTC(), nil
}
