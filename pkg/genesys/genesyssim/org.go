package genesyssim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Role is an authorization role of the org. SCIM roles[].value carries its Name.
type Role struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
}

// Division is an authorization division of the org.
type Division struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Home bool   `json:"homeDivision"`
}

// Grant is one role held in one division.
type Grant struct {
	RoleID       string `json:"roleId"`
	RoleName     string `json:"roleName"`
	DivisionID   string `json:"divisionId"`
	DivisionName string `json:"divisionName"`
}

// User is the simulator's state of one user. Values returned by the Server are copies.
type User struct {
	ID             string    `json:"id"`
	UserName       string    `json:"userName"`
	DisplayName    string    `json:"displayName"`
	Title          string    `json:"title,omitempty"`
	ExternalID     string    `json:"externalId,omitempty"`
	EmployeeNumber string    `json:"employeeNumber,omitempty"`
	Department     string    `json:"department,omitempty"`
	Division       string    `json:"division"` // division name; defaults to "Home"
	Active         bool      `json:"active"`
	Deleted        bool      `json:"deleted"`
	Version        int       `json:"version"`
	LastModified   time.Time `json:"lastModified"`
	Grants         []Grant   `json:"grants"`
	// Tokens is the number of OAuth tokens the user holds (DELETE /api/v2/tokens/{id} clears them).
	Tokens int `json:"tokens"`
	// LastTokenIssued is when the user was last granted a token (a login: [Server.Login]); zero
	// when never. GET /api/v2/users/{id}?expand=lasttokenissued shows it.
	LastTokenIssued time.Time `json:"lastTokenIssued,omitzero"`
}

