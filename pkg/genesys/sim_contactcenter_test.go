package genesys_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

// The contact-center calls against the simulator: each call's answer as the
// client decodes it, and the change as it lands in the simulator's state.
//
// The seeded org's users 2, 3 and 4 (Users()[1:4]) are fixed archetypes
// (genesyssim doc.go):
// 2 an inactive agent holding everything, 3 an active agent on queue holding
// everything (station associated, forwarding on, a WFM unit, a locked flow),
// 4 an active supervisor with a group queue membership and a default station.

const (
	inactiveAgent = 1
	activeAgent   = 2
	supervisor    = 3
)

func seededUser(t *testing.T, sim *genesyssim.TestServer, i int) genesyssim.User {
	t.Helper()
	users := sim.Users()
	if len(users) <= i {
		t.Fatalf("org has %d users, want more than %d", len(users), i)
	}
	return users[i]
}

func agentOf(t *testing.T, sim *genesyssim.TestServer, id string) genesyssim.AgentState {
	t.Helper()
	a, ok := sim.Agent(id)
	if !ok {
		t.Fatalf("no agent state for %s", id)
	}
	return a
}

func presenceName(t *testing.T, sim *genesyssim.TestServer, id string) string {
	t.Helper()
	for _, d := range sim.PresenceDefinitions() {
		if d.ID == id {
			return d.SystemPresence
		}
	}
	t.Fatalf("no presence definition %s", id)
	return ""
}

func presenceID(t *testing.T, sim *genesyssim.TestServer, name string) string {
	t.Helper()
	for _, d := range sim.PresenceDefinitions() {
		if d.SystemPresence == name {
			return d.ID
		}
	}
	t.Fatalf("no presence definition %s", name)
	return ""
}

