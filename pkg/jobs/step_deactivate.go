package jobs

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepDeactivate PATCHes active=false, re-reading and retrying on version conflicts, and with
// WorkerConfig.RemoveGrantsOnConflict removes the user's grants when Genesys refuses with a
// conflict that is not about the version, then tries once more. It runs on every delivery: the
// user may have been reactivated since. Its undo PATCHes active=true.
var stepDeactivate = Step{Name: "deactivate", Phase: PhaseCut, Every: true, Do: deactivate, Undo: reactivate}

// conflictHint tells an operator what to do about a blocking conflict.
const conflictHint = "hint: Genesys refused the deactivation for a reason other than a version conflict; remove what blocks it in Genesys (or run the workers with --remove-grants-on-conflict), then replay the dead letter"

func deactivate(ctx context.Context, r *Run) error {
	u, s := r.user, &r.st.Steps
	if !u.Active {
		// Inactive: ours if an earlier delivery had sent its PATCH, else somebody else's.
		s.Deactivated = s.Deactivated || r.patchedBefore
		return nil
	}
	if err := r.savePatchSent(ctx); err != nil {
		return err
	}
	res, err := r.ensureActive(ctx, u, false, r.recheck)
	if errors.Is(err, genesys.ErrConflict) && r.w.cfg.RemoveGrantsOnConflict && len(s.GrantsRemoved) == 0 {
		// The opt-in policy: remove what may block the change, then try once more.
		if err := removeGrants(ctx, r, u.ID); err != nil {
			return err
		}
		res, err = reread(ctx, r, u.ID)
	}
	if err != nil {
		return err
	}
	// Changed false: the re-read after a conflict showed the user inactive.
	// Ours if an earlier delivery had sent its PATCH, else somebody else's.
	s.Deactivated = res.Changed || r.patchedBefore
	if res.Changed {
		r.w.cfg.Observer.Deactivated(r.job.Priority, r.sincePublish())
	}
	return nil
}

// reread reads the user again after its grants were removed, checks it and PATCHes once more.
func reread(ctx context.Context, r *Run, userID string) (*genesys.EnsureResult, error) {
	fresh, err := Call(ctx, r, func(c *genesys.Client) (*genesys.User, *genesys.Response, error) { return c.Users.Get(ctx, userID) })
	if err != nil {
		return nil, err
	}
	if err := r.w.cfg.Protect.protected(fresh); err != nil {
		return nil, err
	}
	return r.ensureActive(ctx, fresh, false, r.recheck)
}

// savePatchSent stores PatchSent before the PATCH leaves: if the worker dies before it hears the
// answer, the next delivery knows the PATCH was most likely its own.
func (r *Run) savePatchSent(ctx context.Context) error {
	r.st.Steps.PatchSent = true
	r.st.UpdatedAt, r.st.Worker = r.w.now().UTC(), r.w.cfg.ID
	if err := r.w.status.Save(ctx, &r.st); err != nil {
		return wait(fmt.Errorf("%w: %w", errStore, err))
	}
	return nil
}

// ensureActive brings the user's active flag to active, re-reading on
// version conflicts, waiting out 429s, and keeping every correlation id.
// check (nil: none) runs on every re-read before the next PATCH.
func (r *Run) ensureActive(ctx context.Context, u *genesys.User, active bool, check func(*genesys.User) error) (*genesys.EnsureResult, error) {
	return CallMany(ctx, r, func(c *genesys.Client) (*genesys.EnsureResult, []*genesys.Response, error) {
		res, err := c.Users.EnsureActiveChecked(ctx, u, active, r.w.cfg.MaxConflicts, check)
		if res == nil {
			return nil, nil, err
		}
		return res, res.Responses, err
	})
}

// removeGrants removes every grant of the user and records each, before the
// retry of a blocked deactivation.
func removeGrants(ctx context.Context, r *Run, userID string) error {
	sub, err := Call(ctx, r, func(c *genesys.Client) (*genesys.Subject, *genesys.Response, error) {
		return c.Authorization.Subject(ctx, userID)
	})
	if err != nil {
		return err
	}
	refs := make([]genesys.GrantRef, 0, len(sub.Grants))
	names := make([]string, 0, len(sub.Grants))
	for _, g := range sub.Grants {
		refs = append(refs, genesys.GrantRef{RoleID: g.Role.ID, DivisionID: g.Division.ID})
		names = append(names, cmpName(g.Role.Name, g.Role.ID)+"@"+cmpName(g.Division.Name, g.Division.ID))
	}
	if len(refs) == 0 {
		return nil // nothing to remove; the retry tells
	}
	if _, err := Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
		resp, err := c.Authorization.RemoveGrants(ctx, userID, refs)
		return struct{}{}, resp, err
	}); err != nil {
		return err
	}
	r.st.Steps.GrantsRemoved = names
	r.log.Warn("removed the user's grants to unblock the deactivation", zap.Strings("grants", names))
	if err := r.w.status.Save(ctx, &r.st); err != nil {
		r.log.Warn("recording the removed grants failed", zap.Error(err))
	}
	return nil
}

// reactivate, the undo of deactivate, PATCHes active=true. PatchSent is stored before the PATCH
// leaves, as for a deactivation. A user already active is left as it is.
func reactivate(ctx context.Context, r *Run, _ *audit.Findings) error {
	u, s := r.user, &r.st.Steps
	if u.Active {
		return nil
	}
	if err := r.savePatchSent(ctx); err != nil {
		return err
	}
	res, err := r.ensureActive(ctx, u, true, nil)
	if err != nil {
		return err
	}
	s.Reactivated = res.Changed || r.patchedBefore
	r.user = res.User
	return nil
}
