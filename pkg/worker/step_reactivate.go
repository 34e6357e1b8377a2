package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// stepReactivationChecks reads the user's last deactivation event, which the undo steps restore
// from, and ends a reactivation before any change: a dry run reports, and an unforced
// reactivation of a user with no recorded deactivation is refused (outcome protected).
var stepReactivationChecks = Step{Name: "reactivation_checks", Phase: PhaseCheck, Every: true, Do: reactivationChecks}

func reactivationChecks(ctx context.Context, r *Run) error {
	last, err := r.w.lastDeactivation(ctx, r.user.ID)
	if err != nil {
		return wait(fmt.Errorf("%w: %w", errStore, err))
	}
	r.recorded = last
	u := r.user
	refuse := last == nil && !r.job.Force
	switch {
	case r.job.DryRun && len(r.wouldCancel) > 0:
		what := "reactivate it and restore " + describeRecorded(last)
		if refuse && u.Active {
			what = "change nothing in Genesys Cloud (it is active)"
		} else if refuse {
			what = "refuse to reactivate it: " + refusedWhy
		}
		r.message = fmt.Sprintf("Dry run: user %s is %s; a real job would cancel its pending scheduled %s (%s) and %s.", u.UserName, activeWord(u.Active),
			plural(len(r.wouldCancel), "job", "jobs"), strings.Join(r.wouldCancel, ", "), what)
		return Stop(audit.OutcomeDryRun, nil)
	case refuse && len(r.canceled) > 0 && u.Active:
		// A rescinded resignation: the user is still active, and what this reactivation was for
		// is done (the pending deactivation is canceled).
		r.message = fmt.Sprintf("User %s is active (no deactivation by this system is recorded); Genesys Cloud was not changed.", u.UserName)
		r.noteCanceled()
		return Stop(audit.OutcomeReactivated, nil)
	case refuse && len(r.canceled) > 0:
		r.message = "Reactivation refused: " + refusedWhy + "; Genesys Cloud was not changed."
		r.noteCanceled()
		return Stop(audit.OutcomeProtected, errNotOurDeactivation)
	case r.job.DryRun && refuse:
		r.message = fmt.Sprintf("Dry run: user %s is %s; a real job would refuse to reactivate it: %s.", u.UserName, activeWord(u.Active), refusedWhy)
		return Stop(audit.OutcomeDryRun, nil)
	case r.job.DryRun:
		r.message = fmt.Sprintf("Dry run: user %s is %s; a real job would reactivate it and restore %s.", u.UserName, activeWord(u.Active), describeRecorded(last))
		return Stop(audit.OutcomeDryRun, nil)
	case refuse:
		r.message = "Reactivation refused: " + refusedWhy + "; Genesys Cloud was not changed."
		return Stop(audit.OutcomeProtected, errNotOurDeactivation)
	}
	return nil
}

// refusedWhy says why a reactivation without force is refused when no
// deactivation of the user is recorded: the user may be inactive for a
// reason that is none of ours (a leaver disabled by HR's own process, an
// account locked by security), and re-enabling them is a privilege
// escalation that only an operator who has checked may force.
const refusedWhy = "no deactivation of this user by this system is recorded, so the user may be inactive for another reason; an operator who has checked may publish the reactivation again with force (enqueue --action reactivate --force)"

// errNotOurDeactivation ends an unforced reactivation of a user this system
// did not deactivate: outcome protected, dead letter for review.
var errNotOurDeactivation = errors.New("jobs: reactivation refused: " + refusedWhy)

func describeRecorded(last *audit.Findings) string {
	switch {
	case last == nil:
		return "nothing (no deactivation of this user is recorded)"
	case len(last.GrantsBefore) > 0:
		return fmt.Sprintf("the %d grants its last deactivation recorded, in their divisions", len(last.GrantsBefore))
	default:
		return fmt.Sprintf("the %d roles its last deactivation recorded, by name", len(last.RolesBefore))
	}
}
