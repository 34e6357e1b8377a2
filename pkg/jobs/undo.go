package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// undoSteps are the undos of the steps that have one, in reverse order, as steps of a
// reactivation: each gets what its step recorded in the user's last deactivation event (nil
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

// lastDeactivation returns what the user's last "deactivated" audit event
// recorded, or nil when there is none.
func (w *Worker) lastDeactivation(ctx context.Context, userID string) (*audit.Findings, error) {
	subject := w.cfg.Names.UserAuditSubject(audit.OutcomeDeactivated, userID)
	m, err := w.audits.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the user's last deactivation event: %w", err)
	}
	var ev struct {
		Data audit.AccountChange `json:"data"`
	}
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		return nil, fmt.Errorf("decode the user's last deactivation event: %w", err)
	}
	return &ev.Data.Unmapped.Findings, nil
}