// clientAs is a second client on sim, authenticating as the simulator
// client id (which must be in the sim's Config.Clients with otherSecret).
func clientAs(t *testing.T, sim *genesyssim.TestServer, id string) *genesys.Client {
	t.Helper()
	c, err := genesys.NewClient(sim.URL, genesys.WithCredentials(id, otherSecret),
		genesys.WithLimiter(genesys.NewRateLimiter(100000, time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// otherSecret is the secret of the further clients; long enough that the
// client's redaction of its secret from errors leaves their text readable.
const otherSecret = "sim-other-secret"

// A user id no seeded org has (the simulator's seeded ids are random).
const nobody = "00000000-0000-4000-8000-0000000000aa"

func TestSimRoutingStatusRoundTrip(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	u := seededUser(t, sim, activeAgent)
	rs, _, err := c.Routing.Status(t.Context(), u.ID)
	if err != nil || rs.Status != genesys.RoutingIdle || rs.UserID != u.ID || rs.StartTime == "" {
		t.Fatalf("Status = %+v, %v; want IDLE for the seeded agent", rs, err)
	}
	rs, resp, err := c.Routing.SetStatus(t.Context(), u.ID, genesys.RoutingOffQueue)
	if err != nil || resp.StatusCode != 200 || rs.Status != genesys.RoutingOffQueue || rs.UserID != u.ID {
		t.Fatalf("SetStatus = %+v, %v", rs, err)
	}
	if a := agentOf(t, sim, u.ID); a.RoutingStatus != genesyssim.RoutingOffQueue {
		t.Errorf("simulator routing status %s after SetStatus(OFF_QUEUE)", a.RoutingStatus)
	}
	if rs, _, _ := c.Routing.Status(t.Context(), u.ID); rs.Status != genesys.RoutingOffQueue {
		t.Errorf("Status after SetStatus = %+v", rs)
	}
	// Back on queue: the undo of a manual change, and the presence follows.
	if _, _, err := c.Routing.SetStatus(t.Context(), u.ID, genesys.RoutingIdle); err != nil {
		t.Fatal(err)
	}
	if a := agentOf(t, sim, u.ID); a.RoutingStatus != genesyssim.RoutingIdle || a.Presence != genesyssim.PresenceOnQueue {
		t.Errorf("simulator after SetStatus(IDLE) = %s, %s", a.RoutingStatus, a.Presence)
	}
	// Genesys answers OFF_QUEUE for a user that does not exist (SDK), and
	// a PUT for one is a 404.
	if rs, _, err := c.Routing.Status(t.Context(), nobody); err != nil || rs.Status != genesys.RoutingOffQueue {
		t.Errorf("Status(unknown) = %+v, %v; want OFF_QUEUE", rs, err)
	}
	if _, _, err := c.Routing.SetStatus(t.Context(), nobody, genesys.RoutingOffQueue); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("SetStatus(unknown) = %v, want ErrNotFound", err)
	}
}

func TestSimPresenceRoundTrip(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	defs, resp, err := c.Presence.Definitions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if q := resp.Request.URL.Query(); q.Has("pageSize") {
		t.Errorf("Definitions sent pageSize=%s; the SDK documents no paging for it", q.Get("pageSize"))
	}
	want := sim.PresenceDefinitions()
	if len(defs) != len(want) {
		t.Fatalf("Definitions = %d, want %d", len(defs), len(want))
	}
	for i, d := range defs {
		if d.ID != want[i].ID || d.SystemPresence != want[i].SystemPresence || d.Type != "System" || d.Deactivated ||
			d.LanguageLabels["en_US"] != want[i].SystemPresence {
			t.Errorf("definition %d = %+v, want %+v", i, d, want[i])
		}
	}

	u := seededUser(t, sim, activeAgent)
	p, _, err := c.Presence.Get(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a := agentOf(t, sim, u.ID); p.PresenceDefinition.SystemPresence != a.Presence ||
		p.PresenceDefinition.ID != presenceID(t, sim, a.Presence) || p.Source != "PURECLOUD" || p.ModifiedDate == "" {
		t.Errorf("Get = %+v, simulator presence %s", p, a.Presence)
	}
	offline := presenceID(t, sim, genesyssim.PresenceOffline)
	p, _, err = c.Presence.Set(t.Context(), u.ID, offline)
	if err != nil || p.PresenceDefinition.ID != offline || p.PresenceDefinition.SystemPresence != genesys.PresenceOffline {
		t.Fatalf("Set(Offline) = %+v, %v", p, err)
	}
	if a := agentOf(t, sim, u.ID); a.Presence != genesyssim.PresenceOffline || a.RoutingStatus != genesyssim.RoutingOffQueue {
		t.Errorf("simulator after Set(Offline) = %s, %s; want Offline, OFF_QUEUE", a.Presence, a.RoutingStatus)
	}
	if p, _, _ := c.Presence.Get(t.Context(), u.ID); presenceName(t, sim, p.PresenceDefinition.ID) != genesyssim.PresenceOffline {
		t.Errorf("Get after Set = %+v", p)
	}

	if _, _, err := c.Presence.Get(t.Context(), nobody); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
	if _, _, err := c.Presence.Set(t.Context(), nobody, offline); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("Set(unknown user) = %v, want ErrNotFound", err)
	}
	if _, _, err := c.Presence.Set(t.Context(), u.ID, nobody); !errors.Is(err, genesys.ErrBadRequest) {
		t.Errorf("Set(unknown definition) = %v, want ErrBadRequest", err)
	}
}

// members is what the simulator's state says queueID's members are.
func members(t *testing.T, sim *genesyssim.TestServer, queueID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, u := range sim.Users() {
		if u.Deleted {
			continue
		}
		for _, m := range agentOf(t, sim, u.ID).Queues {
			if m.QueueID == queueID {
				out[u.ID] = m.MemberBy
			}
		}
	}
	return out
}

func TestSimQueueMembersRoundTrip(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 40})
	sup := seededUser(t, sim, supervisor)
	var groupQueue string
	for _, m := range agentOf(t, sim, sup.ID).Queues {
		if m.MemberBy == genesyssim.MemberByGroup {
			groupQueue = m.QueueID
		}
	}
	if groupQueue == "" {
		t.Fatal("the seeded supervisor has no group membership")
	}
	want := members(t, sim, groupQueue)
	got, resps, err := c.Routing.QueueMembers(t.Context(), groupQueue, genesys.QueueMemberOptions{})
	if err != nil || len(resps) != 1 {
		t.Fatalf("QueueMembers = %d members, %d pages, %v", len(got), len(resps), err)
	}
	if len(got) != len(want) {
		t.Errorf("QueueMembers = %d members, simulator has %d", len(got), len(want))
	}
	for _, m := range got {
		if want[m.ID] != m.MemberBy || !m.Joined || m.Name == "" {
			t.Errorf("member %+v, simulator memberBy %q", m, want[m.ID])
		}
	}
	for _, by := range []string{genesys.MemberByUser, genesys.MemberByGroup} {
		got, _, err := c.Routing.QueueMembers(t.Context(), groupQueue, genesys.QueueMemberOptions{MemberBy: by})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range want {
			if v == by {
				n++
			}
		}
		if len(got) != n || slices.ContainsFunc(got, func(m genesys.QueueMember) bool { return m.MemberBy != by }) {
			t.Errorf("memberBy=%s: %d members, want %d", by, len(got), n)
		}
	}
	got, _, err = c.Routing.QueueMembers(t.Context(), groupQueue, genesys.QueueMemberOptions{Name: sup.DisplayName})
	if err != nil || !slices.ContainsFunc(got, func(m genesys.QueueMember) bool { return m.ID == sup.ID }) {
		t.Errorf("name=%q: %+v, %v", sup.DisplayName, got, err)
	}

	// A member through a group cannot be removed on its own (the default).
	if _, err := c.Routing.RemoveMember(t.Context(), groupQueue, sup.ID); !errors.Is(err, genesys.ErrBadRequest) {
		t.Errorf("RemoveMember(group member) = %v, want ErrBadRequest", err)
	}
	if members(t, sim, groupQueue)[sup.ID] != genesyssim.MemberByGroup {
		t.Error("a refused removal changed the membership")
	}

	// A direct member: removed, gone from the simulator and the listing;
	// added back as a direct member.
	agent := seededUser(t, sim, activeAgent)
	direct := ""
	for _, m := range agentOf(t, sim, agent.ID).Queues {
		if m.MemberBy == genesyssim.MemberByUser {
			direct = m.QueueID
			break
		}
	}
	if direct == "" {
		t.Fatal("the seeded agent has no direct membership")
	}
	resp, err := c.Routing.RemoveMember(t.Context(), direct, agent.ID)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("RemoveMember = %v, %v", resp, err)
	}
	if _, still := members(t, sim, direct)[agent.ID]; still {
		t.Error("the removed member is still in the simulator's queue")
	}
	got, _, _ = c.Routing.QueueMembers(t.Context(), direct, genesys.QueueMemberOptions{})
	if slices.ContainsFunc(got, func(m genesys.QueueMember) bool { return m.ID == agent.ID }) {
		t.Error("the removed member is still listed")
	}
	// Removing again: the simulator answers 404 (what Genesys answers for a
	// non-member is not documented); the client types it, so that a caller
	// can count it as already done.
	if _, err := c.Routing.RemoveMember(t.Context(), direct, agent.ID); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("RemoveMember again = %v, want ErrNotFound", err)
	}
	resp, err = c.Routing.AddMembers(t.Context(), direct, []string{agent.ID})
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("AddMembers = %v, %v", resp, err)
	}
	if by := members(t, sim, direct)[agent.ID]; by != genesyssim.MemberByUser {
		t.Errorf("after AddMembers the simulator has memberBy %q, want user", by)
	}
	// Adding an existing member again changes nothing and succeeds.
	if _, err := c.Routing.AddMembers(t.Context(), direct, []string{agent.ID}); err != nil {
		t.Errorf("AddMembers again = %v", err)
	}

	unknownQueue := "00000000-0000-4000-8000-00000000abcd"
	if _, _, err := c.Routing.QueueMembers(t.Context(), unknownQueue, genesys.QueueMemberOptions{}); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("QueueMembers(unknown queue) = %v, want ErrNotFound", err)
	}
	if _, err := c.Routing.RemoveMember(t.Context(), unknownQueue, agent.ID); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("RemoveMember(unknown queue) = %v, want ErrNotFound", err)
	}
	if _, err := c.Routing.AddMembers(t.Context(), direct, []string{nobody}); !errors.Is(err, genesys.ErrBadRequest) {
		t.Errorf("AddMembers(unknown user) = %v, want ErrBadRequest", err)
	}
}

