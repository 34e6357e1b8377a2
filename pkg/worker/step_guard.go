package worker

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// stepGuardSlot counts this deactivation in the mass-deactivation guard before the PATCH. A held
// job goes back to the queue without an attempt (its lane is paused until an operator decides);
// a job the operator dropped ends "dropped". Nothing is counted for a user already inactive, or
// when an earlier delivery took the slot (and sent the PATCH).
var stepGuardSlot = Step{
	Name: "guard_slot", Phase: PhaseCut,
	Applies: func(r *Run) bool { return r.w.guard != nil && r.user.Active && !r.st.Steps.PatchSent },
	Do:      reserveGuardSlot,
}

func reserveGuardSlot(ctx context.Context, r *Run) error {
	g := r.w.guard
	urgent := r.job.Priority == jobs.PriorityUrgent
	tripped, err := g.Reserve(ctx, r.job.ID, urgent, r.seq)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jobs.ErrGuardDrop):
		return Stop(audit.OutcomeDropped, err)
	case errors.Is(err, jobs.ErrGuardHeld):
		if tripped {
			r.log.Error("the mass-deactivation guard tripped: holding jobs until an operator decides")
			if err := g.Tripped(ctx, r.job.ID, urgent); err != nil {
				r.log.Warn("guard trip: pausing the lanes or publishing the ops event failed", zap.Error(err))
			}
		} else {
			_ = g.SyncLanes(ctx) // make sure the lanes stay paused while the guard holds
		}
		return wait(err)
	}
	return wait(fmt.Errorf("%w: %w", errStore, err))
}
