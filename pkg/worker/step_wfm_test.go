package worker_test

import (
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

type wfmRec struct {
	ManagementUnit *struct{ ID, Name string } `json:"management_unit"`
	BusinessUnit   *struct{ ID, Name string } `json:"business_unit"`
	Result         string                     `json:"result"`
	Would          []string                   `json:"would"`
}

const wfmMove = "POST /api/v2/workforcemanagement/agents"

// The wfm step takes the leaver out of their management unit and records it; a reactivation
// moves them back; a user in no unit costs one read.
func TestWFMStep(t *testing.T) {
	t.Parallel()
	b := cleanBed(t, worker.Config{Steps: []string{"wfm"}})
	unit := b.Sim.ManagementUnits()[1]
	inUnit := withAgent(t, b, 0, func(a *genesyssim.AgentState) { a.ManagementUnitID = unit.ID })
	noUnit := withAgent(t, b, 1, func(a *genesyssim.AgentState) { a.ManagementUnitID = "" })

	var rec wfmRec
	eventRecord(t, deactivateAndClean(t, b, inUnit, "wfm-in"), "wfm", &rec)
	if rec.ManagementUnit == nil || rec.ManagementUnit.ID != unit.ID || rec.ManagementUnit.Name != unit.Name || rec.BusinessUnit == nil || !strings.HasPrefix(rec.Result, "removed from") {
		t.Errorf("recorded %+v; want unit %+v with its business unit, removed", rec, unit)
	}
	if a := agentNow(t, b, inUnit); a.ManagementUnitID != "" {
		t.Errorf("still in unit %s after the cleanup", a.ManagementUnitID)
	}
	var undo undoRec
	eventRecord(t, reactivateEvent(t, b, inUnit, "wfm-in-back"), "undo_wfm", &undo)
	if undo.Result != "restored" || agentNow(t, b, inUnit).ManagementUnitID != unit.ID {
		t.Errorf("undo recorded %+v, unit now %q; want back in %s", undo, agentNow(t, b, inUnit).ManagementUnitID, unit.ID)
	}

	rec = wfmRec{}
	eventRecord(t, deactivateAndClean(t, b, noUnit, "wfm-none"), "wfm", &rec)
	if rec.ManagementUnit != nil || rec.Result != "in no management unit" || calls(b, noUnit, wfmMove, 0) != 0 {
		t.Errorf("a user in no unit: recorded %+v", rec)
	}
}

// A reactivation leaves a user that someone placed in another unit meanwhile where they are, and
// says so; a dry run says what it would do and moves nobody.
func TestWFMUndoAndDryRun(t *testing.T) {
	t.Parallel()
	b := cleanBed(t, worker.Config{Steps: []string{"wfm"}})
	units := b.Sim.ManagementUnits()
	moved := withAgent(t, b, 0, func(a *genesyssim.AgentState) { a.ManagementUnitID = units[0].ID })
	dry := withAgent(t, b, 1, func(a *genesyssim.AgentState) { a.ManagementUnitID = units[2].ID })

	deactivateAndClean(t, b, moved, "wfm-moved")
	withAgentID(t, b, moved, func(a *genesyssim.AgentState) { a.ManagementUnitID = units[1].ID })
	var undo undoRec
	eventRecord(t, reactivateEvent(t, b, moved, "wfm-moved-back"), "undo_wfm", &undo)
	if undo.Result != "nothing restored" || len(undo.CouldNot) != 1 || undo.CouldNot[0].ID != units[0].ID || !strings.Contains(undo.CouldNot[0].Reason, units[1].Name) {
		t.Errorf("undo recorded %+v; want it skipped, naming %s", undo, units[1].Name)
	}
	if a := agentNow(t, b, moved); a.ManagementUnitID != units[1].ID {
		t.Errorf("unit %s after the reactivation; want %s kept", a.ManagementUnitID, units[1].ID)
	}

	ev := dryRun(t, b, dry, "wfm-dry")
	var rec wfmRec
	eventRecord(t, ev, "wfm", &rec)
	if rec.ManagementUnit == nil || rec.ManagementUnit.ID != units[2].ID || len(rec.Would) != 1 {
		t.Errorf("dry run recorded %+v", rec)
	}
	if n := previewCalls(t, ev, "wfm"); n != 2 {
		t.Errorf("preview says %d calls; want 2", n)
	}
	if a := agentNow(t, b, dry); a.ManagementUnitID != units[2].ID || calls(b, dry, wfmMove, 0) != 0 {
		t.Errorf("a dry run moved the user: unit %q", a.ManagementUnitID)
	}
}
