package genesyssim

import (
	"encoding/json"
	"net/http"
	"slices"
)

const timeLayout = "2006-01-02T15:04:05.000Z"

// handleGetRoutingStatus is GET /api/v2/users/{id}/routingstatus: RoutingStatus. As the SDK
// documents, an unknown user gets 200 OFF_QUEUE, not 404.
func (s *Server) handleGetRoutingStatus(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	status := RoutingOffQueue
	if _, ok := s.org.live(c.userID); ok {
		status = s.org.agents[c.userID].RoutingStatus
	}
	writeJSON(w, http.StatusOK, contentJSON, s.routingStatus(c.userID, status))
}

func (s *Server) routingStatus(userID, status string) map[string]any {
	return map[string]any{"userId": userID, "status": status, "startTime": s.cfg.Now().UTC().Format(timeLayout)}
}

// handlePutRoutingStatus is PUT /api/v2/users/{id}/routingstatus {"status": ...}: 200
// RoutingStatus. Permission: Config.RoutingStatusPermission (none by default). Leaving the
// queue leaves the "On Queue" presence for "Available"; any other status is "On Queue".
func (s *Server) handlePutRoutingStatus(w http.ResponseWriter, r *http.Request, c *call) {
	body, ok := readBody(w, r, c)
	if !ok {
		return
	}
	var req struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(body, &req) != nil || !slices.Contains(routingStatuses, req.Status) {
		c.platformError(w, http.StatusBadRequest, "bad.request",
			`The body must be {"status": "OFF_QUEUE"|"IDLE"|"INTERACTING"|"COMMUNICATING"|"NOT_RESPONDING"}.`)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.org.live(c.userID); !ok {
		s.notFound(w, c, false)
		return
	}
	s.org.agents[c.userID].setRouting(req.Status)
	writeJSON(w, http.StatusOK, contentJSON, s.routingStatus(c.userID, req.Status))
}

// handlePresenceDefinitions is GET /api/v2/presence/definitions: the org's system presence
// definitions (OrganizationPresenceDefinitionEntityListing), paged. Permission
// presence:presenceDefinition:view.
func (s *Server) handlePresenceDefinitions(w http.ResponseWriter, r *http.Request, c *call) {
	size, number, ok := readPage(w, c, r.URL.Query(), 100)
	if !ok {
		return
	}
	var entities []map[string]any
	for _, p := range page(orgPresences, size, number) {
		entities = append(entities, presenceDefinition(p, true))
	}
	writeJSON(w, http.StatusOK, contentJSON, listing(r, entities, size, number, len(orgPresences)))
}

// presenceDefinition is the PresenceDefinition body; full adds the org definition's fields.
func presenceDefinition(p PresenceDefinition, full bool) map[string]any {
	m := map[string]any{"id": p.ID, "systemPresence": p.SystemPresence, "selfUri": "/api/v2/presence/definitions/" + p.ID}
	if full {
		m["name"], m["type"], m["deactivated"] = p.SystemPresence, "System", false
		m["languageLabels"] = map[string]string{"en_US": p.SystemPresence}
	}
	return m
}

// handleGetPresence is GET /api/v2/users/{id}/presences/purecloud: UserPresence.
func (s *Server) handleGetPresence(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.org.live(c.userID); !ok {
		s.notFound(w, c, false)
		return
	}
	writeJSON(w, http.StatusOK, contentJSON, s.userPresence(c.userID))
}

func (s *Server) userPresence(userID string) map[string]any {
	p, _ := presenceByName(s.org.agents[userID].Presence)
	return map[string]any{"source": "PURECLOUD", "primary": true, "presenceDefinition": presenceDefinition(p, false),
		"modifiedDate": s.cfg.Now().UTC().Format(timeLayout), "selfUri": "/api/v2/users/" + userID + "/presences/purecloud"}
}

// handlePatchPresence is PATCH /api/v2/users/{id}/presences/purecloud
// {"presenceDefinition":{"id":...}}: 200 UserPresence. An unknown definition id is a 400.
// Permission: Config.PresencePermission (none by default). Leaving "On Queue" takes the
// agent off queue; choosing it puts them on queue.
func (s *Server) handlePatchPresence(w http.ResponseWriter, r *http.Request, c *call) {
	body, ok := readBody(w, r, c)
	if !ok {
		return
	}
	var req struct {
		PresenceDefinition struct {
			ID string `json:"id"`
		} `json:"presenceDefinition"`
	}
	def, known := PresenceDefinition{}, false
	if json.Unmarshal(body, &req) == nil {
		def, known = presenceByID(req.PresenceDefinition.ID)
	}
	if !known {
		c.platformError(w, http.StatusBadRequest, "bad.request",
			`The body must be {"presenceDefinition":{"id":"<id from GET /api/v2/presence/definitions>"}}.`)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.org.live(c.userID); !ok {
		s.notFound(w, c, false)
		return
	}
	s.org.agents[c.userID].setPresence(def.SystemPresence)
	writeJSON(w, http.StatusOK, contentJSON, s.userPresence(c.userID))
}
