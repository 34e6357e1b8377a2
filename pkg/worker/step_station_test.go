package worker_test

import (
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

type stationRecord struct {
	Associated *struct{ ID, Name string } `json:"associated"`
	Default    *struct{ ID, Name string } `json:"default"`
	Result     string                     `json:"result"`
	Would      []string                   `json:"would"`
}

type stationUndoRecord struct {
	Default  *struct{ ID string } `json:"default"`
	Already  bool                 `json:"already"`
	CouldNot *couldNotRecord      `json:"could_not"`
}

// spareStation is a station of the org that is nobody's.
func spareStation(t *testing.T, b *testbed.T, n int) genesyssim.StationInfo {
	t.Helper()
	var spare []genesyssim.StationInfo
	for _, s := range b.Sim.Stations() {
		if strings.HasPrefix(s.Name, "Spare") {
			spare = append(spare, s)
		}
	}
	if len(spare) <= n {
		t.Fatalf("the simulator has %d spare stations", len(spare))
	}
	return spare[n]
}

// station clears the associated and the default station and records both; a reactivation sets
// the default back.
func TestStationClearedAndDefaultBack(t *testing.T) {
	t.Parallel()
	b := ccBed(t, genesyssim.Config{}, "station")
	st := spareStation(t, b, 0)
	u := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable,
		DefaultStationID: st.ID, AssociatedStationID: st.ID})
	if got := offboard(t, b, u.ID, "st-off", true, nil); got != audit.OutcomeCleanedUp {
		t.Fatalf("outcome %s", got)
	}
	if a := agentNow(t, b, u.ID); a.DefaultStationID != "" || a.AssociatedStationID != "" {
		t.Errorf("stations after the cleanup: default %q associated %q", a.DefaultStationID, a.AssociatedStationID)
	}
	var rec stationRecord
	stepRecord(t, b, jobs.CleanupID("st-off"), "station", &rec)
	if rec.Associated == nil || rec.Associated.ID != st.ID || rec.Default == nil || rec.Default.ID != st.ID || rec.Default.Name != st.Name ||
		!strings.HasPrefix(rec.Result, "cleared") {
		t.Errorf("recorded %+v, want both stations", rec)
	}
	if n := len(routes(b, u.ID, func(r string) bool { return strings.Contains(r, "/station") })); n != 3 {
		t.Errorf("%d station calls, want 3 (read, clear associated, clear default)", n)
	}

	if s := reactivate(t, b, u.ID, "st-on"); s.Outcome != audit.OutcomeReactivated {
		t.Fatalf("reactivation: %s %s", s.Outcome, s.Error)
	}
	if a := agentNow(t, b, u.ID); a.DefaultStationID != st.ID {
		t.Errorf("default station after the reactivation %q, want %q", a.DefaultStationID, st.ID)
	}
	var undo stationUndoRecord
	stepRecord(t, b, "st-on", "undo_station", &undo)
	if undo.Default == nil || undo.Default.ID != st.ID || undo.CouldNot != nil {
		t.Errorf("undo recorded %+v", undo)
	}
}

// The recorded default station became another user's meanwhile. Whether Genesys lets a PUT take
// it is UNCONFIRMED (the simulator's TakeDefaultStation): when it refuses (409), the reactivation
// records could-not and the other user keeps it; when it allows it, the station is given back and
// the other user loses it, which the undo cannot see beforehand (a doubt for a real org).
func TestStationTakenMeanwhile(t *testing.T) {
	t.Parallel()
	for _, takes := range []bool{false, true} {
		t.Run(map[bool]string{false: "Genesys refuses", true: "Genesys lets the PUT take it"}[takes], func(t *testing.T) {
			t.Parallel()
			b := ccBed(t, genesyssim.Config{TakeDefaultStation: takes}, "station")
			st := spareStation(t, b, 1)
			u := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable, DefaultStationID: st.ID})
			if got := offboard(t, b, u.ID, "st-off", true, nil); got != audit.OutcomeCleanedUp {
				t.Fatalf("outcome %s", got)
			}
			other := agent(t, b, 1, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable, DefaultStationID: st.ID})
			if s := reactivate(t, b, u.ID, "st-on"); s.Outcome != audit.OutcomeReactivated {
				t.Fatalf("reactivation: %s %s", s.Outcome, s.Error)
			}
			var undo stationUndoRecord
			stepRecord(t, b, "st-on", "undo_station", &undo)
			mine, theirs := agentNow(t, b, u.ID).DefaultStationID, agentNow(t, b, other.ID).DefaultStationID
			switch {
			case !takes && (undo.CouldNot == nil || !strings.Contains(undo.CouldNot.Reason, "another user's") || mine != "" || theirs != st.ID):
				t.Errorf("undo recorded %+v; defaults: user %q other %q; want could-not and the other user keeping it", undo, mine, theirs)
			case takes && (undo.Default == nil || undo.CouldNot != nil || mine != st.ID || theirs != ""):
				t.Errorf("undo recorded %+v; defaults: user %q other %q; want it restored", undo, mine, theirs)
			}
		})
	}
}

// A user without a station: nothing to do, one read; a dry run changes nothing.
func TestStationNothingToDoAndDryRun(t *testing.T) {
	t.Parallel()
	b := ccBed(t, genesyssim.Config{}, "station")
	none := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable})
	if got := offboard(t, b, none.ID, "st-none", true, nil); got != audit.OutcomeCleanedUp {
		t.Fatalf("outcome %s", got)
	}
	var rec stationRecord
	stepRecord(t, b, jobs.CleanupID("st-none"), "station", &rec)
	if rec.Default != nil || rec.Associated != nil || !strings.HasPrefix(rec.Result, "nothing to do") {
		t.Errorf("recorded %+v, want nothing to do", rec)
	}

	st := spareStation(t, b, 2)
	u := agent(t, b, 1, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable, DefaultStationID: st.ID})
	if got := offboard(t, b, u.ID, "st-dry", true, func(j *jobs.Job) { j.DryRun = true }); got != audit.OutcomeDryRun {
		t.Fatalf("outcome %s", got)
	}
	stepRecord(t, b, "st-dry", "station", &rec)
	if rec.Default == nil || len(rec.Would) != 1 || !strings.Contains(rec.Would[0], st.Name) {
		t.Errorf("dry run recorded %+v", rec)
	}
	if a := agentNow(t, b, u.ID); a.DefaultStationID != st.ID {
		t.Error("the dry run cleared the default station")
	}
	var cost struct {
		Steps map[string]int `json:"steps"`
	}
	stepRecord(t, b, "st-dry", "dry_run", &cost)
	if cost.Steps["station"] != 2 {
		t.Errorf("preview cost %v, want station 2 (read, clear the default)", cost.Steps)
	}
}
