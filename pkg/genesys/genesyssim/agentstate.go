package genesyssim

import (
	"errors"
	"fmt"
	"slices"
)

// ErrInvalidState is returned by the contact-center accessors for state that names no queue,
// station, unit or presence of the org, or is otherwise malformed (the admin paths answer 400).
var ErrInvalidState = errors.New("genesyssim: invalid contact-center state")

// Agent returns a copy of the user's contact-center state; false for an unknown user.
func (s *Server) Agent(userID string) (AgentState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.org.agents[userID]
	if !ok {
		return AgentState{}, false
	}
	return a.clone(), true
}

// SetAgent replaces the user's contact-center state. Every id must name one of the org's
// queues, stations and management units, the routing status and presence must be known, and a
// default station may not be another user's default.
func (s *Server) SetAgent(userID string, a AgentState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.org.users[userID]; !ok {
		return fmt.Errorf("%w %q", ErrUnknownUser, userID)
	}
	a = a.clone()
	if a.Queues == nil {
		a.Queues = []Membership{}
	}
	if a.Verifiers == nil {
		a.Verifiers = []Verifier{}
	}
	if err := s.org.checkAgent(userID, a); err != nil {
		return err
	}
	s.org.agents[userID] = &a
	return nil
}

func (o *org) checkAgent(userID string, a AgentState) error {
	var errs []error
	if !slices.Contains(routingStatuses, a.RoutingStatus) {
		errs = append(errs, fmt.Errorf("routing status %q is not one of %v", a.RoutingStatus, routingStatuses))
	}
	if _, ok := presenceByName(a.Presence); !ok {
		errs = append(errs, fmt.Errorf("presence %q is not a system presence of the org", a.Presence))
	}
	seen := map[string]bool{}
	for _, m := range a.Queues {
		if _, ok := queueByID(m.QueueID); !ok || seen[m.QueueID] || (m.MemberBy != MemberByUser && m.MemberBy != MemberByGroup) {
			errs = append(errs, fmt.Errorf("membership %+v: unknown or repeated queue, or memberBy not user|group", m))
		}
		seen[m.QueueID] = true
	}
	for _, id := range []string{a.DefaultStationID, a.AssociatedStationID, a.LastAssociatedStationID} {
		if _, ok := o.station(id); id != "" && !ok {
			errs = append(errs, fmt.Errorf("station %q does not exist", id))
		}
	}
	if other := o.defaultUserOf(a.DefaultStationID); other != "" && other != userID {
		errs = append(errs, fmt.Errorf("station %q is the default station of user %s", a.DefaultStationID, other))
	}
	if _, ok := unitByID(a.ManagementUnitID); a.ManagementUnitID != "" && !ok {
		errs = append(errs, fmt.Errorf("management unit %q does not exist", a.ManagementUnitID))
	}
	if err := checkTargets(a.Forwarding); err != nil {
		errs = append(errs, err)
	}
	ids := map[string]bool{}
	for _, v := range a.Verifiers {
		if v.ID == "" || ids[v.ID] {
			errs = append(errs, fmt.Errorf("verifier id %q is empty or repeated", v.ID))
		}
		ids[v.ID] = true
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidState, err)
	}
	return nil
}

// checkTargets checks forwarding targets: type PHONENUMBER or STATION and a value.
func checkTargets(f Forwarding) error {
	for _, t := range f.Targets {
		if (t.Type != "PHONENUMBER" && t.Type != "STATION") || t.Value == "" {
			return fmt.Errorf("forwarding target %+v: type must be PHONENUMBER or STATION, with a value", t)
		}
	}
	if f.Enabled && len(f.Targets) == 0 {
		return errors.New("enabled call forwarding needs at least one target")
	}
	return nil
}

// Flows returns copies of the org's Architect flows.
func (s *Server) Flows() []Flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Flow, 0, len(s.org.flows))
	for _, f := range s.org.flows {
		out = append(out, *f)
	}
	return out
}

// SetFlow adds a flow, or replaces the flow with the same id. LockedBy must name a user or be "".
func (s *Server) SetFlow(f Flow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.ID == "" || f.Name == "" {
		return fmt.Errorf("%w: a flow needs an id and a name", ErrInvalidState)
	}
	if _, ok := s.org.users[f.LockedBy]; f.LockedBy != "" && !ok {
		return fmt.Errorf("%w: flow locked by unknown user %q", ErrInvalidState, f.LockedBy)
	}
	if i := slices.IndexFunc(s.org.flows, func(x *Flow) bool { return x.ID == f.ID }); i >= 0 {
		*s.org.flows[i] = f
		return nil
	}
	s.org.flows = append(s.org.flows, &f)
	return nil
}

