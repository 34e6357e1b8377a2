package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// snapshotGrants records the user's full grants and joined queues before a
// deactivation, when the worker is configured to (one more call each).
func (r *jobRun) snapshotGrants(ctx context.Context, c *genesys.Client, userID string) (verdict, bool) {
	if r.job.Action != ActionDeactivate || r.st.Steps.PatchSent {
		return verdict{}, true
	}
	if r.w.cfg.SnapshotQueues && r.st.Steps.QueuesBefore == nil {
		var qs []genesys.Queue
		var resps []*genesys.Response
		if err := retry429(ctx, func() (err error) { qs, resps, err = c.Users.Queues(ctx, userID); return err }); err != nil {
			return r.genesysFailure(ctx, err), false
		}
		for _, resp := range resps {
			r.addCorrelation(resp)
		}
		r.st.Steps.QueuesBefore = make([]audit.Queue, 0, len(qs))
		for _, q := range qs {
			r.st.Steps.QueuesBefore = append(r.st.Steps.QueuesBefore, audit.Queue{ID: q.ID, Name: q.Name})
		}
	}
	if !r.w.cfg.SnapshotGrants || r.st.Steps.GrantsBefore != nil {
		return verdict{}, true
	}
	var sub *genesys.Subject
	var resp *genesys.Response
	if err := retry429(ctx, func() (err error) { sub, resp, err = c.Authorization.Subject(ctx, userID); return err }); err != nil {
		return r.genesysFailure(ctx, err), false
	}
	r.addCorrelation(resp)
	grants := make([]audit.Grant, 0, len(sub.Grants))
	for _, g := range sub.Grants {
		grants = append(grants, audit.Grant{RoleID: g.Role.ID, RoleName: g.Role.Name, DivisionID: g.Division.ID, DivisionName: g.Division.Name})
	}
	r.st.Steps.GrantsBefore = grants
	return verdict{}, true
}

// planReactivate undoes a deactivation: SCIM active=true, then the access
// the user's last deactivation event recorded — the full grants in their
// divisions where the snapshot was taken, else the SCIM role names (which
// Genesys grants in the home division), saying which. A user with no
// recorded deactivation is left alone (outcome protected) unless the job is
// forced, and every PATCH counts against the reactivation guard.
func (r *jobRun) planReactivate(ctx context.Context, c *genesys.Client) verdict {
	patchedBefore := r.st.Steps.PatchSent || r.st.Steps.Reactivated
	u, v, ok := r.resolveAndLease(ctx, c)
	if !ok {
		return v
	}
	last, err := r.w.lastDeactivation(ctx, u.ID)
	if err != nil {
		return verdict{fail: failWait, err: fmt.Errorf("%w: %w", errStore, err)}
	}
	if v, done := r.reactivationStops(u, last); done {
		return v
	}
	if v, ok := r.reserveReactivation(ctx, u); !ok {
		return v
	}
	wasActive := u.Active
	if !u.Active {
		r.st.Steps.PatchSent = true
		if err := r.w.status.Save(ctx, &r.st); err != nil {
			return verdict{fail: failWait, err: fmt.Errorf("%w: %w", errStore, err)}
		}
		res, err := r.ensureActive(ctx, c, u, true, nil)
		if err != nil {
			return r.genesysFailure(ctx, err)
		}
		r.st.Steps.Reactivated = res.Changed || patchedBefore
		u = res.User
	}
	if v, ok := r.restoreAccess(ctx, c, u, last); !ok {
		return v
	}
	if wasActive && !r.st.Steps.Reactivated {
		r.message = strings.Replace(r.message, "Genesys Cloud user reactivated", "Genesys Cloud user was already active", 1)
	}
	return verdict{outcome: audit.OutcomeReactivated}
}

