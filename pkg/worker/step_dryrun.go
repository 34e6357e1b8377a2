package worker

import (
	"context"
	"fmt"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// dryRunStep ends a dry run with what a real job would do. With optional steps enabled it is a
// preview: each of them (cut and clean, in plan order) runs first with Run.DryRun true, reads
// and records its before-state and says what it would change (Run.Would); the step's findings
// "dry_run" then carry the Genesys calls the real run would cost, the base plan's and each
// step's. No cleanup job is published for a dry run.
func dryRunStep(optional []Step) Step {
	return Step{
		Name: "dry_run", Phase: PhaseCheck, Every: true,
		Applies: func(r *Run) bool { return r.job.DryRun },
		Do: func(ctx context.Context, r *Run) error {
			u := r.user
			r.message = fmt.Sprintf("Dry run: user %s is %s; a real job would %s it and revoke its tokens.",
				u.UserName, activeWord(u.Active), map[bool]string{true: "deactivate", false: "leave it inactive and"}[u.Active])
			if len(optional) > 0 {
				if err := preview(ctx, r, optional); err != nil {
					return err
				}
			}
			return Stop(audit.OutcomeDryRun, nil)
		},
	}
}

// previewCost is what the dry run records about the real run's cost.
type previewCost struct {
	// Calls is every Genesys call the real run would make: the deactivation's, the cleanup
	// job's and each optional step's.
	Calls int `json:"calls"`
	// BaseCalls are those of the plan without the optional steps (the reads made so far, the
	// PATCH, the token revocation, the cleanup job's resolve).
	BaseCalls int `json:"base_calls"`
	// Steps is what each optional step that would run would cost, and the read-back (verify)
	// when Config.Verify.
	Steps map[string]int `json:"steps,omitempty"`
	// Order lists those steps in the order they would run.
	Order []string `json:"order,omitempty"`
}

// preview runs the optional steps that apply in dry-run mode and records the cost.
func preview(ctx context.Context, r *Run, optional []Step) error {
	cost := previewCost{BaseCalls: r.calls + 1} // the reads so far, and the token revocation
	if r.user.Active {
		cost.BaseCalls++ // the PATCH
	}
	if len(inPhase(optional, PhaseClean)) > 0 {
		cost.BaseCalls += r.resolveCalls // the cleanup job resolves the user again
	}

	cost.Calls, cost.Steps = cost.BaseCalls, map[string]int{}
	for _, s := range optional {
		if s.Applies != nil && !s.Applies(r) {
			continue
		}
		if err := stepError(s, s.Do(ctx, r)); err != nil {
			return err
		}
		n := 0
		if s.Calls != nil {
			n = s.Calls(r)
		}
		cost.Steps[s.Name] = n
		cost.Order = append(cost.Order, s.Name)
		cost.Calls += n
	}
	optionalRun := len(cost.Steps)
	if r.w.cfg.Verify {
		// The read-back: SCIM and lastTokenIssued, and the routing status after off_queue.
		n := 2
		if _, ok := cost.Steps[stepOffQueue.Name]; ok {
			n++
		}
		cost.Steps[stepVerify.Name], cost.Order = n, append(cost.Order, stepVerify.Name)
		cost.Calls += n
	}
	r.message += fmt.Sprintf(" It would run %d optional steps, for %d Genesys calls in all (see unmapped.steps).", optionalRun, cost.Calls)
	return r.Found("dry_run", cost)
}
