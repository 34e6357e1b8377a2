package worker

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// registered is the registry of optional steps, those an operator enables by name (Config.Steps,
// the worker's --steps), in plan order, one line each: a PhaseCut step runs in the deactivation
// between guard_slot and deactivate (off_queue), the PhaseClean ones in the follow-up cleanup
// job, after the access is cut (presence, queues, station, forwarding, flows, wfm,
// oauth_clients, mfa). A step added here is a package-level Step value in its own file
// (step_<name>.go) with Optional set. A function, not a variable, so that every caller gets its
// own slice.
func registered() []Step {
	return []Step{
		stepOffQueue,     // cut: routing status OFF_QUEUE before the PATCH
		stepPresence,     // clean: presence Offline
		stepQueues,       // clean: leave the queues joined directly; undo: join them again
		stepStation,      // clean: clear the associated and default station; undo: the default back
		stepForwarding,   // clean: call forwarding off; undo: the recorded forwarding back on
		stepFlows,        // clean: unlock the flows the user holds locked
		stepWFM,          // clean: out of the WFM management unit; undo: back into the recorded unit
		stepOAuthClients, // clean: the OAuth clients the user created, reported or disabled (OAuthClientPolicy); undo: Active again
		stepMFA,          // clean: delete the MFA verifiers; undo: says the user enrols again
	}
}

// notByDefault names the optional steps the worker command leaves out of its default (they
// stay available by name): presence, because the PATCH's permission is unconfirmed and Genesys
// may set a leaver Offline itself; mfa, because deleting a verifier cannot be undone.
var notByDefault = []string{"presence", "mfa"}

// OptionalSteps returns the optional steps this worker knows, in plan order: their names are
// what Config.Steps may list, and their Permissions and Probe are for the self-check.
func OptionalSteps() []Step { return registered() }

// DefaultSteps names the optional steps the worker command enables when the operator names none:
// every known one except presence and mfa, in plan order.
func DefaultSteps() []string {
	var names []string
	for _, s := range registered() {
		if !slices.Contains(notByDefault, s.Name) {
			names = append(names, s.Name)
		}
	}
	return names
}

// CheckStepNames reports a name in names that is not a known optional step, listing the known
// ones.
func CheckStepNames(names []string) error {
	known := namesOf(registered())
	for _, n := range names {
		if !slices.Contains(known, n) {
			list := "none"
			if len(known) > 0 {
				list = strings.Join(known, ", ")
			}
			return fmt.Errorf("unknown step %q; the optional steps are: %s", n, list)
		}
	}
	return nil
}

// enabledSteps are the registered steps that names enables, in plan order.
func enabledSteps(names []string) []Step {
	return slices.DeleteFunc(registered(), func(s Step) bool { return !slices.Contains(names, s.Name) })
}

// DefaultPlan is the list of steps the worker runs for job when Config.Plan is nil, with the
// optional steps Config.Steps enables; nil for an action the worker does not support. Each call
// returns a new slice.
func (c Config) DefaultPlan(job jobs.Job) []Step {
	return plans(enabledSteps(c.Steps), registered())(job)
}

// plans returns the plan function of a worker whose enabled optional steps are enabled; known
// are every optional step it knows, whose undos a reactivation runs whether enabled or not (what
// a deactivation recorded is given back even if the step was disabled since).
func plans(enabled, known []Step) func(job jobs.Job) []Step {
	return func(job jobs.Job) []Step {
		switch job.Action {
		case jobs.ActionDeactivate:
			return deactivationPlan(enabled)
		case jobs.ActionReactivate:
			return reactivationPlan(known)
		case jobs.ActionCleanup:
			return cleanupPlan(enabled)
		case jobs.ActionDelete:
			return deletePlan()
		case jobs.ActionCancel:
			return cancelPlan()
		case jobs.ActionVerify:
			return verifyPlan()
		}
		return nil
	}
}

// inPhase are the steps of phase p, in order.
func inPhase(steps []Step, p Phase) []Step {
	return slices.DeleteFunc(slices.Clone(steps), func(s Step) bool { return s.Phase != p })
}

