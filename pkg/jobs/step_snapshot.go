package jobs

import (
	"context"
	"fmt"
	"slices"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepSnapshotQueues records the queues the user has joined before a deactivation, when the
// worker is configured to (one more call per page of 100).
var stepSnapshotQueues = Step{
	Name: "snapshot_queues", Phase: PhaseCheck,
	Applies: func(r *Run) bool {
		return r.w.cfg.SnapshotQueues && !r.st.Steps.PatchSent && r.st.Steps.QueuesBefore == nil
	},
	Do: snapshotQueues,
}

// stepSnapshotGrants records the user's full grants, with their divisions, before a
// deactivation, when the worker is configured to (one more call). Its undo restores the access
// the deactivation recorded: these grants where they were, else the SCIM roles by name.
var stepSnapshotGrants = Step{
	Name: "snapshot_grants", Phase: PhaseCheck,
	Applies: func(r *Run) bool {
		return r.w.cfg.SnapshotGrants && !r.st.Steps.PatchSent && r.st.Steps.GrantsBefore == nil
	},
	Do:   snapshotGrants,
	Undo: restoreAccess,
}

func snapshotQueues(ctx context.Context, r *Run) error {
	qs, err := CallMany(ctx, r, func(c *genesys.Client) ([]genesys.Queue, []*genesys.Response, error) {
		return c.Users.Queues(ctx, r.user.ID)
	})
	if err != nil {
		return err
	}
	before := make([]audit.Queue, 0, len(qs))
	for _, q := range qs {
		before = append(before, audit.Queue{ID: q.ID, Name: q.Name})
	}
	r.st.Steps.QueuesBefore = before
	return nil
}

func snapshotGrants(ctx context.Context, r *Run) error {
	sub, err := Call(ctx, r, func(c *genesys.Client) (*genesys.Subject, *genesys.Response, error) {
		return c.Authorization.Subject(ctx, r.user.ID)
	})
	if err != nil {
		return err
	}
	grants := make([]audit.Grant, 0, len(sub.Grants))
	for _, g := range sub.Grants {
		grants = append(grants, audit.Grant{RoleID: g.Role.ID, RoleName: g.Role.Name, DivisionID: g.Division.ID, DivisionName: g.Division.Name})
	}
	r.st.Steps.GrantsBefore = grants
	return nil
}

// restoreAccess gives back what the last deactivation recorded and the user no longer holds: the
// grants in their divisions where the snapshot was taken, else the SCIM role names (which
// Genesys grants in the home division), saying which.
func restoreAccess(ctx context.Context, r *Run, recorded *audit.Findings) error {
	var restored []string
	var err error
	switch {
	case recorded == nil: // only a forced reactivation gets here
		r.message = "Genesys Cloud user reactivated by force; no deactivation of this user by this system is recorded, so no access was restored."
		return nil
	case len(recorded.GrantsBefore) > 0:
		restored, err = restoreGrants(ctx, r, recorded.GrantsBefore)
	default:
		restored, err = restoreRoles(ctx, r, recorded.RolesBefore)
	}
	if err != nil {
		return err
	}
	r.st.Steps.GrantsRestored = restored
	return nil
}

func restoreGrants(ctx context.Context, r *Run, before []audit.Grant) ([]string, error) {
	userID := r.user.ID
	sub, err := Call(ctx, r, func(c *genesys.Client) (*genesys.Subject, *genesys.Response, error) {
		return c.Authorization.Subject(ctx, userID)
	})
	if err != nil {
		return nil, err
	}
	var missing []genesys.GrantRef
	var restored []string
	for _, g := range before {
		held := slices.ContainsFunc(sub.Grants, func(h genesys.Grant) bool { return h.Role.ID == g.RoleID && h.Division.ID == g.DivisionID })
		if !held {
			missing = append(missing, genesys.GrantRef{RoleID: g.RoleID, DivisionID: g.DivisionID})
			restored = append(restored, cmpName(g.RoleName, g.RoleID)+"@"+cmpName(g.DivisionName, g.DivisionID))
		}
	}
	if len(missing) > 0 {
		if _, err := Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
			resp, err := c.Authorization.AddGrants(ctx, userID, missing)
			return struct{}{}, resp, err
		}); err != nil {
			return nil, err
		}
	}
	r.message = fmt.Sprintf("Genesys Cloud user reactivated; %d of the %d recorded grants restored in their divisions (the others were still held).", len(missing), len(before))
	return restored, nil
}

func restoreRoles(ctx context.Context, r *Run, before []string) ([]string, error) {
	held := r.user.RoleNames()
	var restored []string
	for _, name := range before {
		if !slices.Contains(held, name) {
			restored = append(restored, name)
		}
	}
	if len(restored) > 0 {
		if _, err := Call(ctx, r, func(c *genesys.Client) (*genesys.User, *genesys.Response, error) {
			return c.Users.AddRoles(ctx, r.user.ID, restored)
		}); err != nil {
			return nil, err
		}
	}
	r.message = fmt.Sprintf("Genesys Cloud user reactivated; %d of the %d recorded roles restored by name (the deactivation recorded no grants with divisions, so Genesys grants them in the home division).", len(restored), len(before))
	return restored, nil
}

func cmpName(name, id string) string {
	if name != "" {
		return name
	}
	return id
}
