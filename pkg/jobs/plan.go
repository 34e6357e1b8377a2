package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// Protection names users and roles that the worker never deactivates: a job
// for them ends "protected" (dead letter for review), Genesys untouched.
// Matching ignores case. The zero value protects nobody.
type Protection struct {
	UserIDs     []string // Genesys user ids
	UserNames   []string // userNames (emails)
	ExternalIDs []string // SCIM externalIds
	Roles       []string // role names, e.g. "Master Admin"
}

// check returns why u is protected, or "".
func (p Protection) check(u *genesys.User) string {
	has := func(list []string, v string) bool {
		return v != "" && slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
	}
	switch {
	case has(p.UserIDs, u.ID):
		return "the user id is protected"
	case has(p.UserNames, u.UserName):
		return "the user name is protected"
	case has(p.ExternalIDs, u.ExternalID):
		return "the external id is protected"
	}
	for _, role := range u.RoleNames() {
		if has(p.Roles, role) {
			return fmt.Sprintf("the user holds the protected role %q", role)
		}
	}
	return ""
}

// plan is the per-job plan of DESIGN.md: resolve, safety, deactivate,
// revoke. It records each step in r.st and returns a terminal outcome or a
// failure; storing and acking are conclude's.
func (r *jobRun) plan(ctx context.Context) verdict {
	c := r.w.cfg.Genesys
	if r.job.Priority == PriorityUrgent {
		c = c.WithPriority(genesys.PriorityUrgent)
	}
	switch r.job.Action {
	case ActionDeactivate:
	case ActionReactivate:
		return r.planReactivate(ctx, c)
	default:
		return verdict{outcome: audit.OutcomeRejected, err: fmt.Errorf("jobs: action %q is not supported by this worker", r.job.Action)}
	}
	// A PATCH sent by an earlier delivery may have applied even if nobody
	// heard the answer: then the user's deactivation is this job's doing.
	patchedBefore := r.st.Steps.PatchSent || r.st.Steps.Deactivated

	u, v, ok := r.resolveAndLease(ctx, c)
	if !ok {
		return v
	}
	if v, ok := r.snapshotGrants(ctx, c, u.ID); !ok {
		return v
	}
	if err := r.w.cfg.Protect.protected(u); err != nil {
		return verdict{outcome: audit.OutcomeProtected, err: err}
	}
	if r.job.DryRun {
		r.message = fmt.Sprintf("Dry run: user %s is %s; a real job would %s it and revoke its tokens.",
			u.UserName, activeWord(u.Active), map[bool]string{true: "deactivate", false: "leave it inactive and"}[u.Active])
		return verdict{outcome: audit.OutcomeDryRun}
	}
	if u.Active {
		if v, ok := r.deactivate(ctx, c, u, patchedBefore); !ok {
			return v
		}
	} else if patchedBefore {
		r.st.Steps.Deactivated = true
	}
	if !r.st.Steps.TokensRevoked {
		var resp *genesys.Response
		err := retry429(ctx, func() (err error) { resp, err = c.Tokens.RevokeAll(ctx, u.ID); return err })
		r.addCorrelation(resp)
		if err != nil {
			return r.genesysFailure(ctx, err)
		}
		r.st.Steps.TokensRevoked = true
	}
	if r.st.Steps.Deactivated {
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

// resolveAndLease resolves the user and takes the user's lease, so that no
// other job for the same Genesys user runs until this delivery ends.
func (r *jobRun) resolveAndLease(ctx context.Context, c *genesys.Client) (*genesys.User, verdict, bool) {
	u, v, ok := r.resolve(ctx, c)
	if !ok {
		return nil, v, false
	}
	l, err := r.w.acquireLease(ctx, u.ID, r.job.ID)
	if err != nil {
		return nil, verdict{fail: failWait, err: err}, false
	}
	r.leaseMu.Lock()
	r.lease = l
	r.leaseMu.Unlock()
	return u, verdict{}, true
}

// resolve finds the user by the job's identifier: one call for an id, one
// or two for an externalId or userName (see genesys.UsersService).
func (r *jobRun) resolve(ctx context.Context, c *genesys.Client) (*genesys.User, verdict, bool) {
	var u *genesys.User
	var resp *genesys.Response
	ref := r.job.User
	err := retry429(ctx, func() (err error) {
		switch {
		case ref.ID != "":
			u, resp, err = c.Users.Get(ctx, ref.ID)
		case ref.ExternalID != "":
			u, resp, err = c.Users.FindByExternalID(ctx, ref.ExternalID)
		default:
			u, resp, err = c.Users.FindByUserName(ctx, ref.UserName)
		}
		return err
	})
	r.addCorrelation(resp)
	if err != nil {
		return nil, r.genesysFailure(ctx, err), false
	}
	s := &r.st.Steps
	if !s.Resolved {
		s.Resolved, s.WasActive, s.RolesBefore = true, u.Active, u.RoleNames()
	} else if r.job.Action == ActionDeactivate && u.Active && len(s.GrantsRemoved) == 0 {
		// A later delivery that finds the user still active: what it holds now
		// is what a deactivation would take away (a role may have been granted
		// since the first delivery read the user).
		s.RolesBefore = u.RoleNames()
	}
	s.UserID, s.UserName, s.ExternalID = u.ID, u.UserName, u.ExternalID
	return u, verdict{}, true
}

// deactivate PATCHes active=false, re-reading and retrying on version
// conflicts. PatchSent is stored before the PATCH leaves.
func (r *jobRun) deactivate(ctx context.Context, c *genesys.Client, u *genesys.User, patchedBefore bool) (verdict, bool) {
	if v, ok := r.reserveGuardSlot(ctx); !ok {
		return v, false
	}
	r.st.Steps.PatchSent = true
	r.st.UpdatedAt, r.st.Worker = r.w.now().UTC(), r.w.cfg.ID
	if err := r.w.status.Save(ctx, &r.st); err != nil {
		return verdict{fail: failWait, err: fmt.Errorf("%w: %w", errStore, err)}, false
	}
	res, err := r.ensureActive(ctx, c, u, false, r.recheck)
	if errors.Is(err, genesys.ErrConflict) && r.w.cfg.RemoveGrantsOnConflict && len(r.st.Steps.GrantsRemoved) == 0 {
		// The opt-in policy: remove what may block the change, then try once more.
		if v, ok := r.removeGrants(ctx, c, u.ID); !ok {
			return v, false
		}
		var fresh *genesys.User
		var resp *genesys.Response
		if err = retry429(ctx, func() (err error) { fresh, resp, err = c.Users.Get(ctx, u.ID); return err }); err == nil {
			r.addCorrelation(resp)
			if err = r.w.cfg.Protect.protected(fresh); err == nil {
				res, err = r.ensureActive(ctx, c, fresh, false, r.recheck)
			}
		}
	}
	var pe protectedError
	if errors.As(err, &pe) {
		return verdict{outcome: audit.OutcomeProtected, err: pe}, false
	}
	if err != nil {
		return r.genesysFailure(ctx, err), false
	}
	// Changed false: the re-read after a conflict showed the user inactive.
	// Ours if an earlier delivery had sent its PATCH, else somebody else's.
	r.st.Steps.Deactivated = res.Changed || patchedBefore
	if res.Changed {
		r.w.cfg.Observer.Deactivated(r.job.Priority, r.sincePublish())
	}
	return verdict{}, true
}

// ensureActive brings the user's active flag to active, re-reading on
// version conflicts, waiting out 429s, and keeping every correlation id.
// check (nil: none) runs on every re-read before the next PATCH.
func (r *jobRun) ensureActive(ctx context.Context, c *genesys.Client, u *genesys.User, active bool, check func(*genesys.User) error) (*genesys.EnsureResult, error) {
	var res *genesys.EnsureResult
	err := retry429(ctx, func() (err error) {
		res, err = c.Users.EnsureActiveChecked(ctx, u, active, r.w.cfg.MaxConflicts, check)
		return err
	})
	if res != nil {
		for _, resp := range res.Responses {
			r.addCorrelation(resp)
		}
	}
	return res, err
}

// removeGrants removes every grant of the user and records each, before the
// retry of a blocked deactivation.
func (r *jobRun) removeGrants(ctx context.Context, c *genesys.Client, userID string) (verdict, bool) {
	var sub *genesys.Subject
	var resp *genesys.Response
	if err := retry429(ctx, func() (err error) { sub, resp, err = c.Authorization.Subject(ctx, userID); return err }); err != nil {
		return r.genesysFailure(ctx, err), false
	}
	r.addCorrelation(resp)
	refs := make([]genesys.GrantRef, 0, len(sub.Grants))
	names := make([]string, 0, len(sub.Grants))
	for _, g := range sub.Grants {
		refs = append(refs, genesys.GrantRef{RoleID: g.Role.ID, DivisionID: g.Division.ID})
		names = append(names, cmpName(g.Role.Name, g.Role.ID)+"@"+cmpName(g.Division.Name, g.Division.ID))
	}
	if len(refs) == 0 {
		return verdict{}, true // nothing to remove; the retry tells
	}
	if err := retry429(ctx, func() (err error) { resp, err = c.Authorization.RemoveGrants(ctx, userID, refs); return err }); err != nil {
		return r.genesysFailure(ctx, err), false
	}
	r.addCorrelation(resp)
	r.st.Steps.GrantsRemoved = names
	r.log.Warn("removed the user's grants to unblock the deactivation", zap.Strings("grants", names))
	if err := r.w.status.Save(ctx, &r.st); err != nil {
		r.log.Warn("recording the removed grants failed", zap.Error(err))
	}
	return verdict{}, true
}

func cmpName(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// conflictHint tells an operator what to do about a blocking conflict.
const conflictHint = "hint: Genesys refused the deactivation for a reason other than a version conflict; remove what blocks it in Genesys (or run the workers with --remove-grants-on-conflict), then replay the dead letter"

// reserveGuardSlot counts this deactivation in the mass-deactivation guard
// before the PATCH. A held job goes back to the queue without an attempt
// (its lane is paused until an operator decides); a job the operator
// dropped ends "dropped".
func (r *jobRun) reserveGuardSlot(ctx context.Context) (verdict, bool) {
	g := r.w.guard
	if g == nil || r.st.Steps.PatchSent {
		return verdict{}, true // no guard, or the slot was taken by an earlier delivery
	}
	urgent := r.job.Priority == PriorityUrgent
	tripped, err := g.Reserve(ctx, r.job.ID, urgent, r.seq)
	switch {
	case err == nil:
		return verdict{}, true
	case errors.Is(err, errGuardDrop):
		return verdict{outcome: audit.OutcomeDropped, err: err}, false
	case errors.Is(err, ErrGuardHeld):
		if tripped {
			r.log.Error("the mass-deactivation guard tripped: holding jobs until an operator decides")
			if err := g.tripped(ctx, r.job.ID, urgent); err != nil {
				r.log.Warn("guard trip: pausing the lanes or publishing the ops event failed", zap.Error(err))
			}
		} else if st, _, err := g.State(ctx); err == nil {
			_ = g.holdLanes(ctx, st) // make sure the lanes stay paused
		}
		return verdict{fail: failWait, err: err}, false
	}
	return verdict{fail: failWait, err: fmt.Errorf("%w: %w", errStore, err)}, false
}

// genesysFailure turns a Genesys error into an outcome where Genesys gave a
// verdict on the job, and into a failure class otherwise.
func (r *jobRun) genesysFailure(ctx context.Context, err error) verdict {
	switch {
	case ctx.Err() != nil:
		return verdict{fail: failWait, err: err}
	case errors.Is(err, genesys.ErrNotFound):
		return verdict{outcome: audit.OutcomeNotFound, err: err}
	case errors.Is(err, genesys.ErrConflict):
		return verdict{outcome: audit.OutcomeConflict, err: fmt.Errorf("%w (%s)", err, conflictHint)}
	case errors.Is(err, genesys.ErrBadRequest), errors.Is(err, genesys.ErrAmbiguous), errors.Is(err, genesys.ErrInvalidArgument),
		errors.Is(err, genesys.ErrWrongUser):
		return verdict{outcome: audit.OutcomeConflict, err: err}
	}
	return verdict{fail: classify(ctx, err), err: err}
}

func (r *jobRun) addCorrelation(resp *genesys.Response) {
	if resp != nil && resp.CorrelationID != "" && len(r.st.Steps.CorrelationIDs) < 32 {
		r.st.Steps.CorrelationIDs = append(r.st.Steps.CorrelationIDs, resp.CorrelationID)
	}
}

// retry429 repeats a call that Genesys answered with 429 until it gets
// another answer or ctx ends. A 429 is not an attempt: the job just waits.
// The client's limiter has heard the 429 and holds requests until its
// Retry-After has passed; retry429 waits for that too, so that it cannot
// spin with a limiter that does not pause.
func retry429(ctx context.Context, call func() error) error {
	for {
		err := call()
		var rl *genesys.RateLimitError
		if !errors.As(err, &rl) {
			return err
		}
		sleepCtx(ctx, genesys.ClampRetryAfter(rl.RetryAfter))
		if ctx.Err() != nil {
			return err
		}
	}
}