func TestSimRemoveGroupMemberSwitch(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("RemoveGroupMembers=%t", on), func(t *testing.T) {
			t.Parallel()
			c, sim := newSim(t, genesyssim.Config{Users: 10, RemoveGroupMembers: on})
			sup := seededUser(t, sim, supervisor)
			i := slices.IndexFunc(agentOf(t, sim, sup.ID).Queues, func(m genesyssim.Membership) bool {
				return m.MemberBy == genesyssim.MemberByGroup
			})
			if i < 0 {
				t.Fatal("the seeded supervisor has no group membership")
			}
			q := agentOf(t, sim, sup.ID).Queues[i].QueueID
			_, err := c.Routing.RemoveMember(t.Context(), q, sup.ID)
			_, still := members(t, sim, q)[sup.ID]
			switch {
			case on && (err != nil || still):
				t.Errorf("RemoveMember = %v, still a member %t; want removed", err, still)
			case !on && (!errors.Is(err, genesys.ErrBadRequest) || !still):
				t.Errorf("RemoveMember = %v, still a member %t; want ErrBadRequest and kept", err, still)
			}
		})
	}
}

func TestSimQueueMembersEveryPage(t *testing.T) {
	t.Parallel()
	const n = 250
	c, sim := newSim(t, genesyssim.Config{Users: n + 10})
	q := sim.Queues()[0].ID
	for _, u := range sim.Users() {
		a := agentOf(t, sim, u.ID)
		if !slices.ContainsFunc(a.Queues, func(m genesyssim.Membership) bool { return m.QueueID == q }) {
			a.Queues = append(a.Queues, genesyssim.Membership{QueueID: q, MemberBy: genesyssim.MemberByUser})
			if err := sim.SetAgent(u.ID, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := members(t, sim, q)
	if len(want) < n {
		t.Fatalf("only %d members set up", len(want))
	}
	got, resps, err := c.Routing.QueueMembers(t.Context(), q, genesys.QueueMemberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pages := (len(want) + 99) / 100
	if len(got) != len(want) || len(resps) != pages {
		t.Errorf("QueueMembers = %d members in %d pages, want %d in %d", len(got), len(resps), len(want), pages)
	}
	seen := map[string]bool{}
	for _, m := range got {
		if seen[m.ID] || want[m.ID] == "" {
			t.Errorf("member %s repeated or not a member", m.ID)
		}
		seen[m.ID] = true
	}
	for i, r := range resps {
		if q := r.Request.URL.Query(); q.Get("pageSize") != "100" || q.Get("pageNumber") != fmt.Sprint(i+1) {
			t.Errorf("page %d asked with %s", i+1, r.Request.URL.RawQuery)
		}
	}
}

func TestSimStationsRoundTrip(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	u := seededUser(t, sim, activeAgent)
	before := agentOf(t, sim, u.ID)
	if before.AssociatedStationID == "" || before.DefaultStationID == "" {
		t.Fatalf("the seeded agent has stations %+v", before)
	}
	st, _, err := c.Stations.Get(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.AssociatedStation == nil || st.AssociatedStation.ID != before.AssociatedStationID || st.AssociatedStation.Name == "" ||
		st.DefaultStation == nil || st.DefaultStation.ID != before.DefaultStationID ||
		st.EffectiveStation == nil || st.EffectiveStation.ID != before.AssociatedStationID || st.LastAssociatedStation != nil {
		t.Errorf("Get = %+v, simulator %+v", st, before)
	}

	if resp, err := c.Stations.ClearAssociated(t.Context(), u.ID); err != nil || resp.StatusCode != 204 {
		t.Fatalf("ClearAssociated = %v, %v", resp, err)
	}
	if a := agentOf(t, sim, u.ID); a.AssociatedStationID != "" || a.LastAssociatedStationID != before.AssociatedStationID {
		t.Errorf("simulator after ClearAssociated = %+v", a)
	}
	st, _, _ = c.Stations.Get(t.Context(), u.ID)
	if st.AssociatedStation != nil || st.LastAssociatedStation == nil || st.LastAssociatedStation.ID != before.AssociatedStationID ||
		st.EffectiveStation == nil || st.EffectiveStation.ID != before.DefaultStationID {
		t.Errorf("Get after ClearAssociated = %+v", st)
	}

	if resp, err := c.Stations.ClearDefault(t.Context(), u.ID); err != nil || resp.StatusCode != 204 {
		t.Fatalf("ClearDefault = %v, %v", resp, err)
	}
	if a := agentOf(t, sim, u.ID); a.DefaultStationID != "" {
		t.Errorf("simulator default station %s after ClearDefault", a.DefaultStationID)
	}
	st, _, _ = c.Stations.Get(t.Context(), u.ID)
	if st.DefaultStation != nil || st.EffectiveStation != nil {
		t.Errorf("Get after ClearDefault = %+v", st)
	}
	// Clearing what is already clear succeeds (the simulator answers 204).
	if _, err := c.Stations.ClearDefault(t.Context(), u.ID); err != nil {
		t.Errorf("ClearDefault again = %v", err)
	}

	// Undo: the recorded default station back.
	if resp, err := c.Stations.SetDefault(t.Context(), u.ID, before.DefaultStationID); err != nil || resp.StatusCode != 204 {
		t.Fatalf("SetDefault = %v, %v", resp, err)
	}
	if a := agentOf(t, sim, u.ID); a.DefaultStationID != before.DefaultStationID {
		t.Errorf("simulator default station %s after SetDefault, want %s", a.DefaultStationID, before.DefaultStationID)
	}

	for name, call := range map[string]func() error{
		"Get":             func() error { _, _, err := c.Stations.Get(t.Context(), nobody); return err },
		"ClearAssociated": func() error { _, err := c.Stations.ClearAssociated(t.Context(), nobody); return err },
		"ClearDefault":    func() error { _, err := c.Stations.ClearDefault(t.Context(), nobody); return err },
		"SetDefault(unknown user)": func() error {
			_, err := c.Stations.SetDefault(t.Context(), nobody, before.DefaultStationID)
			return err
		},
		"SetDefault(unknown station)": func() error {
			_, err := c.Stations.SetDefault(t.Context(), u.ID, "00000000-0000-4000-8000-00000000dddd")
			return err
		},
	} {
		if err := call(); !errors.Is(err, genesys.ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", name, err)
		}
	}
}

func TestSimTakeDefaultStationSwitch(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("TakeDefaultStation=%t", on), func(t *testing.T) {
			t.Parallel()
			c, sim := newSim(t, genesyssim.Config{Users: 10, TakeDefaultStation: on})
			owner, taker := seededUser(t, sim, supervisor), seededUser(t, sim, activeAgent)
			station := agentOf(t, sim, owner.ID).DefaultStationID
			if station == "" {
				t.Fatal("the seeded supervisor has no default station")
			}
			_, err := c.Stations.SetDefault(t.Context(), taker.ID, station)
			ownerHas := agentOf(t, sim, owner.ID).DefaultStationID == station
			takerHas := agentOf(t, sim, taker.ID).DefaultStationID == station
			switch {
			case on && (err != nil || ownerHas || !takerHas):
				t.Errorf("SetDefault = %v; owner keeps it %t, taker has it %t; want taken", err, ownerHas, takerHas)
			case !on && (!errors.Is(err, genesys.ErrConflict) || !ownerHas || takerHas):
				t.Errorf("SetDefault = %v; owner keeps it %t, taker has it %t; want ErrConflict and kept", err, ownerHas, takerHas)
			}
		})
	}
}

func TestSimCallForwardingRoundTrip(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	u := seededUser(t, sim, activeAgent)
	before := agentOf(t, sim, u.ID).Forwarding
	if !before.Enabled || len(before.Targets) == 0 {
		t.Fatalf("the seeded agent's forwarding is %+v", before)
	}
	cf, _, err := c.CallForwarding.Get(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantTargets := func(cf *genesys.CallForwarding) bool {
		var got []genesys.ForwardingTarget
		for _, call := range cf.Calls {
			got = append(got, call.Targets...)
		}
		if len(got) != len(before.Targets) {
			return false
		}
		for i, tg := range before.Targets {
			if got[i].Type != tg.Type || got[i].Value != tg.Value {
				return false
			}
		}
		return true
	}
	if !cf.Enabled || !wantTargets(cf) || cf.Voicemail != before.Voicemail {
		t.Errorf("Get = %+v, simulator %+v", cf, before)
	}

	// Off, targets kept: the step's change.
	cf, resp, err := c.CallForwarding.Patch(t.Context(), u.ID, genesys.CallForwarding{Enabled: false})
	if err != nil || resp.StatusCode != 200 || cf.Enabled || !wantTargets(cf) {
		t.Fatalf("Patch(off) = %+v, %v", cf, err)
	}
	if a := agentOf(t, sim, u.ID).Forwarding; a.Enabled || len(a.Targets) != len(before.Targets) || a.Voicemail != before.Voicemail {
		t.Errorf("simulator after Patch(off) = %+v", a)
	}
	// Back on with the recorded targets: the undo.
	var calls []genesys.ForwardingCall
	for _, tg := range before.Targets {
		calls = append(calls, genesys.ForwardingCall{Targets: []genesys.ForwardingTarget{{Type: tg.Type, Value: tg.Value}}})
	}
	cf, _, err = c.CallForwarding.Patch(t.Context(), u.ID, genesys.CallForwarding{Enabled: true, Calls: calls, Voicemail: before.Voicemail})
	if err != nil || !cf.Enabled || !wantTargets(cf) {
		t.Fatalf("Patch(back) = %+v, %v", cf, err)
	}
	if a := agentOf(t, sim, u.ID).Forwarding; !a.Enabled {
		t.Errorf("simulator after Patch(back) = %+v", a)
	}
	// Forwarding on with nowhere to forward to is refused.
	sup := seededUser(t, sim, supervisor)
	if f := agentOf(t, sim, sup.ID).Forwarding; len(f.Targets) == 0 {
		if _, _, err := c.CallForwarding.Patch(t.Context(), sup.ID, genesys.CallForwarding{Enabled: true}); !errors.Is(err, genesys.ErrBadRequest) {
			t.Errorf("Patch(on, no targets) = %v, want ErrBadRequest", err)
		}
	}
	if _, _, err := c.CallForwarding.Get(t.Context(), nobody); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
	}
	if _, _, err := c.CallForwarding.Patch(t.Context(), nobody, genesys.CallForwarding{}); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("Patch(unknown) = %v, want ErrNotFound", err)
	}
}

func lockedBy(sim *genesyssim.TestServer, userID string) map[string]genesyssim.Flow {
	out := map[string]genesyssim.Flow{}
	for _, f := range sim.Flows() {
		if f.LockedBy == userID {
			out[f.ID] = f
		}
	}
	return out
}

func TestSimFlowsRoundTrip(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	u := seededUser(t, sim, activeAgent)
	want := lockedBy(sim, u.ID)
	if len(want) == 0 {
		t.Fatal("the seeded agent locks no flow")
	}
	flows, resps, err := c.Flows.LockedBy(t.Context(), u.ID)
	if err != nil || len(resps) != 1 || len(flows) != len(want) {
		t.Fatalf("LockedBy = %+v, %d pages, %v; want %d flows", flows, len(resps), err, len(want))
	}
	for _, f := range flows {
		w := want[f.ID]
		if f.Name != w.Name || f.Type != w.Type || f.LockedUser == nil || f.LockedUser.ID != u.ID {
			t.Errorf("flow %+v, simulator %+v", f, w)
		}
	}
	f, resp, err := c.Flows.Unlock(t.Context(), flows[0].ID)
	if err != nil || resp.StatusCode != 200 || f.ID != flows[0].ID || f.LockedUser != nil {
		t.Fatalf("Unlock = %+v, %v", f, err)
	}
	if _, still := lockedBy(sim, u.ID)[flows[0].ID]; still {
		t.Error("the simulator's flow is still locked")
	}
	if after, _, _ := c.Flows.LockedBy(t.Context(), u.ID); len(after) != len(want)-1 {
		t.Errorf("LockedBy after Unlock = %d flows, want %d", len(after), len(want)-1)
	}
	// Unlocking an unlocked flow succeeds; an unknown flow is a 404.
	if _, _, err := c.Flows.Unlock(t.Context(), flows[0].ID); err != nil {
		t.Errorf("Unlock again = %v", err)
	}
	if _, _, err := c.Flows.Unlock(t.Context(), "00000000-0000-4000-8000-00000000ffff"); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("Unlock(unknown) = %v, want ErrNotFound", err)
	}
	if got, _, err := c.Flows.LockedBy(t.Context(), nobody); err != nil || len(got) != 0 {
		t.Errorf("LockedBy(unknown) = %+v, %v; want none", got, err)
	}
}

func TestSimFlowsEveryPage(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	u := seededUser(t, sim, supervisor)
	for i := range 230 {
		if err := sim.SetFlow(genesyssim.Flow{ID: fmt.Sprintf("f10e0000-9999-4000-8000-%012d", i), Name: fmt.Sprintf("draft %d", i),
			Type: "inboundcall", LockedBy: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	want := lockedBy(sim, u.ID)
	flows, resps, err := c.Flows.LockedBy(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	pages := (len(want) + 99) / 100
	if len(flows) != len(want) || len(resps) != pages {
		t.Errorf("LockedBy = %d flows in %d pages, want %d in %d", len(flows), len(resps), len(want), pages)
	}
	for _, f := range flows {
		if _, ok := want[f.ID]; !ok {
			t.Errorf("flow %s is not locked by the user", f.ID)
		}
	}
	for i, r := range resps {
		if q := r.Request.URL.Query(); q.Get("lockedBy") != u.ID || q.Get("pageSize") != "100" || q.Get("pageNumber") != fmt.Sprint(i+1) {
			t.Errorf("page %d asked with %s", i+1, r.Request.URL.RawQuery)
		}
	}
}

func TestSimOAuthClientsRoundTrip(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 30})
	byCreator := map[string][]genesyssim.OAuthClient{}
	for _, cl := range sim.OAuthClients() {
		if cl.CreatedBy != "" {
			byCreator[cl.CreatedBy] = append(byCreator[cl.CreatedBy], cl)
		}
	}
	if len(byCreator) == 0 {
		t.Fatal("no seeded OAuth client has a creator")
	}
	var creator string
	for id := range byCreator {
		creator = id
		break
	}
	got, resps, err := c.OAuthClients.CreatedBy(t.Context(), creator)
	if err != nil || len(got) != len(byCreator[creator]) {
		t.Fatalf("CreatedBy = %+v, %v; want %d", got, err, len(byCreator[creator]))
	}
	if q := resps[0].Request.URL.Query(); len(resps) != 1 || q.Has("pageSize") {
		t.Errorf("CreatedBy read %d pages, the first with %q; the SDK documents no parameters", len(resps), resps[0].Request.URL.RawQuery)
	}
	for i, cl := range got {
		w := byCreator[creator][i]
		if cl.ID != w.ID || cl.Name != w.Name || cl.State != w.State || cl.AuthorizedGrantType != w.AuthorizedGrantType ||
			cl.CreatedBy == nil || cl.CreatedBy.ID != creator {
			t.Errorf("client %+v, simulator %+v", cl, w)
		}
	}
	target := byCreator[creator][0]
	cl, resp, err := c.OAuthClients.SetState(t.Context(), target.ID, genesys.OAuthClientDisabled)
	if err != nil || resp.StatusCode != 200 || cl.State != genesys.OAuthClientDisabled || cl.ID != target.ID {
		t.Fatalf("SetState(Disabled) = %+v, %v", cl, err)
	}
	stored := func() genesyssim.OAuthClient {
		for _, x := range sim.OAuthClients() {
			if x.ID == target.ID {
				return x
			}
		}
		t.Fatalf("client %s gone", target.ID)
		return genesyssim.OAuthClient{}
	}
	after := stored()
	want := target
	want.State = genesyssim.OAuthClientDisabled
	if after != want {
		t.Errorf("simulator after SetState = %+v, want %+v (every other field kept)", after, want)
	}
	if _, _, err := c.OAuthClients.SetState(t.Context(), target.ID, genesys.OAuthClientActive); err != nil || stored() != target {
		t.Errorf("SetState(Active) = %v; simulator %+v, want %+v", err, stored(), target)
	}
	if got, _, err := c.OAuthClients.CreatedBy(t.Context(), nobody); err != nil || len(got) != 0 {
		t.Errorf("CreatedBy(unknown) = %+v, %v", got, err)
	}
	if _, _, err := c.OAuthClients.SetState(t.Context(), "00000000-0000-4000-8000-0000000000cc", genesys.OAuthClientDisabled); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("SetState(unknown) = %v, want ErrNotFound", err)
	}
}

func TestSimWFMRoundTrip(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	u := seededUser(t, sim, activeAgent)
	unitID := agentOf(t, sim, u.ID).ManagementUnitID
	if unitID == "" {
		t.Fatal("the seeded agent is in no unit")
	}
	var unitName string
	for _, mu := range sim.ManagementUnits() {
		if mu.ID == unitID {
			unitName = mu.Name
		}
	}
	mu, _, err := c.WFM.ManagementUnit(t.Context(), u.ID)
	if err != nil || mu == nil || mu.ManagementUnit == nil || mu.ManagementUnit.ID != unitID || mu.ManagementUnit.Name != unitName ||
		mu.User == nil || mu.User.ID != u.ID || mu.BusinessUnit == nil || mu.BusinessUnit.ID == "" {
		t.Fatalf("ManagementUnit = %+v, %v; want unit %s", mu, err, unitID)
	}
	resp, err := c.WFM.MoveAgents(t.Context(), []string{u.ID}, "")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("MoveAgents(out) = %v, %v", resp, err)
	}
	if a := agentOf(t, sim, u.ID); a.ManagementUnitID != "" {
		t.Errorf("simulator unit %s after MoveAgents(out)", a.ManagementUnitID)
	}
	// In no unit the simulator answers 200 with the user only; the client
	// reads that as no unit.
	mu, resp, err = c.WFM.ManagementUnit(t.Context(), u.ID)
	if err != nil || mu != nil || resp.StatusCode != 200 {
		t.Errorf("ManagementUnit in no unit = %+v, %v, %v; want nil, 200, nil", mu, resp, err)
	}
	if _, err := c.WFM.MoveAgents(t.Context(), []string{u.ID}, unitID); err != nil {
		t.Fatalf("MoveAgents(back) = %v", err)
	}
	if a := agentOf(t, sim, u.ID); a.ManagementUnitID != unitID {
		t.Errorf("simulator unit %q after MoveAgents(back), want %s", a.ManagementUnitID, unitID)
	}
	// An unknown user: 404, which the client also reads as no unit.
	mu, resp, err = c.WFM.ManagementUnit(t.Context(), nobody)
	if err != nil || mu != nil || resp.StatusCode != 404 {
		t.Errorf("ManagementUnit(unknown) = %+v, %v, %v; want nil, 404, nil", mu, resp, err)
	}
	if _, err := c.WFM.MoveAgents(t.Context(), []string{u.ID}, "00000000-0000-4000-8000-00000000cccc"); !errors.Is(err, genesys.ErrBadRequest) {
		t.Errorf("MoveAgents(unknown unit) = %v, want ErrBadRequest", err)
	}
}

func TestSimVerifiersRoundTrip(t *testing.T) {
	t.Parallel()
	c, sim := newSim(t, genesyssim.Config{Users: 10})
	u := seededUser(t, sim, inactiveAgent)
	want := agentOf(t, sim, u.ID).Verifiers
	if len(want) < 2 {
		t.Fatalf("the seeded agent has %d verifiers", len(want))
	}
	vs, _, err := c.Users.Verifiers(t.Context(), u.ID)
	if err != nil || len(vs) != len(want) {
		t.Fatalf("Verifiers = %+v, %v; want %d", vs, err, len(want))
	}
	for i, v := range vs {
		// The SDK's Verifier has id, name, enabled, default and no type:
		// the simulator keeps its own label and does not send it.
		if v.ID != want[i].ID || v.Name != want[i].Name || v.Default != want[i].Default || !v.Enabled || v.Type != "" {
			t.Errorf("verifier %+v, simulator %+v", v, want[i])
		}
	}
	resp, err := c.Users.DeleteVerifier(t.Context(), u.ID, vs[0].ID)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("DeleteVerifier = %v, %v", resp, err)
	}
	after := agentOf(t, sim, u.ID).Verifiers
	if len(after) != len(want)-1 || slices.ContainsFunc(after, func(v genesyssim.Verifier) bool { return v.ID == vs[0].ID }) {
		t.Errorf("simulator verifiers after DeleteVerifier = %+v", after)
	}
	if _, err := c.Users.DeleteVerifier(t.Context(), u.ID, vs[0].ID); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("DeleteVerifier again = %v, want ErrNotFound", err)
	}
	if _, _, err := c.Users.Verifiers(t.Context(), nobody); !errors.Is(err, genesys.ErrNotFound) {
		t.Errorf("Verifiers(unknown) = %v, want ErrNotFound", err)
	}
}

