package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// The values of Config.DeleteMethod.
const (
	// DeleteSCIM deletes with SCIM DELETE /api/v2/scim/v2/users/{id}, If-Match the version read.
	DeleteSCIM = "scim"
	// DeleteUsers deletes with DELETE /api/v2/users/{id}, which takes no version.
	DeleteUsers = "users"
)

// deletePlan is the plan of a delete job (issue 16). Genesys's delete is a soft delete that cannot
// be undone by this system: a restore (PATCH /api/v2/users/{id} state active) brings the user back
// without roles, stations or extensions, so the worker has no undo for it and refuses to
// reactivate a deleted user. Every check that can stop it comes first, and the legal hold is read
// again right before the DELETE.
func deletePlan() []Step {
	return []Step{
		stepResolve,     // find the user (an already deleted one ends delete_skipped)
		stepLease,       // no other job for the user runs meanwhile
		stepProtect,     // protected users and roles end "protected", never deleted
		stepDeleteCheck, // the user must be inactive: active again ends delete_skipped
		stepLegalHold,   // a legal hold on any of the user's identifiers ends "held"
		stepDeleteDryRun,
		stepDeleteGuard, // the delete guard counts the DELETE
		stepDelete,      // the legal hold read again, then the DELETE
	}
}

// stepDeleteCheck lets a delete go on only while the user is inactive: a user reactivated since
// the deactivation (or never deactivated) is not deleted, and the job ends delete_skipped.
var stepDeleteCheck = Step{Name: "delete_check", Phase: PhaseCheck, Every: true, Do: func(_ context.Context, r *Run) error {
	if !r.user.Active {
		return nil
	}
	r.message = fmt.Sprintf("Delete skipped: user %s is active (reactivated since the deactivation, or never deactivated); Genesys Cloud was not changed. Only inactive users are deleted.",
		r.user.UserName)
	return Stop(audit.OutcomeDeleteSkipped, nil)
}}

// stepLegalHold ends the job "held" (dead-lettered, Genesys untouched) when any identifier of the
// user as resolved is under a legal hold: its id, user name or external id, whichever the job
// named it by.
var stepLegalHold = Step{Name: "legal_hold", Phase: PhaseCheck, Every: true, Do: checkLegalHold}

func checkLegalHold(ctx context.Context, r *Run) error {
	u := r.user
	hold, held, err := r.w.holds.Find(ctx, jobs.UserRef{ID: u.ID}, jobs.UserRef{UserName: u.UserName},
		jobs.UserRef{ExternalID: u.ExternalID}, r.job.User)
	if err != nil {
		return wait(fmt.Errorf("%w: read the legal holds: %w", errStore, err))
	}
	if !held {
		return nil
	}
	r.message = fmt.Sprintf("User %s is under a legal hold (%s %s, since %s, by %s: %s); Genesys Cloud user not deleted. Remove the hold (genesysctl hold remove) and replay the dead letter to delete it.",
		u.UserName, hold.Kind, hold.Value, hold.Since.Format(time.RFC3339), hold.By, hold.Reason)
	if err := r.Found("legal_hold", hold); err != nil {
		return err
	}
	return Stop(audit.OutcomeHeld, fmt.Errorf("jobs: user %s is under a legal hold on %s %q (%s)", u.ID, hold.Kind, hold.Value, hold.Reason))
}

// stepDeleteDryRun ends a delete job's dry run: every check passed, and a real job would delete.
var stepDeleteDryRun = Step{
	Name: "dry_run", Phase: PhaseCheck, Every: true,
	Applies: func(r *Run) bool { return r.job.DryRun },
	Do: func(_ context.Context, r *Run) error {
		r.message = fmt.Sprintf("Dry run: user %s is inactive, not protected and not under a legal hold; a real job would delete it (%s).",
			r.user.UserName, r.w.cfg.DeleteMethod)
		return Stop(audit.OutcomeDryRun, nil)
	},
}

// stepDeleteGuard counts the delete in the delete guard, apart from the deactivations. A held
// job goes back to the queue without an attempt (the delete lane is paused until an operator
// decides); a job the operator dropped ends "dropped". Nothing is counted when an earlier
// delivery sent the DELETE.
var stepDeleteGuard = Step{
	Name: "delete_guard", Phase: PhaseCut,
	Applies: func(r *Run) bool { return r.w.deleteGuard != nil && !r.deleteSent() },
	Do:      reserveDelete,
}

func reserveDelete(ctx context.Context, r *Run) error {
	g := r.w.deleteGuard
	tripped, err := g.Reserve(ctx, r.job.ID, false, r.seq)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jobs.ErrGuardDrop):
		return Stop(audit.OutcomeDropped, errors.New("jobs: dropped by an operator while the delete guard held it"))
	case errors.Is(err, jobs.ErrGuardHeld):
		if tripped {
			r.log.Error("the delete guard tripped: holding the delete lane until an operator decides")
			if err := g.Tripped(ctx, r.job.ID, false); err != nil {
				r.log.Warn("delete guard trip: pausing the lane or publishing the ops event failed", zap.Error(err))
			}
		} else {
			_ = g.SyncLanes(ctx)
		}
		return wait(errors.New("jobs: the delete guard holds this job"))
	}
	return wait(fmt.Errorf("%w: %w", errStore, err))
}

