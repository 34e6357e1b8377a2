package genesyssim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// handleDeleteTokens is DELETE /api/v2/tokens/{userId}: 204, clearing the user's tokens.
// An unknown or deleted user gets 404; a user without tokens gets 204, or 404 with
// Config.NotFoundWhenNoTokens.
func (s *Server) handleDeleteTokens(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok || u.Tokens == 0 && s.cfg.NotFoundWhenNoTokens {
		s.notFound(w, c, false)
		return
	}
	u.Tokens = 0
	if s.cfg.OfflineOnTokenDelete {
		s.org.agents[u.ID].setPresence(PresenceOffline)
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleGetPlatformUser is GET /api/v2/users/{id}: the platform User, inactive users included;
// a deleted user only with ?state=deleted.
func (s *Server) handleGetPlatformUser(w http.ResponseWriter, r *http.Request, c *call) {
	wantDeleted := r.URL.Query().Get("state") == "deleted"
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.users[c.userID]
	if !ok || u.Deleted != wantDeleted {
		s.notFound(w, c, false)
		return
	}
	d, _ := s.org.division(u.Division)
	state := map[bool]string{true: "active", false: "inactive"}[u.Active]
	if u.Deleted {
		state = "deleted"
	}
	body := map[string]any{
		"id": u.ID, "name": u.DisplayName, "email": u.UserName, "username": u.UserName,
		"state": state, "title": u.Title, "version": u.Version, "selfUri": "/api/v2/users/" + u.ID,
		"division":           divisionRef(d),
		"primaryContactInfo": []map[string]string{{"address": u.UserName, "mediaType": "EMAIL", "type": "PRIMARY"}},
	}
	// expand=lasttokenissued (repeatable, or comma-separated) adds lastTokenIssued.dateIssued
	// (OAuthLastTokenIssued, ISO-8601 in UTC with milliseconds) when the user was ever granted one.
	if expands(r, "lasttokenissued") && !u.LastTokenIssued.IsZero() {
		body["lastTokenIssued"] = map[string]string{"dateIssued": u.LastTokenIssued.UTC().Format("2006-01-02T15:04:05.000Z")}
	}
	writeJSON(w, http.StatusOK, contentJSON, body)
}

func divisionRef(d Division) map[string]any {
	return map[string]any{"id": d.ID, "name": d.Name, "selfUri": "/api/v2/authorization/divisions/" + d.ID}
}

// handleUserRoles is GET /api/v2/users/{id}/roles: UserAuthorization.
func (s *Server) handleUserRoles(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, false)
		return
	}
	roles := []map[string]string{}
	var perms []string
	for _, name := range u.Roles() {
		role, _ := s.org.role(name)
		roles = append(roles, map[string]string{"id": role.ID, "name": role.Name})
		perms = append(perms, role.Permissions...)
	}
	slices.Sort(perms)
	writeJSON(w, http.StatusOK, contentJSON, map[string]any{"roles": roles, "unusedRoles": []any{},
		"permissions": append([]string{}, slices.Compact(perms)...), "permissionPolicies": []any{}})
}

// handleSubject is GET /api/v2/authorization/subjects/{id}: AuthzSubject with one grant per
// role and division.
func (s *Server) handleSubject(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, false)
		return
	}
	grants := []map[string]any{}
	for _, g := range u.Grants {
		d, _ := s.org.division(g.DivisionName)
		div := divisionRef(d)
		div["description"], div["homeDivision"] = "", d.Home
		grants = append(grants, map[string]any{
			"subjectId": u.ID,
			"division":  div,
			"role": map[string]any{"id": g.RoleID, "name": g.RoleName, "description": "", "default": false,
				"selfUri": "/api/v2/authorization/roles/" + g.RoleID},
			"grantMadeAt": seedBase.Format("2006-01-02T15:04:05Z"),
		})
	}
	writeJSON(w, http.StatusOK, contentJSON, map[string]any{"id": u.ID, "name": u.DisplayName,
		"version": u.Version, "selfUri": "/api/v2/authorization/subjects/" + u.ID, "grants": grants})
}

type grantRef struct {
	RoleID     string `json:"roleId"`
	DivisionID string `json:"divisionId"`
}

// readGrantRefs reads a {"grants":[{"roleId","divisionId"}]} body, the
// body of bulkremove and bulkadd; a 400 answers anything else.
func readGrantRefs(w http.ResponseWriter, r *http.Request, c *call) ([]grantRef, bool) {
	body, ok := readBody(w, r, c)
	if !ok {
		return nil, false
	}
	var req struct {
		Grants []grantRef `json:"grants"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Grants == nil {
		c.platformError(w, http.StatusBadRequest, "bad.request", `The body must be {"grants":[{"roleId","divisionId"}]}.`)
		return nil, false
	}
	return req.Grants, true
}

// handleBulkRemove is POST /api/v2/authorization/subjects/{id}/bulkremove with
// {"grants":[{"roleId","divisionId"}]}: 204. Grants the user does not hold are ignored.
func (s *Server) handleBulkRemove(w http.ResponseWriter, r *http.Request, c *call) {
	refs, ok := readGrantRefs(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, false)
		return
	}
	before := len(u.Grants)
	u.Grants = slices.DeleteFunc(u.Grants, func(g Grant) bool {
		return slices.Contains(refs, grantRef{g.RoleID, g.DivisionID})
	})
	if len(u.Grants) != before {
		s.touch(u)
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleBulkAdd is POST /api/v2/authorization/subjects/{id}/bulkadd with
// {"grants":[{"roleId","divisionId"}]}: 204, permission authorization:grant:add.
// Not in the fact sheet; the official SDKs list it (GoSDK authorizationapi.go
// PostAuthorizationSubjectBulkadd, "Bulk-grant roles and divisions to a
// subject", body Roledivisiongrants, no response body). An unknown role or
// division is a 400; grants the user already holds are kept once.
func (s *Server) handleBulkAdd(w http.ResponseWriter, r *http.Request, c *call) {
	refs, ok := readGrantRefs(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, false)
		return
	}
	add := make([]Grant, 0, len(refs))
	for _, ref := range refs {
		ri := slices.IndexFunc(s.org.roles, func(x Role) bool { return x.ID == ref.RoleID })
		di := slices.IndexFunc(s.org.divisions, func(x Division) bool { return x.ID == ref.DivisionID })
		if ri < 0 || di < 0 {
			c.platformError(w, http.StatusBadRequest, "bad.request", "Unknown role or division: "+ref.RoleID+" / "+ref.DivisionID)
			return
		}
		add = append(add, Grant{RoleID: ref.RoleID, RoleName: s.org.roles[ri].Name, DivisionID: ref.DivisionID, DivisionName: s.org.divisions[di].Name})
	}
	changed := false
	for _, g := range add {
		if !slices.Contains(u.Grants, g) {
			u.Grants, changed = append(u.Grants, g), true
		}
	}
	if changed {
		s.touch(u)
	}
	w.WriteHeader(http.StatusNoContent)
}

// expands reports whether the request's expand parameters (repeated, or comma-separated) name
// what, case-insensitively.
func expands(r *http.Request, what string) bool {
	for _, v := range r.URL.Query()["expand"] {
		for e := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(e), what) {
				return true
			}
		}
	}
	return false
}