// simCall is one contact-center call, run for the seeded active agent, with
// the permissions its route needs (any of them).
type simCall struct {
	name  string
	perms []string
	call  func(ctx context.Context, c *genesys.Client, env callEnv) error
}

type callEnv struct {
	user, queue, spare, flow, oauthClient, unit, offline, verifier string
}

func simCalls() []simCall {
	return []simCall{
		{"Presence.Definitions", []string{"presence:presenceDefinition:view"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.Presence.Definitions(ctx)
			return err
		}},
		{"Routing.QueueMembers", []string{"routing:queue:view", "routing:queue:edit", "routing:queue:readonly", "routing:queueMember:manage"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.Routing.QueueMembers(ctx, e.queue, genesys.QueueMemberOptions{})
			return err
		}},
		{"Routing.RemoveMember", []string{"routing:queue:edit", "routing:queueMember:manage"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, err := c.Routing.RemoveMember(ctx, e.queue, e.user)
			return err
		}},
		{"Routing.AddMembers", []string{"routing:queue:edit", "routing:queueMember:manage"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, err := c.Routing.AddMembers(ctx, e.queue, []string{e.user})
			return err
		}},
		{"Stations.Get", []string{"telephony:otherStationAssociation:view"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.Stations.Get(ctx, e.user)
			return err
		}},
		{"Stations.ClearAssociated", []string{"telephony:station:disassociate"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, err := c.Stations.ClearAssociated(ctx, e.user)
			return err
		}},
		{"Stations.ClearDefault", []string{"telephony:plugin:all", "telephony:phone:assign"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, err := c.Stations.ClearDefault(ctx, e.user)
			return err
		}},
		{"Stations.SetDefault", []string{"telephony:plugin:all", "telephony:phone:assign"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, err := c.Stations.SetDefault(ctx, e.user, e.spare)
			return err
		}},
		{"CallForwarding.Get", []string{"conversation:callForwarding:view"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.CallForwarding.Get(ctx, e.user)
			return err
		}},
		{"CallForwarding.Patch", []string{"conversation:callForwarding:edit"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.CallForwarding.Patch(ctx, e.user, genesys.CallForwarding{})
			return err
		}},
		{"Flows.LockedBy", []string{"architect:flow:view"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.Flows.LockedBy(ctx, e.user)
			return err
		}},
		{"Flows.Unlock", []string{"architect:flow:unlock"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.Flows.Unlock(ctx, e.flow)
			return err
		}},
		{"OAuthClients.CreatedBy", []string{"oauth:client:view"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.OAuthClients.CreatedBy(ctx, e.user)
			return err
		}},
		// SetState reads the client first: it needs both.
		{"OAuthClients.SetState", []string{"oauth:client:view", "oauth:client:edit"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.OAuthClients.SetState(ctx, e.oauthClient, genesys.OAuthClientActive)
			return err
		}},
		{"WFM.ManagementUnit", []string{"wfm:agent:view", "wfm:publishedSchedule:view", "wfm:schedule:view"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.WFM.ManagementUnit(ctx, e.user)
			return err
		}},
		{"WFM.MoveAgents", []string{"wfm:agent:edit"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, err := c.WFM.MoveAgents(ctx, []string{e.user}, e.unit)
			return err
		}},
		{"Users.Verifiers", []string{"mfa:verifier:view"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.Users.Verifiers(ctx, e.user)
			return err
		}},
		{"Users.DeleteVerifier", []string{"mfa:verifier:delete"}, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, err := c.Users.DeleteVerifier(ctx, e.user, e.verifier)
			return err
		}},
		// The SDK lists no permission for these.
		{"Routing.Status", nil, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.Routing.Status(ctx, e.user)
			return err
		}},
		{"Routing.SetStatus", nil, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.Routing.SetStatus(ctx, e.user, genesys.RoutingOffQueue)
			return err
		}},
		{"Presence.Get", nil, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.Presence.Get(ctx, e.user)
			return err
		}},
		{"Presence.Set", nil, func(ctx context.Context, c *genesys.Client, e callEnv) error {
			_, _, err := c.Presence.Set(ctx, e.user, e.offline)
			return err
		}},
	}
}

