package genesyssim

import "slices"

// Routing statuses (RoutingStatus.status in the SDK).
const (
	RoutingOffQueue      = "OFF_QUEUE"
	RoutingIdle          = "IDLE"
	RoutingInteracting   = "INTERACTING"
	RoutingCommunicating = "COMMUNICATING"
	RoutingNotResponding = "NOT_RESPONDING"
)

var routingStatuses = []string{RoutingOffQueue, RoutingIdle, RoutingInteracting, RoutingCommunicating, RoutingNotResponding}

// System presences (PresenceDefinition.systemPresence), one definition each in the org.
const (
	PresenceAvailable = "Available"
	PresenceAway      = "Away"
	PresenceBusy      = "Busy"
	PresenceOffline   = "Offline"
	PresenceOnQueue   = "On Queue"
	PresenceIdle      = "Idle"
	PresenceMeal      = "Meal"
	PresenceMeeting   = "Meeting"
	PresenceTraining  = "Training"
	PresenceBreak     = "Break"
)

// Queue membership kinds (QueueMember.memberBy).
const (
	MemberByUser  = "user"
	MemberByGroup = "group"
)

// AgentState is the contact-center state of one user. Values returned by the Server are
// copies. Every id in it names one of the org's queues, stations or management units.
type AgentState struct {
	// RoutingStatus is "IDLE", "OFF_QUEUE", ... (the Routing* constants).
	RoutingStatus string `json:"routingStatus"`
	// Presence is the system presence name: "Available", "Offline", "On Queue", ...
	Presence string `json:"presence"`
	// Queues are the user's queue memberships, each joined.
	Queues              []Membership `json:"queues"`
	DefaultStationID    string       `json:"defaultStationId,omitempty"`
	AssociatedStationID string       `json:"associatedStationId,omitempty"`
	// LastAssociatedStationID is set when an associated station is cleared (not in the
	// contract's list; GET /station reports it as lastAssociatedStation).
	LastAssociatedStationID string     `json:"lastAssociatedStationId,omitempty"`
	Forwarding              Forwarding `json:"callForwarding"`
	ManagementUnitID        string     `json:"managementUnitId,omitempty"`
	Verifiers               []Verifier `json:"verifiers"`
}

// Membership is one queue membership: MemberBy is "user" (added directly) or "group" (through
// a group; the fact sheet says it cannot be removed one by one).
type Membership struct {
	QueueID  string `json:"queueId"`
	MemberBy string `json:"memberBy"`
}

// Forwarding is a user's call forwarding. The API shows Targets as one CallRoute.
type Forwarding struct {
	Enabled   bool               `json:"enabled"`
	Targets   []ForwardingTarget `json:"targets"`
	Voicemail string             `json:"voicemail,omitempty"`
}

// ForwardingTarget is a CallTarget: Type "PHONENUMBER" (Value an E.164 number) or "STATION"
// (Value a station id).
type ForwardingTarget struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Verifier is an MFA verifier of a user. Type is the simulator's own label ("totp",
// "webauthn"); the API's Verifier has no type field and does not show it.
type Verifier struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type,omitempty"`
	Default bool   `json:"default,omitempty"`
}

// Flow is an Architect flow of the org. LockedBy is the id of the user holding its lock, "" if
// none.
type Flow struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	LockedBy string `json:"lockedBy,omitempty"`
}

// OAuthClient is an OAuth client registered in the org (not one of Config.Clients, which the
// simulator's token endpoint knows). CreatedBy is the id of the user who created it, "" if
// none is recorded. State is "Active", "Disabled" or "Inactive".
type OAuthClient struct {
	ID                  string `json:"id"`
	Name                string `json:"name"`
	Description         string `json:"description,omitempty"`
	State               string `json:"state"`
	AuthorizedGrantType string `json:"authorizedGrantType"`
	CreatedBy           string `json:"createdBy,omitempty"`
}

// OAuth client states.
const (
	OAuthClientActive   = "Active"
	OAuthClientDisabled = "Disabled"
	OAuthClientInactive = "Inactive"
)

// QueueInfo, StationInfo and UnitInfo name the org's fixtures.
type (
	QueueInfo struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	StationInfo struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	UnitInfo struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
)

// PresenceDefinition is one of the org's system presence definitions.
type PresenceDefinition struct {
	ID             string `json:"id"`
	SystemPresence string `json:"systemPresence"`
}

