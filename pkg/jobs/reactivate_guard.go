package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// ReactivateGuardKey is the key of the reactivation guard in the guard
// bucket. Reactivations have a guard of their own (review D4): re-enabling
// leavers in bulk, by mistake or by a stolen operator credential, is as
// dangerous as deactivating staff in bulk, and its cap must not be shared
// with deactivations (a layoff day would leave no room for an undo, or an
// undo run would hold the layoff). When it trips, reactivations wait, handed
// back without an attempt, until an operator resumes it, raises its limit or
// drops the held reactivations (genesysctl guard ... --reactivations);
// deactivations are never held by it, and no lane is paused.
const ReactivateGuardKey = "reactivate"

// stepReactivationGuard counts the reactivation in the reactivation guard before its PATCH.
// Nothing is counted for a user already active, or when an earlier delivery took the slot (and
// sent the PATCH).
var stepReactivationGuard = Step{
	Name: "reactivation_guard", Phase: PhaseCheck,
	Applies: func(r *Run) bool { return r.w.reactivateGuard != nil && !r.user.Active && !r.st.Steps.PatchSent },
	Do:      reserveReactivation,
}

func reserveReactivation(ctx context.Context, r *Run) error {
	g := r.w.reactivateGuard
	tripped, err := g.Reserve(ctx, r.job.ID, false, r.seq)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errGuardDrop):
		return Stop(audit.OutcomeDropped, errors.New("jobs: dropped by an operator while the reactivation guard held it"))
	case errors.Is(err, ErrGuardHeld):
		if tripped {
			r.log.Error("the reactivation guard tripped: holding reactivations until an operator decides")
			if err := r.reactivationTripped(ctx, g); err != nil {
				r.log.Warn("reactivation guard trip: publishing the ops event failed", zap.Error(err))
			}
		}
		return wait(errors.New("jobs: the reactivation guard holds this job"))
	}
	return wait(fmt.Errorf("%w: %w", errStore, err))
}

// reactivationTripped publishes the ops event of a tripped reactivation guard.
func (r *Run) reactivationTripped(ctx context.Context, g *Guard) error {
	st, _, err := g.State(ctx)
	if err != nil {
		return err
	}
	all, _ := st.Counts()
	return g.opsEvent(ctx, "reactivation_guard_tripped",
		fmt.Sprintf("The reactivation guard holds reactivations: %d in the last %s reached the limit of %d. An operator must resume, raise the limit or drop the held reactivations (genesysctl guard ... --reactivations).",
			all, st.Window, st.Limit),
		map[string]string{"guard": ReactivateGuardKey, "limit": strconv.Itoa(st.Limit), "count": strconv.Itoa(all),
			"window": st.Window.String(), "job_id": r.job.ID}, "")
}
