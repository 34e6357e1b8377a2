package genesyssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
)

// handleAgentManagementUnit is GET /api/v2/workforcemanagement/agents/{agentId}/managementunit:
// AgentManagementUnitReference {user, managementUnit, businessUnit}. A user in no unit gets 200
// with the user only (what Genesys answers then is unconfirmed); an unknown user 404.
// Permission wfm:agent:view or wfm:agent:edit.
func (s *Server) handleAgentManagementUnit(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, false)
		return
	}
	out := map[string]any{"user": ref(u.ID, "", "/api/v2/users/"+u.ID)}
	if mu, ok := unitByID(s.org.agents[u.ID].ManagementUnitID); ok {
		out["managementUnit"] = unitRef(mu)
		out["businessUnit"] = ref(orgBusinessUnit.ID, orgBusinessUnit.Name, "/api/v2/workforcemanagement/businessunits/"+orgBusinessUnit.ID)
	}
	writeJSON(w, http.StatusOK, contentJSON, out)
}

func unitRef(mu UnitInfo) map[string]any {
	return ref(mu.ID, mu.Name, "/api/v2/workforcemanagement/managementunits/"+mu.ID)
}

// handleMoveAgents is POST /api/v2/workforcemanagement/agents
// {"userIds": [...], "destinationManagementUnitId": id | null}: 200 MoveAgentsResponse, one
// result per user ("Success", or "UserNotFound" for an unknown user). null removes the users
// from their unit. No userIds (or more than 100), or an unknown unit, is a 400. Permission
// wfm:agent:edit.
func (s *Server) handleMoveAgents(w http.ResponseWriter, r *http.Request, c *call) {
	body, ok := readBody(w, r, c)
	if !ok {
		return
	}
	var req struct {
		UserIDs     []string `json:"userIds"`
		Destination *string  `json:"destinationManagementUnitId"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.UserIDs) == 0 || len(req.UserIDs) > 100 || slices.Contains(req.UserIDs, "") {
		c.platformError(w, http.StatusBadRequest, "bad.request",
			`The body must be {"userIds": [1 to 100 user ids], "destinationManagementUnitId": "<unit id>" | null}.`)
		return
	}
	dest := ""
	out := map[string]any{}
	if req.Destination != nil {
		mu, ok := unitByID(*req.Destination)
		if !ok {
			c.platformError(w, http.StatusBadRequest, "bad.request", fmt.Sprintf("The management unit %q does not exist.", *req.Destination))
			return
		}
		dest, out["destinationManagementUnit"] = mu.ID, unitRef(mu)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	results := []map[string]any{}
	for _, id := range req.UserIDs {
		result := "UserNotFound"
		if _, ok := s.org.live(id); ok {
			s.org.agents[id].ManagementUnitID, result = dest, "Success"
		}
		results = append(results, map[string]any{"user": ref(id, "", "/api/v2/users/"+id), "result": result})
	}
	out["results"] = results
	writeJSON(w, http.StatusOK, contentJSON, out)
}

// handleVerifiers is GET /api/v2/users/{id}/verifiers: VerifierEntityListing (Verifier: id,
// name, enabled, default). Permission mfa:verifier:view.
func (s *Server) handleVerifiers(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.org.live(c.userID); !ok {
		s.notFound(w, c, false)
		return
	}
	entities := []map[string]any{}
	for _, v := range s.org.agents[c.userID].Verifiers {
		entities = append(entities, map[string]any{"id": v.ID, "name": v.Name, "enabled": true, "default": v.Default,
			"selfUri": "/api/v2/users/" + c.userID + "/verifiers/" + v.ID})
	}
	writeJSON(w, http.StatusOK, contentJSON, listing(r, entities, max(len(entities), 1), 1, len(entities)))
}

// handleDeleteVerifier is DELETE /api/v2/users/{id}/verifiers/{verifierId}: 204; an unknown
// user or verifier 404. Permission mfa:verifier:delete.
func (s *Server) handleDeleteVerifier(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.org.live(c.userID); !ok {
		s.notFound(w, c, false)
		return
	}
	a, id := s.org.agents[c.userID], r.PathValue("verifierId")
	i := slices.IndexFunc(a.Verifiers, func(v Verifier) bool { return v.ID == id })
	if i < 0 {
		c.platformError(w, http.StatusNotFound, "not.found", "The verifier "+id+" was not found.")
		return
	}
	a.Verifiers = slices.Delete(a.Verifiers, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}