// Fixed fixtures. Ids follow the existing queues' pattern, so they are recognisably simulated.
var (
	orgPresences = []PresenceDefinition{
		{"5e1f0000-0001-4000-8000-00000000b001", PresenceAvailable},
		{"5e1f0000-0002-4000-8000-00000000b002", PresenceAway},
		{"5e1f0000-0003-4000-8000-00000000b003", PresenceBusy},
		{"5e1f0000-0004-4000-8000-00000000b004", PresenceOffline},
		{"5e1f0000-0005-4000-8000-00000000b005", PresenceOnQueue},
		{"5e1f0000-0006-4000-8000-00000000b006", PresenceIdle},
		{"5e1f0000-0007-4000-8000-00000000b007", PresenceMeal},
		{"5e1f0000-0008-4000-8000-00000000b008", PresenceMeeting},
		{"5e1f0000-0009-4000-8000-00000000b009", PresenceTraining},
		{"5e1f0000-000a-4000-8000-00000000b00a", PresenceBreak},
	}
	orgUnits = []UnitInfo{
		{"3c0e0000-0001-4000-8000-00000000c001", "Support MU"},
		{"3c0e0000-0002-4000-8000-00000000c002", "Sales MU"},
		{"3c0e0000-0003-4000-8000-00000000c003", "Backoffice MU"},
	}
	orgBusinessUnit = UnitInfo{"3c0e0000-0000-4000-8000-00000000c000", "Contact Center BU"}
	// spareStations belong to nobody in the seeded org: targets for PUT defaultstation.
	spareStations = []StationInfo{
		{"57a70000-0001-4000-8000-00000000d001", "Spare WebRTC 1"},
		{"57a70000-0002-4000-8000-00000000d002", "Spare WebRTC 2"},
		{"57a70000-0003-4000-8000-00000000d003", "Spare desk phone"},
	}
	// seedFlows are the org's own flows, unlocked; agents' locked flows follow them.
	seedFlows = []Flow{
		{"f10e0000-0001-4000-8000-00000000e001", "Main IVR", "inboundcall", ""},
		{"f10e0000-0002-4000-8000-00000000e002", "Support in-queue", "inqueuecall", ""},
		{"f10e0000-0003-4000-8000-00000000e003", "Web chat bot", "inboundshortmessage", ""},
	}
	// seedOAuthClients are created by nobody on record (an integration installed by Genesys).
	seedOAuthClients = []OAuthClient{
		{ID: "0a0c0000-0001-4000-8000-00000000f001", Name: "Premium app integration", Description: "installed from AppFoundry",
			State: OAuthClientActive, AuthorizedGrantType: "CLIENT-CREDENTIALS"},
	}
)

func presenceByName(name string) (PresenceDefinition, bool) {
	i := slices.IndexFunc(orgPresences, func(p PresenceDefinition) bool { return p.SystemPresence == name })
	if i < 0 {
		return PresenceDefinition{}, false
	}
	return orgPresences[i], true
}

func presenceByID(id string) (PresenceDefinition, bool) {
	i := slices.IndexFunc(orgPresences, func(p PresenceDefinition) bool { return p.ID == id })
	if i < 0 {
		return PresenceDefinition{}, false
	}
	return orgPresences[i], true
}

func (a AgentState) clone() AgentState {
	a.Queues = slices.Clone(a.Queues)
	a.Forwarding.Targets = slices.Clone(a.Forwarding.Targets)
	a.Verifiers = slices.Clone(a.Verifiers)
	return a
}

// membership returns the index of the user's membership of queueID, or -1.
func (a AgentState) membership(queueID string) int {
	return slices.IndexFunc(a.Queues, func(m Membership) bool { return m.QueueID == queueID })
}

// setRouting sets the routing status and keeps the presence consistent with it, as the
// Genesys UI does: going off queue leaves "On Queue" for "Available", going on queue is "On Queue".
func (a *AgentState) setRouting(status string) {
	a.RoutingStatus = status
	switch {
	case status == RoutingOffQueue && a.Presence == PresenceOnQueue:
		a.Presence = PresenceAvailable
	case status != RoutingOffQueue:
		a.Presence = PresenceOnQueue
	}
}

// setPresence sets the presence; leaving "On Queue" takes the agent off queue and choosing it
// puts them on queue (IDLE).
func (a *AgentState) setPresence(name string) {
	a.Presence = name
	switch {
	case name == PresenceOnQueue && a.RoutingStatus == RoutingOffQueue:
		a.RoutingStatus = RoutingIdle
	case name != PresenceOnQueue:
		a.RoutingStatus = RoutingOffQueue
	}
}
