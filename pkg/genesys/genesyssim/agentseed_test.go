package genesyssim

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSeededAgentsDeterministicAndPrefixStable(t *testing.T) {
	t.Parallel()
	a, b, small := seedOrg(42, 60), seedOrg(42, 60), seedOrg(42, 20)
	if diff := cmp.Diff(a, b, cmp.AllowUnexported(org{})); diff != "" {
		t.Fatalf("same seed, different orgs (-a +b):\n%s", diff)
	}
	for _, id := range small.order {
		if diff := cmp.Diff(a.agents[id], small.agents[id]); diff != "" {
			t.Errorf("agent %s differs between 20 and 60 users (-60 +20):\n%s", id, diff)
		}
	}
	if diff := cmp.Diff(a.stations[:len(small.stations)], small.stations); diff != "" {
		t.Errorf("stations of 20 users are not a prefix of those of 60 (-60 +20):\n%s", diff)
	}
	if diff := cmp.Diff(a.flows[:len(small.flows)], small.flows); diff != "" {
		t.Errorf("flows of 20 users are not a prefix (-60 +20):\n%s", diff)
	}
	if diff := cmp.Diff(a.oauthClients[:len(small.oauthClients)], small.oauthClients); diff != "" {
		t.Errorf("OAuth clients of 20 users are not a prefix (-60 +20):\n%s", diff)
	}
	// The users themselves are drawn as before the state existed (pinned in org_test.go too).
	if u := seedOrg(1, 3).users[seedOrg(1, 3).order[0]]; u.ID != "749007a2-9498-4ecd-a7b6-efb47f1f7160" {
		t.Errorf("seed 1 user 1 moved: %s", u.ID)
	}
}

func TestSeededAgentsDistribution(t *testing.T) {
	t.Parallel()
	o := seedOrg(1, 500)
	var agents, idle, group, direct, defaults, associated, forwarding, wfm, verifiers int
	for _, id := range o.order {
		u, a := o.users[id], o.agents[id]
		if err := o.checkAgent(id, *a); err != nil {
			t.Fatalf("seeded state of %s is invalid: %v", u.UserName, err)
		}
		verifiers += len(a.Verifiers)
		for _, m := range a.Queues {
			if m.MemberBy == MemberByGroup {
				group++
			} else {
				direct++
			}
		}
		if u.Title != "Agent" && u.Title != "Supervisor" {
			if a.DefaultStationID != "" || a.Forwarding.Enabled || a.ManagementUnitID != "" || a.RoutingStatus != RoutingOffQueue {
				t.Errorf("non-agent %s has agent state %+v", u.UserName, a)
			}
			continue
		}
		agents++
		if a.RoutingStatus == RoutingIdle {
			idle++
			if a.Presence != PresenceOnQueue || !u.Active {
				t.Errorf("IDLE agent %s has presence %q, active %t", u.UserName, a.Presence, u.Active)
			}
		}
		for n, ok := range map[*int]bool{&defaults: a.DefaultStationID != "", &associated: a.AssociatedStationID != "",
			&forwarding: a.Forwarding.Enabled, &wfm: a.ManagementUnitID != ""} {
			if ok {
				*n++
			}
		}
	}
	for name, n := range map[string]int{"agents": agents, "idle": idle, "group": group, "direct": direct, "default stations": defaults,
		"associated": associated, "forwarding": forwarding, "wfm": wfm, "verifiers": verifiers} {
		if n < 20 {
			t.Errorf("only %d %s among 500 users", n, name)
		}
	}
	var lockedByAgent, clientsByAdmin, clientsByAgent int
	for _, f := range o.flows {
		if u, ok := o.users[f.LockedBy]; ok && (u.Title == "Agent" || u.Title == "Supervisor") {
			lockedByAgent++
		}
	}
	for _, c := range o.oauthClients {
		switch u := o.users[c.CreatedBy]; {
		case u == nil:
		case u.Title == "Administrator":
			clientsByAdmin++
		default:
			clientsByAgent++
		}
	}
	if lockedByAgent < 5 || clientsByAdmin < 5 || clientsByAgent < 2 {
		t.Errorf("flows locked by agents %d, clients by admins %d, by agents %d", lockedByAgent, clientsByAdmin, clientsByAgent)
	}
}

func TestSeededAgentArchetypes(t *testing.T) {
	t.Parallel()
	o := seedOrg(7, 4)
	leaver, active, supervisor := o.agents[o.order[1]], o.agents[o.order[2]], o.agents[o.order[3]]
	groups := func(a *AgentState) (n int) {
		for _, m := range a.Queues {
			if m.MemberBy == MemberByGroup {
				n++
			}
		}
		return n
	}
	if leaver.RoutingStatus != RoutingOffQueue || leaver.Presence != PresenceOffline || groups(leaver) != 2 ||
		leaver.DefaultStationID == "" || !leaver.Forwarding.Enabled || leaver.ManagementUnitID == "" || len(leaver.Verifiers) != 2 {
		t.Errorf("user 2 (inactive agent) = %+v", leaver)
	}
	if active.RoutingStatus != RoutingIdle || active.AssociatedStationID != active.DefaultStationID || active.DefaultStationID == "" ||
		groups(active) != 2 || !active.Forwarding.Enabled || len(active.Verifiers) != 2 {
		t.Errorf("user 3 (active agent) = %+v", active)
	}
	if supervisor.RoutingStatus != RoutingIdle || groups(supervisor) != 1 || supervisor.DefaultStationID == "" ||
		supervisor.AssociatedStationID != "" || supervisor.Forwarding.Enabled || len(supervisor.Verifiers) != 1 {
		t.Errorf("user 4 (supervisor) = %+v", supervisor)
	}
	locked := map[string]bool{}
	for _, f := range o.flows {
		locked[f.LockedBy] = true
	}
	created := map[string]bool{}
	for _, c := range o.oauthClients {
		created[c.CreatedBy] = true
	}
	if !locked[o.order[1]] || !locked[o.order[2]] || locked[o.order[3]] || !created[o.order[0]] || !created[o.order[2]] {
		t.Errorf("locked flows %v, OAuth clients created by %v", locked, created)
	}
}
