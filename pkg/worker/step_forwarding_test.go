package worker_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

type forwardingRec struct {
	Enabled bool `json:"enabled"`
	Calls   []struct {
		Targets []genesyssim.ForwardingTarget `json:"targets"`
	} `json:"calls"`
	Voicemail string   `json:"voicemail"`
	Result    string   `json:"result"`
	Would     []string `json:"would"`
}

type undoRec struct {
	Restored []string `json:"restored"`
	CouldNot []struct {
		ID, Name, Reason string
	} `json:"could_not"`
	Result string `json:"result"`
}

const fwdGet, fwdPatch = "GET /api/v2/users/{id}/callforwarding", "PATCH /api/v2/users/{id}/callforwarding"

// The forwarding step turns a leaver's call forwarding off and records it; a reactivation turns
// the recorded forwarding back on; a user whose forwarding is off costs one read.
func TestForwardingStep(t *testing.T) {
	t.Parallel()
	b := cleanBed(t, worker.Config{Steps: []string{"forwarding"}})
	targets := []genesyssim.ForwardingTarget{{Type: "PHONENUMBER", Value: "+15550001111"}, {Type: "PHONENUMBER", Value: "+15550002222"}}
	on := withAgent(t, b, 0, func(a *genesyssim.AgentState) {
		a.Forwarding = genesyssim.Forwarding{Enabled: true, Targets: targets, Voicemail: "PURECLOUD"}
	})
	off := withAgent(t, b, 1, func(a *genesyssim.AgentState) {
		a.Forwarding = genesyssim.Forwarding{Enabled: false, Targets: targets[:1]}
	})

	ev := deactivateAndClean(t, b, on, "fwd-on")
	var rec forwardingRec
	eventRecord(t, ev, "forwarding", &rec)
	if !rec.Enabled || rec.Result != "disabled" || rec.Voicemail != "PURECLOUD" || len(rec.Calls) != 1 || !slices.Equal(rec.Calls[0].Targets, targets) {
		t.Errorf("recorded %+v; want enabled with both targets and voicemail, disabled", rec)
	}
	if a := agentNow(t, b, on); a.Forwarding.Enabled || !slices.Equal(a.Forwarding.Targets, targets) || a.Forwarding.Voicemail != "PURECLOUD" {
		t.Errorf("forwarding after the cleanup %+v; want off with the targets and voicemail kept", a.Forwarding)
	}

	ev = reactivateEvent(t, b, on, "fwd-on-back")
	var undo undoRec
	eventRecord(t, ev, "undo_forwarding", &undo)
	if undo.Result != "restored" || len(undo.Restored) != 1 {
		t.Errorf("undo recorded %+v", undo)
	}
	if a := agentNow(t, b, on); !a.Forwarding.Enabled || !slices.Equal(a.Forwarding.Targets, targets) {
		t.Errorf("forwarding after the reactivation %+v; want on, to %v", a.Forwarding, targets)
	}

	ev = deactivateAndClean(t, b, off, "fwd-off")
	rec = forwardingRec{}
	eventRecord(t, ev, "forwarding", &rec)
	if rec.Enabled || rec.Result != "already off" {
		t.Errorf("recorded %+v; want already off", rec)
	}
	if n := calls(b, off, fwdPatch, 0); n != 0 || calls(b, off, fwdGet, 200) != 1 {
		t.Errorf("a user whose forwarding is off got %d PATCHes and %d reads; want 0 and 1", n, calls(b, off, fwdGet, 200))
	}
	// Nothing was turned off, so the reactivation has nothing to turn on.
	if ev := reactivateEvent(t, b, off, "fwd-off-back"); ev.Steps["undo_forwarding"] != nil || calls(b, off, fwdPatch, 0) != 0 {
		t.Errorf("undo of nothing: %s, %d PATCHes", ev.Steps["undo_forwarding"], calls(b, off, fwdPatch, 0))
	}
}

// A reactivation leaves forwarding alone that someone turned on again meanwhile, and says so.
func TestForwardingUndoLeavesNewForwarding(t *testing.T) {
	t.Parallel()
	b := cleanBed(t, worker.Config{Steps: []string{"forwarding"}})
	user := withAgent(t, b, 0, func(a *genesyssim.AgentState) {
		a.Forwarding = genesyssim.Forwarding{Enabled: true, Targets: []genesyssim.ForwardingTarget{{Type: "PHONENUMBER", Value: "+15550001111"}}}
	})
	deactivateAndClean(t, b, user, "fwd-new")
	mine := genesyssim.Forwarding{Enabled: true, Targets: []genesyssim.ForwardingTarget{{Type: "PHONENUMBER", Value: "+15559990000"}}}
	withAgentID(t, b, user, func(a *genesyssim.AgentState) { a.Forwarding = mine })
	patches := calls(b, user, fwdPatch, 0)

	ev := reactivateEvent(t, b, user, "fwd-new-back")
	var undo undoRec
	eventRecord(t, ev, "undo_forwarding", &undo)
	if undo.Result != "nothing restored" || len(undo.CouldNot) != 1 || !strings.Contains(undo.CouldNot[0].Reason, "on now") {
		t.Errorf("undo recorded %+v; want it skipped because forwarding is on now", undo)
	}
	if a := agentNow(t, b, user); !slices.Equal(a.Forwarding.Targets, mine.Targets) || calls(b, user, fwdPatch, 0) != patches {
		t.Errorf("forwarding %+v after the reactivation; want the new one untouched", a.Forwarding)
	}
}

// A dry run reads the forwarding, says it would turn it off, and changes nothing.
func TestForwardingDryRun(t *testing.T) {
	t.Parallel()
	b := cleanBed(t, worker.Config{Steps: []string{"forwarding"}})
	user := withAgent(t, b, 0, func(a *genesyssim.AgentState) {
		a.Forwarding = genesyssim.Forwarding{Enabled: true, Targets: []genesyssim.ForwardingTarget{{Type: "PHONENUMBER", Value: "+15550001111"}}}
	})
	ev := dryRun(t, b, user, "fwd-dry")
	var rec forwardingRec
	eventRecord(t, ev, "forwarding", &rec)
	if !rec.Enabled || rec.Result != "would disable" || len(rec.Would) != 1 || !strings.Contains(rec.Would[0], "forwarding off") {
		t.Errorf("dry run recorded %+v", rec)
	}
	if n := previewCalls(t, ev, "forwarding"); n != 2 {
		t.Errorf("preview says %d calls; want 2 (the read and the PATCH)", n)
	}
	if a := agentNow(t, b, user); !a.Forwarding.Enabled || calls(b, user, fwdPatch, 0) != 0 {
		t.Errorf("a dry run changed the forwarding: %+v", a.Forwarding)
	}
}