// reactivationStops ends a reactivation before any change: a dry run
// reports, and an unforced reactivation of a user with no recorded
// deactivation (last nil) is refused.
func (r *jobRun) reactivationStops(u *genesys.User, last *audit.Unmapped) (verdict, bool) {
	refuse := last == nil && !r.job.Force
	switch {
	case r.job.DryRun && refuse:
		r.message = fmt.Sprintf("Dry run: user %s is %s; a real job would refuse to reactivate it: %s.", u.UserName, activeWord(u.Active), refusedWhy)
		return verdict{outcome: audit.OutcomeDryRun}, true
	case r.job.DryRun:
		r.message = fmt.Sprintf("Dry run: user %s is %s; a real job would reactivate it and restore %s.", u.UserName, activeWord(u.Active), describeRecorded(last))
		return verdict{outcome: audit.OutcomeDryRun}, true
	case refuse:
		r.message = "Reactivation refused: " + refusedWhy + "; Genesys Cloud was not changed."
		return verdict{outcome: audit.OutcomeProtected, err: errNotOurDeactivation}, true
	}
	return verdict{}, false
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

// lastDeactivation returns the unmapped fields of the user's last
// "deactivated" audit event, or nil when there is none.
func (w *Worker) lastDeactivation(ctx context.Context, userID string) (*audit.Unmapped, error) {
	subject := w.cfg.Names.prefix() + ".audit.user." + string(audit.OutcomeDeactivated) + "." + audit.SubjectToken(userID)
	m, err := w.audits.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the user's last deactivation event: %w", err)
	}
	var ev struct {
		Data audit.AccountChange `json:"data"`
	}
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		return nil, fmt.Errorf("decode the user's last deactivation event: %w", err)
	}
	return &ev.Data.Unmapped, nil
}

func describeRecorded(last *audit.Unmapped) string {
	switch {
	case last == nil:
		return "nothing (no deactivation of this user is recorded)"
	case len(last.GrantsBefore) > 0:
		return fmt.Sprintf("the %d grants its last deactivation recorded, in their divisions", len(last.GrantsBefore))
	default:
		return fmt.Sprintf("the %d roles its last deactivation recorded, by name", len(last.RolesBefore))
	}
}

// restoreAccess gives back what the last deactivation recorded and the user
// no longer holds.
func (r *jobRun) restoreAccess(ctx context.Context, c *genesys.Client, u *genesys.User, last *audit.Unmapped) (verdict, bool) {
	var resp *genesys.Response
	var restored []string
	switch {
	case last == nil: // only a forced reactivation gets here
		r.message = "Genesys Cloud user reactivated by force; no deactivation of this user by this system is recorded, so no access was restored."
		return verdict{}, true
	case len(last.GrantsBefore) > 0:
		var sub *genesys.Subject
		if err := retry429(ctx, func() (err error) { sub, resp, err = c.Authorization.Subject(ctx, u.ID); return err }); err != nil {
			return r.genesysFailure(ctx, err), false
		}
		r.addCorrelation(resp)
		var missing []genesys.GrantRef
		for _, g := range last.GrantsBefore {
			held := slices.ContainsFunc(sub.Grants, func(h genesys.Grant) bool { return h.Role.ID == g.RoleID && h.Division.ID == g.DivisionID })
			if !held {
				missing = append(missing, genesys.GrantRef{RoleID: g.RoleID, DivisionID: g.DivisionID})
				restored = append(restored, cmpName(g.RoleName, g.RoleID)+"@"+cmpName(g.DivisionName, g.DivisionID))
			}
		}
		if len(missing) > 0 {
			if err := retry429(ctx, func() (err error) { resp, err = c.Authorization.AddGrants(ctx, u.ID, missing); return err }); err != nil {
				return r.genesysFailure(ctx, err), false
			}
			r.addCorrelation(resp)
		}
		r.message = fmt.Sprintf("Genesys Cloud user reactivated; %d of the %d recorded grants restored in their divisions (the others were still held).", len(missing), len(last.GrantsBefore))
	default:
		held := u.RoleNames()
		for _, name := range last.RolesBefore {
			if !slices.Contains(held, name) {
				restored = append(restored, name)
			}
		}
		if len(restored) > 0 {
			var nu *genesys.User
			if err := retry429(ctx, func() (err error) { nu, resp, err = c.Users.AddRoles(ctx, u.ID, restored); return err }); err != nil {
				return r.genesysFailure(ctx, err), false
			}
			r.addCorrelation(resp)
			_ = nu
		}
		r.message = fmt.Sprintf("Genesys Cloud user reactivated; %d of the %d recorded roles restored by name (the deactivation recorded no grants with divisions, so Genesys grants them in the home division).", len(restored), len(last.RolesBefore))
	}
	r.st.Steps.GrantsRestored = restored
	return verdict{}, true
}