// permitted: the call went through, or was refused for something other
// than a permission only because an earlier run of it already made the
// change (a second delete of the same verifier or member is a 404).
func permitted(err error) bool { return err == nil || errors.Is(err, genesys.ErrNotFound) }

func envOf(t *testing.T, sim *genesyssim.TestServer) callEnv {
	t.Helper()
	u := seededUser(t, sim, activeAgent)
	a := agentOf(t, sim, u.ID)
	var flow string
	for id := range lockedBy(sim, u.ID) {
		flow = id
	}
	direct := slices.IndexFunc(a.Queues, func(m genesyssim.Membership) bool { return m.MemberBy == genesyssim.MemberByUser })
	if direct < 0 || flow == "" || len(a.Verifiers) == 0 {
		t.Fatalf("the seeded agent %+v lacks a direct queue, a locked flow or a verifier", a)
	}
	return callEnv{user: u.ID, queue: a.Queues[direct].QueueID, spare: sim.Stations()[0].ID, flow: flow,
		oauthClient: sim.OAuthClients()[0].ID, unit: sim.ManagementUnits()[0].ID,
		offline: presenceID(t, sim, genesyssim.PresenceOffline), verifier: a.Verifiers[0].ID}
}

// TestSimContactCenterPermissions runs every call as a client holding no
// permission (403 naming the route's permissions, or success where the SDK
// lists none) and as a client holding only the route's permissions.
func TestSimContactCenterPermissions(t *testing.T) {
	t.Parallel()
	for _, sc := range simCalls() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			clients := []genesyssim.Client{{ID: "none", Secret: otherSecret, Permissions: []string{}}}
			// Client ids without ':' (the Basic user name cannot hold one).
			only := func(i int) string { return fmt.Sprintf("only-%d", i) }
			for i, p := range sc.perms {
				clients = append(clients, genesyssim.Client{ID: only(i), Secret: otherSecret, Permissions: []string{p}})
			}
			clients = append(clients, genesyssim.Client{ID: "all-of-them", Secret: otherSecret, Permissions: sc.perms})
			_, sim := newSim(t, genesyssim.Config{Users: 10, Clients: clients})
			env := envOf(t, sim)
			err := sc.call(t.Context(), clientAs(t, sim, "none"), env)
			if len(sc.perms) == 0 {
				if err != nil {
					t.Errorf("without permissions = %v; the SDK lists none", err)
				}
				return
			}
			if !errors.Is(err, genesys.ErrForbidden) {
				t.Fatalf("without permissions = %v, want ErrForbidden", err)
			}
			// The 403 names the permissions; SetState's first refusal is its GET's.
			if !strings.Contains(err.Error(), sc.perms[0]) {
				t.Errorf("403 %q does not name %s", err, sc.perms[0])
			}
			if sc.name == "OAuthClients.SetState" {
				// Each one alone is not enough: the GET needs view, the PUT edit.
				for i, p := range sc.perms {
					if err := sc.call(t.Context(), clientAs(t, sim, only(i)), env); !errors.Is(err, genesys.ErrForbidden) {
						t.Errorf("with only %s = %v, want ErrForbidden", p, err)
					}
				}
			} else {
				for i, p := range sc.perms {
					if err := sc.call(t.Context(), clientAs(t, sim, only(i)), env); !permitted(err) {
						t.Errorf("with only %s = %v", p, err)
					}
				}
			}
			if err := sc.call(t.Context(), clientAs(t, sim, "all-of-them"), env); !permitted(err) {
				t.Errorf("with %v = %v", sc.perms, err)
			}
		})
	}
}