// deactivationPlan is the per-job plan of DESIGN.md, one line per step. A new step goes into
// this list (its Applies says when it runs), or, if operators choose it, into registered; its
// Undo, if any, joins the reactivation plan. The enabled optional steps of PhaseCut run before
// the PATCH; those of PhaseClean go to the follow-up cleanup job that schedule_cleanup
// publishes, so that nothing delays the cut of the access. A dry run previews them all. The
// read-back (verify) comes right after the cut and before the follow-up jobs are published: a
// repeated cut (--on-unverified retry) is over before a cleanup job can look at the user.
func deactivationPlan(optional []Step) []Step {
	plan := []Step{
		stepResolve,          // find the user; roles before
		stepLease,            // no other job for the user runs meanwhile
		stepSnapshotQueues,   // queues before (Config.SnapshotQueues)
		stepSnapshotGrants,   // grants before (Config.SnapshotGrants); undo: restore access
		stepProtect,          // protected users and roles end "protected"
		dryRunStep(optional), // a dry run ends here, Genesys untouched, after previewing the optional steps
		stepGuardSlot,        // the mass-deactivation guard counts the PATCH
	}
	plan = append(plan, inPhase(optional, PhaseCut)...) // off_queue: nothing new is routed to the user
	plan = append(plan,
		stepDeactivate,   // PATCH active=false (grants removed on a conflict, if configured); undo: PATCH active=true
		stepRevokeTokens, // every token of the user
		stepVerify,       // Config.Verify: read the user back; verified and each check in the event
	)
	if len(inPhase(optional, PhaseClean)) > 0 {
		plan = append(plan, stepScheduleCleanup) // one follow-up job runs the clean phase
	}
	return append(plan, stepScheduleDelete) // Config.DeleteAfter: the delete job, a grace period later
}

// verifyPlan is the plan of a verify job (genesysctl verify): find the user, wait for any job of
// the user that runs (the lease), read back. It changes nothing.
func verifyPlan() []Step {
	return []Step{stepResolve, stepLease, stepVerifyNow}
}

// cleanupPlan is the plan of a cleanup job: the user must still be inactive, then the enabled
// PhaseClean steps run in order.
func cleanupPlan(optional []Step) []Step {
	return append([]Step{
		stepResolve,
		stepLease,
		stepCleanupCheck, // the user is still inactive; else cleanup_skipped, nothing changed
	}, inPhase(optional, PhaseClean)...)
}

// reactivationPlan undoes a deactivation and its cleanup: its checks, then the PATCH
// active=true (nothing can be given back to an inactive user), then the undo of every other
// step that has one, in reverse order (the cleanup's, the cut's, the access restored).
func reactivationPlan(optional []Step) []Step {
	full := append(deactivationPlan(inPhase(optional, PhaseCut)), inPhase(optional, PhaseClean)...)
	undos := undoSteps(full)
	i := slices.IndexFunc(undos, func(s Step) bool { return s.Name == "undo_"+stepDeactivate.Name })
	undos = append(append([]Step{undos[i]}, undos[:i]...), undos[i+1:]...)
	return append([]Step{
		stepResolve,
		stepLease,
		stepCancelScheduled,    // a rescinded resignation: the user's pending scheduled deactivations and deletes are canceled
		stepReactivationChecks, // the user's last deactivation and its cleanup; dry run; refused when none and not forced
		stepReactivationGuard,  // the reactivation guard counts the PATCH
	}, undos...)
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
	case r.job.Action == jobs.ActionReactivate:
		if r.activeWhenResolved && !s.Reactivated {
			r.message = strings.Replace(r.message, "Genesys Cloud user reactivated", "Genesys Cloud user was already active", 1)
		}
		r.noteCanceled()
		return verdict{outcome: audit.OutcomeReactivated}
	case r.job.Action == jobs.ActionCancel:
		return r.cancelDone()
	case r.job.Action == jobs.ActionCleanup:
		return verdict{outcome: audit.OutcomeCleanedUp}
	case r.job.Action == jobs.ActionDelete:
		return verdict{outcome: audit.OutcomeDeleted}
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

// namesOf lists the steps' names, in order.
func namesOf(steps []Step) []string {
	names := make([]string, 0, len(steps))
	for _, s := range steps {
		names = append(names, s.Name)
	}
	return names
}