// OAuthClients returns copies of the OAuth clients registered in the org.
func (s *Server) OAuthClients() []OAuthClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OAuthClient, 0, len(s.org.oauthClients))
	for _, c := range s.org.oauthClients {
		out = append(out, *c)
	}
	return out
}

// SetOAuthClient adds an org OAuth client, or replaces the one with the same id. State must be
// Active, Disabled or Inactive (empty means Active), the grant type defaults to
// CLIENT-CREDENTIALS, and CreatedBy must name a user or be "".
func (s *Server) SetOAuthClient(c OAuthClient) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.State == "" {
		c.State = OAuthClientActive
	}
	if c.AuthorizedGrantType == "" {
		c.AuthorizedGrantType = "CLIENT-CREDENTIALS"
	}
	if c.ID == "" || c.Name == "" || !slices.Contains([]string{OAuthClientActive, OAuthClientDisabled, OAuthClientInactive}, c.State) {
		return fmt.Errorf("%w: an OAuth client needs an id, a name and a state Active|Disabled|Inactive", ErrInvalidState)
	}
	if _, ok := s.org.users[c.CreatedBy]; c.CreatedBy != "" && !ok {
		return fmt.Errorf("%w: OAuth client created by unknown user %q", ErrInvalidState, c.CreatedBy)
	}
	if i := slices.IndexFunc(s.org.oauthClients, func(x *OAuthClient) bool { return x.ID == c.ID }); i >= 0 {
		*s.org.oauthClients[i] = c
		return nil
	}
	s.org.oauthClients = append(s.org.oauthClients, &c)
	return nil
}

// Queues returns the org's routing queues.
func (s *Server) Queues() []QueueInfo {
	out := make([]QueueInfo, 0, len(orgQueues))
	for _, q := range orgQueues {
		out = append(out, QueueInfo{ID: q.ID, Name: q.Name})
	}
	return out
}

// Stations returns the org's stations: the spare ones (nobody's default) first, then one per
// seeded agent.
func (s *Server) Stations() []StationInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.org.stations)
}

// ManagementUnits returns the org's WFM management units.
func (s *Server) ManagementUnits() []UnitInfo { return slices.Clone(orgUnits) }

// PresenceDefinitions returns the org's system presence definitions.
func (s *Server) PresenceDefinitions() []PresenceDefinition { return slices.Clone(orgPresences) }

func queueByID(id string) (simQueue, bool) {
	i := slices.IndexFunc(orgQueues, func(q simQueue) bool { return q.ID == id })
	if i < 0 {
		return simQueue{}, false
	}
	return orgQueues[i], true
}

func unitByID(id string) (UnitInfo, bool) {
	i := slices.IndexFunc(orgUnits, func(u UnitInfo) bool { return u.ID == id })
	if i < 0 {
		return UnitInfo{}, false
	}
	return orgUnits[i], true
}

func (o *org) station(id string) (StationInfo, bool) {
	i := slices.IndexFunc(o.stations, func(st StationInfo) bool { return st.ID == id })
	if i < 0 {
		return StationInfo{}, false
	}
	return o.stations[i], true
}

// defaultUserOf returns the id of the user whose default station stationID is, "" if none.
func (o *org) defaultUserOf(stationID string) string {
	if stationID == "" {
		return ""
	}
	for _, id := range o.order {
		if o.agents[id].DefaultStationID == stationID {
			return id
		}
	}
	return ""
}

// deactivateAgent applies the Config switches that model what SCIM deactivation might do to
// the contact-center state by itself (all unconfirmed; all off by default). The caller holds s.mu.
func (s *Server) deactivateAgent(userID string) {
	a := s.org.agents[userID]
	if s.cfg.OffQueueOnDeactivate {
		a.setPresence(PresenceOffline)
	}
	if s.cfg.RemoveQueuesOnDeactivate {
		a.Queues = []Membership{}
	}
	if s.cfg.ClearStationOnDeactivate {
		if a.AssociatedStationID != "" {
			a.LastAssociatedStationID = a.AssociatedStationID
		}
		a.DefaultStationID, a.AssociatedStationID = "", ""
	}
	if s.cfg.DisableForwardingOnDeactivate {
		a.Forwarding.Enabled = false
	}
	if s.cfg.RemoveFromWFMOnDeactivate {
		a.ManagementUnitID = ""
	}
}