func TestSimRoutingStatusPermissionSwitch(t *testing.T) {
	t.Parallel()
	const perm = "routing:agent:manage" // any name: which one Genesys enforces is unconfirmed
	for _, required := range []string{"", perm} {
		t.Run(fmt.Sprintf("RoutingStatusPermission=%q", required), func(t *testing.T) {
			t.Parallel()
			_, sim := newSim(t, genesyssim.Config{Users: 10, RoutingStatusPermission: required, Clients: []genesyssim.Client{
				{ID: "none", Secret: otherSecret, Permissions: []string{}}, {ID: "holder", Secret: otherSecret, Permissions: []string{perm}}}})
			u := seededUser(t, sim, activeAgent)
			_, _, err := clientAs(t, sim, "none").Routing.SetStatus(t.Context(), u.ID, genesys.RoutingOffQueue)
			switch {
			case required == "" && err != nil:
				t.Errorf("SetStatus without permissions = %v; none is required", err)
			case required != "" && (!errors.Is(err, genesys.ErrForbidden) || !strings.Contains(err.Error(), perm)):
				t.Errorf("SetStatus without %s = %v, want ErrForbidden naming it", perm, err)
			}
			if required != "" && agentOf(t, sim, u.ID).RoutingStatus != genesyssim.RoutingIdle {
				t.Error("a refused SetStatus changed the routing status")
			}
			if _, _, err := clientAs(t, sim, "holder").Routing.SetStatus(t.Context(), u.ID, genesys.RoutingOffQueue); err != nil {
				t.Errorf("SetStatus with %s = %v", perm, err)
			}
			if agentOf(t, sim, u.ID).RoutingStatus != genesyssim.RoutingOffQueue {
				t.Error("SetStatus did not land")
			}
			// The GET needs nothing in either position.
			if _, _, err := clientAs(t, sim, "none").Routing.Status(t.Context(), u.ID); err != nil {
				t.Errorf("Status without permissions = %v", err)
			}
		})
	}
}

