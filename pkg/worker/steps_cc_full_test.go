package worker_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// The four steps together on a seeded agent that holds everything (on queue, direct and group
// queues, associated to their default station): the deactivation sets
// them off queue before the PATCH, the cleanup sets them Offline, takes them out of their direct
// queues and frees the station; a reactivation gives back the direct queues and the default
// station. The calls each step makes for this user are the budget's "typical agent" row.
func TestContactCenterStepsTogether(t *testing.T) {
	t.Parallel()
	b := ccBed(t, genesyssim.Config{}, "off_queue", "presence", "queues", "station")
	i := slices.IndexFunc(plainActive(b.Sim), func(u genesyssim.User) bool {
		a, _ := b.Sim.Agent(u.ID)
		return a.RoutingStatus != genesyssim.RoutingOffQueue && a.DefaultStationID != "" && a.AssociatedStationID != "" &&
			slices.ContainsFunc(a.Queues, func(m genesyssim.Membership) bool { return m.MemberBy == genesyssim.MemberByGroup }) &&
			slices.ContainsFunc(a.Queues, func(m genesyssim.Membership) bool { return m.MemberBy == genesyssim.MemberByUser })
	})
	if i < 0 {
		t.Fatal("the seeded org has no active agent on queue with direct and group queues and an associated station")
	}
	u := plainActive(b.Sim)[i]
	before := agentNow(t, b, u.ID)
	if got := offboard(t, b, u.ID, "cc-off", true, nil); got != audit.OutcomeCleanedUp {
		t.Fatalf("outcome %s", got)
	}
	after := agentNow(t, b, u.ID)
	var groupOnly []string
	for _, m := range before.Queues {
		if m.MemberBy == genesyssim.MemberByGroup {
			groupOnly = append(groupOnly, m.QueueID+"/group")
		}
	}
	slices.Sort(groupOnly)
	if after.RoutingStatus != genesyssim.RoutingOffQueue || after.Presence != genesyssim.PresenceOffline ||
		!slices.Equal(memberships(after), groupOnly) || after.DefaultStationID != "" || after.AssociatedStationID != "" {
		t.Errorf("after the cleanup: %+v", after)
	}
	ev, clean := b.AuditEvents()["cc-off"], b.AuditEvents()[jobs.CleanupID("cc-off")]
	for _, name := range []string{"presence", "queues", "station"} {
		if _, ok := clean.Steps[name]; !ok {
			t.Errorf("the cleanup event has no steps.%s", name)
		}
	}
	if _, ok := ev.Steps["off_queue"]; !ok {
		t.Error("the deactivation event has no steps.off_queue")
	}

	// Calls per step for this user: the routes the simulator logged for the user (a member's
	// removal names the user as memberId), plus the queue-member reads, which name a queue only.
	per := map[string]int{}
	for _, r := range b.CallsByUser()[u.ID] {
		switch {
		case strings.Contains(r, "/routingstatus"):
			per["off_queue"]++
		case strings.Contains(r, "/presences/"):
			per["presence"]++
		case strings.Contains(r, "/queues") || strings.Contains(r, "/members"):
			per["queues"]++
		case strings.Contains(r, "/station"):
			per["station"]++
		}
	}
	per["presence"] += countRoute(b, presenceDefs) // once per worker: this worker's first user
	per["queues"] += countRoute(b, membersGet)
	direct := len(before.Queues) - len(groupOnly)
	want := map[string]int{"off_queue": 2, "presence": 3, "queues": 1 + len(before.Queues) + direct, "station": 3}
	for name, n := range want {
		if per[name] != n {
			t.Errorf("%s made %d calls, want %d", name, per[name], n)
		}
	}
	t.Logf("calls for an agent in %d queues (%d direct): %v", len(before.Queues), direct, per)

	if st := reactivate(t, b, u.ID, "cc-on"); st.Outcome != audit.OutcomeReactivated {
		t.Fatalf("reactivation: %s %s", st.Outcome, st.Error)
	}
	back := agentNow(t, b, u.ID)
	if !slices.Equal(memberships(back), memberships(before)) || back.DefaultStationID != before.DefaultStationID {
		t.Errorf("after the reactivation queues %v default %q, want %v and %q", memberships(back), back.DefaultStationID, memberships(before), before.DefaultStationID)
	}
}
