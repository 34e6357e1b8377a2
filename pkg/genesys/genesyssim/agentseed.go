package genesyssim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// The contact-center state is drawn per user from a generator seeded with the org seed and
// the user id, not from the org's generator: the users' own draws (and so every test and
// golden file that depends on them) stay as they were, and the org of n users stays a prefix
// of the org of n+k users.
func agentRand(seed int64, userID string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(userID))
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// baseAgent is the state every user starts with: off queue, offline, and the queues the
// simulator has always derived from the user id (queuesOf), joined directly. A user added with
// AddUser gets exactly this, so fixtures built before the state existed keep their queues.
func baseAgent(u *User) *AgentState {
	a := &AgentState{RoutingStatus: RoutingOffQueue, Presence: PresenceOffline, Queues: []Membership{}, Verifiers: []Verifier{}}
	for _, q := range queuesOf(u.ID) {
		a.Queues = append(a.Queues, Membership{QueueID: q.ID, MemberBy: MemberByUser})
	}
	return a
}

// seedAgent draws user i's contact-center state and adds it to o with the station, flows and
// OAuth clients that belong to it. See doc.go for the shares.
func (o *org) seedAgent(seed int64, i int, u *User) {
	rng := agentRand(seed, u.ID)
	a := baseAgent(u)
	if u.Active {
		a.Presence = PresenceAvailable
	}
	o.agents[u.ID] = a
	admin := u.Title == "Administrator"
	nVerifiers := rng.IntN(3)
	if admin {
		nVerifiers = min(nVerifiers, 1)
	}
	switch i {
	case 2, 3:
		nVerifiers = 2
	case 4:
		nVerifiers = 1
	}
	for v := range nVerifiers {
		kind := []Verifier{{Name: "Authenticator app", Type: "totp"}, {Name: "Security key", Type: "webauthn"}}[v]
		kind.ID, kind.Default = newUUID(rng), v == 0
		a.Verifiers = append(a.Verifiers, kind)
	}
	if admin {
		o.seedAdminClients(rng, u)
		return
	}
	o.seedContactCenter(rng, i, u, a)
}

// seedAdminClients gives an administrator one or two client-credentials integrations.
func (o *org) seedAdminClients(rng *rand.Rand, u *User) {
	for n := range 1 + rng.IntN(2) {
		o.oauthClients = append(o.oauthClients, &OAuthClient{ID: newUUID(rng),
			Name:        fmt.Sprintf("%s integration %d", u.DisplayName, n+1),
			Description: "client-credentials integration", State: OAuthClientActive,
			AuthorizedGrantType: "CLIENT-CREDENTIALS", CreatedBy: u.ID})
	}
}

// seedContactCenter draws an agent's or supervisor's routing, queues, station, forwarding,
// WFM unit, locked flows and OAuth clients. Users 2–4 are fixed archetypes (doc.go).
func (o *org) seedContactCenter(rng *rand.Rand, i int, u *User, a *AgentState) {
	draws := [8]float64{}
	for k := range draws {
		draws[k] = rng.Float64()
	}
	switch i {
	case 2: // inactive agent holding everything: the leaver whose cleanup is still due
		draws = [8]float64{0, 0, 0, 0, 0.9, 0, 0, 0}
	case 3: // active agent holding everything, on queue, associated to their station
		draws = [8]float64{0, 0, 0, 0, 0, 0, 0, 0}
	case 4: // active supervisor: group queue, default station only, forwarding off, no flows
		draws = [8]float64{0, 0.9, 0, 0, 0.9, 0.9, 0, 0.9}
	}
	if u.Active && draws[0] < 0.8 {
		a.setRouting(RoutingIdle)
	}
	if draws[1] < 0.4 {
		a.Queues = append(a.Queues, Membership{QueueID: orgQueues[4].ID, MemberBy: MemberByGroup})
	}
	if draws[2] < 0.25 {
		a.Queues = append(a.Queues, Membership{QueueID: orgQueues[5].ID, MemberBy: MemberByGroup})
	}
	stationID := newUUID(rng)
	o.stations = append(o.stations, StationInfo{ID: stationID, Name: "WebRTC - " + u.DisplayName})
	if draws[3] < 0.85 {
		a.DefaultStationID = stationID
		if u.Active && draws[4] < 0.5 {
			a.AssociatedStationID = stationID
		}
	}
	number := fmt.Sprintf("+1555%07d", rng.IntN(10_000_000))
	switch {
	case draws[5] < 0.2:
		a.Forwarding = Forwarding{Enabled: true, Targets: []ForwardingTarget{{"PHONENUMBER", number}}, Voicemail: "PURECLOUD"}
	case draws[5] < 0.3:
		a.Forwarding = Forwarding{Targets: []ForwardingTarget{{"PHONENUMBER", number}}, Voicemail: "PURECLOUD"}
	}
	if draws[6] < 0.8 {
		a.ManagementUnitID = orgUnits[rng.IntN(len(orgUnits))].ID
	}
	if draws[7] < 0.12 {
		types := []string{"inboundcall", "inqueuecall", "outboundcall", "workflow"}
		t := types[rng.IntN(len(types))]
		o.flows = append(o.flows, &Flow{ID: newUUID(rng), Name: fmt.Sprintf("%s draft (%s)", t, u.DisplayName), Type: t, LockedBy: u.ID})
	}
	if draws[7] < 0.06 {
		o.oauthClients = append(o.oauthClients, &OAuthClient{ID: newUUID(rng), Name: u.DisplayName + " dashboard",
			Description: "created by an agent", State: OAuthClientActive, AuthorizedGrantType: "CODE", CreatedBy: u.ID})
	}
}