func TestSimPresencePermissionSwitch(t *testing.T) {
	t.Parallel()
	const perm = "presence:userPresence:edit" // the bulk call's; the single PATCH's is unconfirmed
	for _, required := range []string{"", perm} {
		t.Run(fmt.Sprintf("PresencePermission=%q", required), func(t *testing.T) {
			t.Parallel()
			_, sim := newSim(t, genesyssim.Config{Users: 10, PresencePermission: required, Clients: []genesyssim.Client{
				{ID: "none", Secret: otherSecret, Permissions: []string{}}, {ID: "holder", Secret: otherSecret, Permissions: []string{perm}}}})
			u := seededUser(t, sim, activeAgent)
			offline := presenceID(t, sim, genesyssim.PresenceOffline)
			_, _, err := clientAs(t, sim, "none").Presence.Set(t.Context(), u.ID, offline)
			switch {
			case required == "" && err != nil:
				t.Errorf("Set without permissions = %v; none is required", err)
			case required != "" && (!errors.Is(err, genesys.ErrForbidden) || !strings.Contains(err.Error(), perm)):
				t.Errorf("Set without %s = %v, want ErrForbidden naming it", perm, err)
			}
			if required != "" && agentOf(t, sim, u.ID).Presence == genesyssim.PresenceOffline {
				t.Error("a refused Set changed the presence")
			}
			if _, _, err := clientAs(t, sim, "holder").Presence.Set(t.Context(), u.ID, offline); err != nil {
				t.Errorf("Set with %s = %v", perm, err)
			}
			if agentOf(t, sim, u.ID).Presence != genesyssim.PresenceOffline {
				t.Error("Set did not land")
			}
			if _, _, err := clientAs(t, sim, "none").Presence.Get(t.Context(), u.ID); err != nil {
				t.Errorf("Get without permissions = %v", err)
			}
		})
	}
}