// Roles returns the distinct names of the roles the user holds in any division, sorted.
// SCIM roles[] shows exactly these.
func (u User) Roles() []string {
	var names []string
	for _, g := range u.Grants {
		names = append(names, g.RoleName)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func (u User) clone() User {
	u.Grants = slices.Clone(u.Grants)
	return u
}

// Role names of the seeded org.
const (
	RoleEmployee    = "employee"
	RoleAgent       = "Agent"
	RoleSupervisor  = "Supervisor"
	RoleAdmin       = "Admin"
	RoleMasterAdmin = "Master Admin"
)

var (
	seedDivisions = []string{"Home", "Sales", "Support", "Backoffice"}
	seedRoles     = map[string][]string{
		RoleEmployee:    {"directory:user:view"},
		RoleAgent:       {"conversation:call:accept", "routing:queue:view"},
		RoleSupervisor:  {"analytics:conversationDetail:view", "routing:queue:view"},
		RoleAdmin:       {"directory:user:edit", "authorization:grant:view"},
		RoleMasterAdmin: {"*:*:*"},
	}
	firstNames  = []string{"Ada", "Bruno", "Chloe", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam", "Maya", "Noor", "Omar", "Priya"}
	lastNames   = []string{"Smith", "Garcia", "O'Brien", "Nguyen", "Müller", "Okafor", "Rossi", "Kowalski", "Tanaka", "Silva", "Dubois", "Larsen"}
	departments = []string{"Support", "Sales", "Billing", "IT", "Operations"}
)

// seedBase is the fixed reference time of seeded timestamps, so the org does not depend on the clock.
var seedBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// org is the users, roles and divisions, and the contact-center state. Not safe for
// concurrent use: the Server locks it.
type org struct {
	divisions []Division
	roles     []Role
	order     []string // user ids in creation order, the order of SCIM lists
	users     map[string]*User

	agents       map[string]*AgentState // by user id; every user has one
	stations     []StationInfo          // spare stations first, then one per seeded agent
	flows        []*Flow                // the org's flows first, then the agents' locked flows
	oauthClients []*OAuthClient         // the org's clients first, then those users created

	audits       []AuditRecord                // the audit trail, oldest first (audits.go)
	auditQueries map[string]*auditTransaction // asynchronous audit queries by transaction id
}

// seedOrg builds the deterministic org described in doc.go. seedOrg(s, n) is a prefix of
// seedOrg(s, n+k): users are drawn one after another from the same generator.
func seedOrg(seed int64, n int) *org {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	o := &org{users: map[string]*User{}, agents: map[string]*AgentState{}, stations: slices.Clone(spareStations)}
	for _, f := range seedFlows {
		o.flows = append(o.flows, &f)
	}
	for _, c := range seedOAuthClients {
		o.oauthClients = append(o.oauthClients, &c)
	}
	for i, name := range seedDivisions {
		o.divisions = append(o.divisions, Division{ID: newUUID(rng), Name: name, Home: i == 0})
	}
	for _, name := range []string{RoleEmployee, RoleAgent, RoleSupervisor, RoleAdmin, RoleMasterAdmin} {
		o.roles = append(o.roles, Role{ID: newUUID(rng), Name: name, Permissions: seedRoles[name]})
	}
	for i := 1; i <= n; i++ {
		u := o.drawUser(rng, i)
		o.users[u.ID] = u
		o.order = append(o.order, u.ID)
		o.seedAgent(seed, i, u)
	}
	return o
}

func (o *org) drawUser(rng *rand.Rand, i int) *User {
	first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
	u := &User{
		ID:             newUUID(rng),
		UserName:       strings.ToLower(fmt.Sprintf("%s.%s.%d@example.com", first, last, i)),
		DisplayName:    first + " " + last,
		ExternalID:     "00u" + randomText(rng, 17),
		EmployeeNumber: fmt.Sprint(100000 + i),
		Department:     departments[rng.IntN(len(departments))],
		Division:       "Home",
		Active:         rng.Float64() >= 0.10,
		Version:        1 + rng.IntN(40),
		LastModified:   seedBase.Add(-time.Duration(rng.IntN(24*365)) * time.Hour),
		Tokens:         rng.IntN(4),
	}
	if rng.Float64() < 0.3 {
		u.Division = seedDivisions[1+rng.IntN(len(seedDivisions)-1)]
	}
	other := seedDivisions[1+rng.IntN(len(seedDivisions)-1)]
	roleDraw := rng.Float64()
	// Archetypes: the first users are fixed so that even a tiny org has one of each.
	switch i {
	case 1:
		u.Active, u.Tokens, roleDraw = true, 2, 0.01
	case 2:
		u.Active, u.Tokens, roleDraw = false, 1, 0.5
	case 3:
		u.Active, u.Tokens, roleDraw = true, 0, 0.5
	case 4:
		u.Active, u.Tokens, roleDraw = true, 3, 0.2
	}
	o.grant(u, RoleEmployee, "Home")
	switch {
	case roleDraw < 0.05:
		o.grant(u, RoleMasterAdmin, "Home")
		o.grant(u, RoleMasterAdmin, other)
		u.Title = "Administrator"
	case roleDraw < 0.10:
		o.grant(u, RoleAdmin, "Home")
		u.Title = "Administrator"
	case roleDraw < 0.25:
		o.grant(u, RoleSupervisor, "Home")
		o.grant(u, RoleSupervisor, other)
		u.Title = "Supervisor"
	case roleDraw < 0.40:
		o.grant(u, RoleAgent, "Home")
		o.grant(u, RoleAgent, other)
		u.Title = "Agent"
	default:
		o.grant(u, RoleAgent, u.Division)
		u.Title = "Agent"
	}
	return u
}

// grant gives u role in division (both by name) unless u already holds it there.
func (o *org) grant(u *User, role, division string) {
	r, _ := o.role(role)
	d, _ := o.division(division)
	g := Grant{RoleID: r.ID, RoleName: r.Name, DivisionID: d.ID, DivisionName: d.Name}
	if !slices.Contains(u.Grants, g) {
		u.Grants = append(u.Grants, g)
	}
}

func (o *org) role(name string) (Role, bool) {
	i := slices.IndexFunc(o.roles, func(r Role) bool { return r.Name == name })
	if i < 0 {
		return Role{}, false
	}
	return o.roles[i], true
}

func (o *org) division(name string) (Division, bool) {
	i := slices.IndexFunc(o.divisions, func(d Division) bool { return d.Name == name })
	if i < 0 {
		return Division{}, false
	}
	return o.divisions[i], true
}

// live returns a user that exists and is not deleted.
func (o *org) live(id string) (*User, bool) {
	u, ok := o.users[id]
	if !ok || u.Deleted {
		return nil, false
	}
	return u, true
}

// newUUID draws a version-4-shaped UUID from rng.
func newUUID(rng interface{ Uint64() uint64 }) string {
	hi, lo := rng.Uint64(), rng.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

func randomText(rng *rand.Rand, n int) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}
