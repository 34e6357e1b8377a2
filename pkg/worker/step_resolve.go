package worker

import (
	"context"
	"errors"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// stepResolve finds the user by the job's identifier: one call for an id, one or two for an
// externalId or userName (see genesys.UsersService). The first delivery that finds the user
// records who it is, whether it was active and its SCIM roles.
var stepResolve = Step{Name: "resolve", Phase: PhaseCheck, Every: true, Do: resolve}

// stepLease takes the user's lease, so that no other job for the same Genesys user runs until
// this delivery ends.
var stepLease = Step{Name: "lease", Phase: PhaseCheck, Every: true, Do: takeLease}

func resolve(ctx context.Context, r *Run) error {
	before := r.calls
	defer func() { r.resolveCalls = r.calls - before }()
	ref := r.job.User
	u, err := Call(ctx, r, func(c *genesys.Client) (*genesys.User, *genesys.Response, error) {
		switch {
		case ref.ID != "":
			return c.Users.Get(ctx, ref.ID)
		case ref.ExternalID != "":
			return c.Users.FindByExternalID(ctx, ref.ExternalID)
		}
		return c.Users.FindByUserName(ctx, ref.UserName)
	})
	if errors.Is(err, genesys.ErrNotFound) {
		return r.resolveDeleted(ctx, err)
	}
	if err != nil {
		return err
	}
	s := &r.st.Steps
	if !s.Resolved {
		s.Resolved, s.WasActive, s.RolesBefore = true, u.Active, u.RoleNames()
	} else if r.job.Action == jobs.ActionDeactivate && u.Active && len(s.GrantsRemoved) == 0 {
		// A later delivery that finds the user still active: what it holds now
		// is what a deactivation would take away (a role may have been granted
		// since the first delivery read the user).
		s.RolesBefore = u.RoleNames()
	}
	s.UserID, s.UserName, s.ExternalID = u.ID, u.UserName, u.ExternalID
	r.user, r.activeWhenResolved = u, u.Active
	return nil
}

func takeLease(ctx context.Context, r *Run) error {
	l, err := r.w.acquireLease(ctx, r.user.ID, r.job.ID)
	if err != nil {
		return wait(err)
	}
	r.leaseMu.Lock()
	r.lease = l
	r.leaseMu.Unlock()
	return nil
}
