package worker

import (
	"context"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepForwarding turns off the user's call forwarding, so that calls to a leaver no longer ring
// a personal phone, and records the forwarding as it was (the targets are phone numbers: the
// record is evidence, not a secret). Its undo turns the recorded forwarding back on when the
// user's forwarding is still off.
//
// Genesys documents the PATCH only as "Patch a user's CallForwarding" with a CallForwarding
// body, and also offers a PUT that replaces it. The step therefore sends the forwarding as it
// read it with enabled false: under either reading of PATCH the routes and voicemail are kept.
var stepForwarding = Step{
	Name: "forwarding", Phase: PhaseClean, Optional: true,
	Permissions: []string{"conversation:callForwarding:view", "conversation:callForwarding:edit"},
	Probe:       probeForwarding,
	Calls: func(r *Run) int {
		if rec, _ := recordedAs[forwardingRecord](r.Findings(), "forwarding"); rec.Enabled {
			return 2 // the read and the PATCH
		}
		return 1
	},
	Do:   forwardingOff,
	Undo: restoreForwarding,
}

// forwardingRecord is what the forwarding step records: the forwarding before the step and
// what the step did with it.
type forwardingRecord struct {
	Enabled   bool              `json:"enabled"`
	Calls     []forwardingRoute `json:"calls,omitempty"` // ordered routes, each ringing its targets
	Voicemail string            `json:"voicemail,omitempty"`
	Result    string            `json:"result"`
}

type forwardingRoute struct {
	Targets []forwardingTarget `json:"targets"`
}

type forwardingTarget struct {
	Type  string `json:"type"`
	Value string `json:"value"` // a station id or an E.164 number
}

func probeForwarding(ctx context.Context, c *genesys.Client) error {
	if _, _, err := c.CallForwarding.Get(ctx, genesys.ProbeUserID); permitted(err) != nil {
		return err
	}
	_, _, err := c.CallForwarding.Patch(ctx, genesys.ProbeUserID, genesys.CallForwarding{Enabled: false})
	return permitted(err)
}

func forwardingOff(ctx context.Context, r *Run) error {
	userID := r.user.ID
	cf, err := Call(ctx, r, func(c *genesys.Client) (*genesys.CallForwarding, *genesys.Response, error) {
		return c.CallForwarding.Get(ctx, userID)
	})
	if err != nil {
		return err
	}
	// A delivery before this one may have turned it off already: what it recorded stays.
	rec, ok := recordedAs[forwardingRecord](r.Findings(), "forwarding")
	if !ok || !rec.Enabled {
		rec = forwardingRecordOf(cf)
	}
	switch {
	case !cf.Enabled:
		rec.Result = "already off"
		if rec.Enabled { // an earlier delivery turned it off
			rec.Result = "disabled"
		}
		return r.Found("forwarding", rec)
	case r.DryRun():
		rec.Result = "would disable"
		if err := r.Found("forwarding", rec); err != nil {
			return err
		}
		r.Would("forwarding", "turn call forwarding off ("+counted(rec.targets(), "target")+")")
		return nil
	}
	rec.Result = "disabled"
	// Recorded and stored before the change, so that a delivery after a crash keeps the
	// before-state.
	if err := r.Found("forwarding", rec); err != nil {
		return err
	}
	if err := r.saveStatus(ctx); err != nil {
		return err
	}
	off := *cf
	off.Enabled = false
	_, err = Call(ctx, r, func(c *genesys.Client) (*genesys.CallForwarding, *genesys.Response, error) {
		return c.CallForwarding.Patch(ctx, userID, off)
	})
	return err
}

func forwardingRecordOf(cf *genesys.CallForwarding) forwardingRecord {
	rec := forwardingRecord{Enabled: cf.Enabled, Voicemail: cf.Voicemail}
	for _, call := range cf.Calls {
		route := forwardingRoute{Targets: []forwardingTarget{}}
		for _, t := range call.Targets {
			route.Targets = append(route.Targets, forwardingTarget{Type: t.Type, Value: t.Value})
		}
		rec.Calls = append(rec.Calls, route)
	}
	return rec
}

func (rec forwardingRecord) targets() int {
	n := 0
	for _, c := range rec.Calls {
		n += len(c.Targets)
	}
	return n
}

func (rec forwardingRecord) forwarding() genesys.CallForwarding {
	cf := genesys.CallForwarding{Enabled: rec.Enabled, Voicemail: rec.Voicemail}
	for _, route := range rec.Calls {
		call := genesys.ForwardingCall{Targets: []genesys.ForwardingTarget{}}
		for _, t := range route.Targets {
			call.Targets = append(call.Targets, genesys.ForwardingTarget{Type: t.Type, Value: t.Value})
		}
		cf.Calls = append(cf.Calls, call)
	}
	return cf
}

// restoreForwarding turns the recorded forwarding back on, unless the user's forwarding is on
// again (someone set it since: theirs wins) or nothing was on.
func restoreForwarding(ctx context.Context, r *Run, recorded *audit.Findings) error {
	rec, ok := recordedAs[forwardingRecord](recorded, "forwarding")
	if !ok || !rec.Enabled {
		return nil // nothing of ours to give back
	}
	userID := r.user.ID
	now, err := Call(ctx, r, func(c *genesys.Client) (*genesys.CallForwarding, *genesys.Response, error) {
		return c.CallForwarding.Get(ctx, userID)
	})
	if err != nil {
		return err
	}
	what := "call forwarding (" + counted(rec.targets(), "target") + ")"
	switch {
	case now.Enabled:
		return r.Found("undo_forwarding", undone{CouldNot: []couldNot{{ID: "forwarding", Reason: "the user's forwarding is on now (set since); left as it is"}}, Result: "nothing restored"})
	case r.DryRun():
		r.Would("undo_forwarding", "turn "+what+" back on")
		return nil
	}
	_, err = Call(ctx, r, func(c *genesys.Client) (*genesys.CallForwarding, *genesys.Response, error) {
		return c.CallForwarding.Patch(ctx, userID, rec.forwarding())
	})
	switch {
	case err == nil:
		return r.Found("undo_forwarding", undone{Restored: []string{what}, Result: "restored"})
	case refused(err):
		return r.Found("undo_forwarding", undone{CouldNot: []couldNot{{ID: "forwarding", Reason: reason("Genesys refused the recorded forwarding", err)}}, Result: "nothing restored"})
	}
	return err
}
