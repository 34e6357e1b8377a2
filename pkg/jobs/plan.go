package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// deactivationPlan is the per-job plan of DESIGN.md, one line per step. A new step goes into
// this list (its Applies says when it runs); its Undo, if any, joins the reactivation plan.
func deactivationPlan() []Step {
	return []Step{
		stepResolve,        // find the user; roles before
		stepLease,          // no other job for the user runs meanwhile
		stepSnapshotQueues, // queues before (WorkerConfig.SnapshotQueues)
		stepSnapshotGrants, // grants before (WorkerConfig.SnapshotGrants); undo: restore access
		stepProtect,        // protected users and roles end "protected"
		stepDryRun,         // a dry run ends here, Genesys untouched
		stepGuardSlot,      // the mass-deactivation guard counts the PATCH
		stepDeactivate,     // PATCH active=false (grants removed on a conflict, if configured); undo: PATCH active=true
		stepRevokeTokens,   // every token of the user
	}
}

// reactivationPlan undoes a deactivation: its checks, then the undo of every deactivation step
// that has one, in reverse order (the PATCH active=true, then the access restored).
func reactivationPlan() []Step {
	return append([]Step{
		stepResolve,
		stepLease,
		stepReactivationChecks, // the user's last deactivation; dry run; refused when none and not forced
		stepReactivationGuard,  // the reactivation guard counts the PATCH
	}, undoSteps(deactivationPlan())...)
}

// DefaultPlan is the list of steps the worker runs for job when WorkerConfig.Plan is nil; nil for
// an action the worker does not support. Each call returns a new slice.
func DefaultPlan(job Job) []Step {
	switch job.Action {
	case ActionDeactivate:
		return deactivationPlan()
	case ActionReactivate:
		return reactivationPlan()
	}
	return nil
}

// plan runs the job's plan and returns a terminal outcome or a failure;
// storing and acking are conclude's.
func (r *Run) plan(ctx context.Context) verdict {
	steps := r.w.cfg.Plan(r.job)
	if steps == nil {
		return verdict{outcome: audit.OutcomeRejected, err: fmt.Errorf("jobs: action %q is not supported by this worker", r.job.Action)}
	}
	// A PATCH sent by an earlier delivery may have applied even if nobody heard the answer:
	// then the user's state is this job's doing.
	s := &r.st.Steps
	r.patchedBefore = s.PatchSent || s.Deactivated || s.Reactivated
	if v, ok := r.runSteps(ctx, steps); !ok {
		return v
	}
	switch {
	case r.job.Action == ActionReactivate:
		if r.activeWhenResolved && !s.Reactivated {
			r.message = strings.Replace(r.message, "Genesys Cloud user reactivated", "Genesys Cloud user was already active", 1)
		}
		return verdict{outcome: audit.OutcomeReactivated}
	case s.Deactivated:
		return verdict{outcome: audit.OutcomeDeactivated}
	}
	return verdict{outcome: audit.OutcomeAlreadyInactive}
}

func activeWord(active bool) string {
	if active {
		return "active"
	}
	return "inactive"
}