// deleteSent is what the delete step records before its DELETE goes out.
type deleteSent struct {
	Method string    `json:"method"`
	UserID string    `json:"user_id"`
	SentAt time.Time `json:"sent_at"`
}

const deleteStepName = "delete"

// deleteSent reports whether an earlier delivery sent the DELETE (it records so first).
func (r *Run) deleteSent() bool {
	_, ok := r.st.Steps.Findings.Steps[deleteStepName]
	return ok
}

// stepDelete reads the legal holds once more, records that the DELETE goes out (so that a
// delivery after a crash knows a deleted user is this job's doing), and deletes the user with
// the configured method. A SCIM version conflict re-reads the user: active again ends
// delete_skipped, else the DELETE is tried with the new version, at most MaxConflicts times.
var stepDelete = Step{Name: deleteStepName, Phase: PhaseCut, Every: true, Do: deleteUser}

func deleteUser(ctx context.Context, r *Run) error {
	if err := checkLegalHold(ctx, r); err != nil {
		return err
	}
	u := r.user
	if err := r.Found(deleteStepName, deleteSent{Method: r.w.cfg.DeleteMethod, UserID: u.ID, SentAt: r.w.now().UTC()}); err != nil {
		return err
	}
	if err := r.saveStatus(ctx); err != nil {
		return err
	}
	for conflicts := 0; ; conflicts++ {
		var err error
		if r.w.cfg.DeleteMethod == DeleteUsers {
			_, err = Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
				resp, err := c.Users.DeleteByAPI(ctx, u.ID)
				return struct{}{}, resp, err
			})
		} else {
			_, err = Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
				resp, err := c.Users.Delete(ctx, u.ID, u.Meta.Version)
				return struct{}{}, resp, err
			})
		}
		switch {
		case err == nil:
			r.message = fmt.Sprintf("Genesys Cloud user %s deleted (%s); Genesys keeps it in the state deleted, and this system does not restore it.", u.UserName, r.w.cfg.DeleteMethod)
			return nil
		case errors.Is(err, genesys.ErrNotFound):
			// Gone between the read and the DELETE: this job's earlier attempt (a lost answer),
			// or somebody else's delete. Either way the user is deleted.
			return nil
		case !errors.Is(err, genesys.ErrVersionConflict) || conflicts >= r.w.cfg.MaxConflicts:
			return err
		}
		fresh, err := Call(ctx, r, func(c *genesys.Client) (*genesys.User, *genesys.Response, error) { return c.Users.Get(ctx, u.ID) })
		if err != nil {
			return err
		}
		r.user, u = fresh, fresh
		if err := r.w.cfg.Protect.protected(fresh); err != nil {
			return err
		}
		if err := stepDeleteCheck.Do(ctx, r); err != nil {
			return err
		}
	}
}

// resolveDeleted decides what a delete job or a reactivation does with a user the resolve step
// did not find (err matches genesys.ErrNotFound), when the user's id is known (the job names it,
// or an earlier delivery resolved it): a user Genesys shows in the state deleted was deleted. A
// delete job then ends deleted when its own earlier delivery sent the DELETE, else
// delete_skipped (nothing left to do); a reactivation is refused (conflict), since this system
// does not restore deleted users. Otherwise it returns err as it is (not_found).
func (r *Run) resolveDeleted(ctx context.Context, err error) error {
	id := cmp.Or(r.job.User.ID, r.st.Steps.UserID)
	if id == "" || (r.job.Action != jobs.ActionDelete && r.job.Action != jobs.ActionReactivate) {
		return err
	}
	deleted, derr := Call(ctx, r, func(c *genesys.Client) (bool, *genesys.Response, error) { return c.Users.IsDeleted(ctx, id) })
	switch {
	case derr != nil:
		return derr
	case !deleted:
		return err
	case r.job.Action == jobs.ActionReactivate:
		return Stop(audit.OutcomeConflict, fmt.Errorf("jobs: user %s is deleted in Genesys Cloud; this system does not restore deleted users (a restore brings the user back without roles, stations or extensions): restore it in Genesys Cloud by hand, then reactivate with --force if needed", id))
	case r.deleteSent():
		r.message = fmt.Sprintf("Genesys Cloud user %s deleted (an earlier delivery sent the DELETE).", id)
		return Stop(audit.OutcomeDeleted, nil)
	}
	r.message = fmt.Sprintf("Delete skipped: user %s is already deleted in Genesys Cloud; nothing was changed.", id)
	return Stop(audit.OutcomeDeleteSkipped, nil)
}

// DeleteCheck is what the worker command's self-check probes when the worker deletes
// (--delete-after): a DELETE of genesys.ProbeUserID, a user no org has, with method, which Genesys
// answers 404 when the OAuth client may delete users and 403 when it may not. Its Name says where
// the need comes from; it runs no job.
func DeleteCheck(method string) Step {
	return Step{
		Name: "delete (--delete-after)", Phase: PhaseCut, Permissions: []string{"directory:user:delete"},
		Do: func(context.Context, *Run) error { return errors.New("jobs: DeleteCheck is a self-check, not a step") },
		Probe: func(ctx context.Context, c *genesys.Client) error {
			var err error
			if method == DeleteUsers {
				_, err = c.Users.DeleteByAPI(ctx, genesys.ProbeUserID)
			} else {
				_, err = c.Users.Delete(ctx, genesys.ProbeUserID, "")
			}
			if errors.Is(err, genesys.ErrNotFound) {
				return nil
			}
			return err
		},
	}
}
