package worker

import (
	"context"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepWFM takes the user out of their workforce management unit, so that a leaver is no longer
// scheduled or forecast, and records the unit. Its undo moves the user back into the recorded
// unit when the user is in no unit.
var stepWFM = Step{
	Name: "wfm", Phase: PhaseClean, Optional: true,
	Permissions: []string{"wfm:agent:view", "wfm:agent:edit"},
	Probe:       probeWFM,
	Calls: func(r *Run) int {
		if rec, _ := recordedAs[wfmRecord](r.Findings(), "wfm"); rec.ManagementUnit != nil {
			return 2 // the read and the move
		}
		return 1
	},
	Do:   leaveWFM,
	Undo: restoreWFM,
}

// wfmRecord is what the wfm step records: the user's unit before the step (nil: none).
type wfmRecord struct {
	ManagementUnit *wfmRef `json:"management_unit,omitempty"`
	BusinessUnit   *wfmRef `json:"business_unit,omitempty"`
	Result         string  `json:"result"`
}

type wfmRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

func wfmRefOf(e *genesys.NamedEntity) *wfmRef {
	if e == nil || e.ID == "" {
		return nil
	}
	return &wfmRef{ID: e.ID, Name: e.Name}
}

func (u wfmRef) String() string { return cmpName(u.Name, u.ID) }

func probeWFM(ctx context.Context, c *genesys.Client) error {
	if _, _, err := c.WFM.ManagementUnit(ctx, genesys.ProbeUserID); permitted(err) != nil {
		return err
	}
	_, err := c.WFM.MoveAgents(ctx, []string{genesys.ProbeUserID}, "")
	return permitted(err)
}

func leaveWFM(ctx context.Context, r *Run) error {
	userID := r.user.ID
	mu, err := Call(ctx, r, func(c *genesys.Client) (*genesys.AgentManagementUnit, *genesys.Response, error) {
		return c.WFM.ManagementUnit(ctx, userID)
	})
	if err != nil {
		return err
	}
	// A delivery before this one may have taken the user out already: what it recorded stays.
	rec, ok := recordedAs[wfmRecord](r.Findings(), "wfm")
	if !ok || rec.ManagementUnit == nil {
		rec = wfmRecord{}
		if mu != nil {
			rec.ManagementUnit, rec.BusinessUnit = wfmRefOf(mu.ManagementUnit), wfmRefOf(mu.BusinessUnit)
		}
	}
	inUnit := wfmRefOf(unitOf(mu)) != nil
	switch {
	case !inUnit && rec.ManagementUnit == nil:
		rec.Result = "in no management unit"
		return r.Found("wfm", rec)
	case !inUnit: // an earlier delivery took the user out
		rec.Result = "removed from " + rec.ManagementUnit.String()
		return r.Found("wfm", rec)
	case r.DryRun():
		rec.Result = "would remove from " + rec.ManagementUnit.String()
		if err := r.Found("wfm", rec); err != nil {
			return err
		}
		r.Would("wfm", "remove the user from management unit "+rec.ManagementUnit.String())
		return nil
	}
	rec.Result = "removed from " + rec.ManagementUnit.String()
	if err := r.Found("wfm", rec); err != nil { // stored before the move: a crash keeps the unit
		return err
	}
	if err := r.saveStatus(ctx); err != nil {
		return err
	}
	_, err = Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
		resp, err := c.WFM.MoveAgents(ctx, []string{userID}, "")
		return struct{}{}, resp, err
	})
	return err
}

// restoreWFM moves the user back into the recorded unit, unless the user is in a unit now
// (someone placed them since: that placement wins).
func restoreWFM(ctx context.Context, r *Run, recorded *audit.Findings) error {
	rec, ok := recordedAs[wfmRecord](recorded, "wfm")
	if !ok || rec.ManagementUnit == nil {
		return nil // nothing recorded to give back
	}
	userID := r.user.ID
	mu, err := Call(ctx, r, func(c *genesys.Client) (*genesys.AgentManagementUnit, *genesys.Response, error) {
		return c.WFM.ManagementUnit(ctx, userID)
	})
	if err != nil {
		return err
	}
	want := rec.ManagementUnit
	what := "management unit " + want.String()
	switch now := wfmRefOf(unitOf(mu)); {
	case now != nil && now.ID == want.ID:
		return r.Found("undo_wfm", undone{Result: "the user is in the recorded " + what + " already"})
	case now != nil:
		return r.Found("undo_wfm", undone{CouldNot: []couldNot{{ID: want.ID, Name: want.Name, Reason: "the user is in management unit " + now.String() + " now, which is kept"}}, Result: "nothing restored"})
	}
	if r.DryRun() {
		r.Would("undo_wfm", "move the user back into "+what)
		return nil
	}
	_, err = Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
		resp, err := c.WFM.MoveAgents(ctx, []string{userID}, rec.ManagementUnit.ID)
		return struct{}{}, resp, err
	})
	switch {
	case err == nil:
		return r.Found("undo_wfm", undone{Restored: []string{what}, Result: "restored"})
	case refused(err):
		return r.Found("undo_wfm", undone{CouldNot: []couldNot{{ID: want.ID, Name: want.Name, Reason: reason("Genesys refused the move (the unit may be gone)", err)}}, Result: "nothing restored"})
	}
	return err
}

// unitOf is the unit in mu; nil when mu is (the user is in no unit).
func unitOf(mu *genesys.AgentManagementUnit) *genesys.NamedEntity {
	if mu == nil {
		return nil
	}
	return mu.ManagementUnit
}