// TestSimDeactivationSwitches deactivates the seeded agent holding
// everything, as the worker does, and reads each piece of contact-center
// state back through the client: kept with each switch off, gone with it on.
func TestSimDeactivationSwitches(t *testing.T) {
	t.Parallel()
	type check func(t *testing.T, c *genesys.Client, sim *genesyssim.TestServer, id string, before genesyssim.AgentState) bool
	switches := []struct {
		name    string
		set     func(*genesyssim.Config)
		changed check // whether the client sees the state changed by the deactivation
	}{
		{"OffQueueOnDeactivate", func(c *genesyssim.Config) { c.OffQueueOnDeactivate = true },
			func(t *testing.T, c *genesys.Client, sim *genesyssim.TestServer, id string, _ genesyssim.AgentState) bool {
				rs, _, err := c.Routing.Status(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				p, _, err := c.Presence.Get(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				off := rs.Status == genesys.RoutingOffQueue
				if offline := p.PresenceDefinition.SystemPresence == genesys.PresenceOffline; off != offline {
					t.Errorf("routing %s but presence %s", rs.Status, p.PresenceDefinition.SystemPresence)
				}
				return off
			}},
		{"RemoveQueuesOnDeactivate", func(c *genesyssim.Config) { c.RemoveQueuesOnDeactivate = true },
			func(t *testing.T, c *genesys.Client, sim *genesyssim.TestServer, id string, before genesyssim.AgentState) bool {
				qs, _, err := c.Users.Queues(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				ms, _, err := c.Routing.QueueMembers(t.Context(), before.Queues[0].QueueID, genesys.QueueMemberOptions{})
				if err != nil {
					t.Fatal(err)
				}
				listed := slices.ContainsFunc(ms, func(m genesys.QueueMember) bool { return m.ID == id })
				if gone := len(qs) == 0; gone == listed {
					t.Errorf("user's queues %d but listed as a member %t", len(qs), listed)
				} else if !gone && len(qs) != len(before.Queues) {
					t.Errorf("user's queues %d, want %d", len(qs), len(before.Queues))
				}
				return len(qs) == 0
			}},
		{"ClearStationOnDeactivate", func(c *genesyssim.Config) { c.ClearStationOnDeactivate = true },
			func(t *testing.T, c *genesys.Client, sim *genesyssim.TestServer, id string, before genesyssim.AgentState) bool {
				st, _, err := c.Stations.Get(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				if cleared := st.DefaultStation == nil && st.AssociatedStation == nil; cleared {
					if st.LastAssociatedStation == nil || st.LastAssociatedStation.ID != before.AssociatedStationID {
						t.Errorf("cleared, but lastAssociatedStation = %+v", st.LastAssociatedStation)
					}
					return true
				}
				if st.DefaultStation == nil || st.DefaultStation.ID != before.DefaultStationID {
					t.Errorf("stations %+v, want the default %s kept", st, before.DefaultStationID)
				}
				return false
			}},
		{"DisableForwardingOnDeactivate", func(c *genesyssim.Config) { c.DisableForwardingOnDeactivate = true },
			func(t *testing.T, c *genesys.Client, sim *genesyssim.TestServer, id string, before genesyssim.AgentState) bool {
				cf, _, err := c.CallForwarding.Get(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				if len(cf.Calls) == 0 || len(cf.Calls[0].Targets) != len(before.Forwarding.Targets) {
					t.Errorf("forwarding %+v lost its targets", cf)
				}
				return !cf.Enabled
			}},
		{"RemoveFromWFMOnDeactivate", func(c *genesyssim.Config) { c.RemoveFromWFMOnDeactivate = true },
			func(t *testing.T, c *genesys.Client, sim *genesyssim.TestServer, id string, before genesyssim.AgentState) bool {
				mu, _, err := c.WFM.ManagementUnit(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				if mu != nil && mu.ManagementUnit.ID != before.ManagementUnitID {
					t.Errorf("unit %s, want %s", mu.ManagementUnit.ID, before.ManagementUnitID)
				}
				return mu == nil
			}},
	}
	for _, sw := range switches {
		for _, on := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s=%t", sw.name, on), func(t *testing.T) {
				t.Parallel()
				cfg := genesyssim.Config{Users: 10}
				if on {
					sw.set(&cfg)
				}
				c, sim := newSim(t, cfg)
				u := seededUser(t, sim, activeAgent)
				before := agentOf(t, sim, u.ID)
				// Before: every check reads the state as seeded.
				if sw.changed(t, c, sim, u.ID, before) {
					t.Fatal("the seeded agent's state reads as changed before the deactivation")
				}
				if _, err := deactivate(t.Context(), c, u.ID); err != nil {
					t.Fatal(err)
				}
				if got := sw.changed(t, c, sim, u.ID, before); got != on {
					t.Errorf("after the deactivation the client sees the state changed: %t, want %t", got, on)
				}
			})
		}
	}
}

func TestSimOfflineOnTokenDeleteSwitch(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("OfflineOnTokenDelete=%t", on), func(t *testing.T) {
			t.Parallel()
			c, sim := newSim(t, genesyssim.Config{Users: 10, OfflineOnTokenDelete: on})
			u := seededUser(t, sim, activeAgent)
			p, _, err := c.Presence.Get(t.Context(), u.ID)
			if err != nil || p.PresenceDefinition.SystemPresence == genesys.PresenceOffline {
				t.Fatalf("Get before = %+v, %v", p, err)
			}
			if _, err := c.Tokens.RevokeAll(t.Context(), u.ID); err != nil {
				t.Fatal(err)
			}
			p, _, err = c.Presence.Get(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			rs, _, err := c.Routing.Status(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			offline := p.PresenceDefinition.SystemPresence == genesys.PresenceOffline
			if offline != on || (rs.Status == genesys.RoutingOffQueue) != on {
				t.Errorf("after RevokeAll: presence %s, routing %s; want Offline and OFF_QUEUE iff the switch is on",
					p.PresenceDefinition.SystemPresence, rs.Status)
			}
		})
	}
}
