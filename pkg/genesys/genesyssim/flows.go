package genesyssim

import (
	"encoding/json"
	"net/http"
	"slices"
)

// handleFlows is GET /api/v2/flows: FlowEntityListing, paged (pageSize at most 100), filtered
// by lockedBy (a user id). Permission architect:flow:view.
func (s *Server) handleFlows(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	size, number, ok := readPage(w, c, q, 100)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var flows []map[string]any
	for _, f := range s.org.flows {
		if lockedBy := q.Get("lockedBy"); lockedBy == "" || f.LockedBy == lockedBy {
			flows = append(flows, s.flowBody(f))
		}
	}
	writeJSON(w, http.StatusOK, contentJSON, listing(r, page(flows, size, number), size, number, len(flows)))
}

// flowBody is the Flow body. The caller holds s.mu.
func (s *Server) flowBody(f *Flow) map[string]any {
	home, _ := s.org.division("Home")
	m := map[string]any{"id": f.ID, "name": f.Name, "type": f.Type, "active": true, "system": false, "deleted": false,
		"division": divisionRef(home), "selfUri": "/api/v2/flows/" + f.ID}
	if u, ok := s.org.users[f.LockedBy]; ok {
		m["lockedUser"] = userRef(u)
	}
	return m
}

// handleUnlockFlow is POST /api/v2/flows/actions/unlock?flow={flowId}: 200 with the unlocked
// Flow (unlocking an unlocked flow succeeds too). A missing flow parameter is a 400, an unknown
// flow a 404. Permission architect:flow:unlock.
func (s *Server) handleUnlockFlow(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.URL.Query().Get("flow")
	if id == "" {
		c.platformError(w, http.StatusBadRequest, "bad.request", "The query parameter flow (a flow id) is required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.org.flows, func(f *Flow) bool { return f.ID == id })
	if i < 0 {
		c.platformError(w, http.StatusNotFound, "not.found", "The flow "+id+" was not found.")
		return
	}
	s.org.flows[i].LockedBy = ""
	writeJSON(w, http.StatusOK, contentJSON, s.flowBody(s.org.flows[i]))
}

// handleOAuthClients is GET /api/v2/oauth/clients: OAuthClientEntityListing of every client
// in one page (the SDK's call takes no paging parameters). Permission oauth:client:view.
func (s *Server) handleOAuthClients(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	entities := make([]map[string]any, 0, len(s.org.oauthClients))
	for _, cl := range s.org.oauthClients {
		entities = append(entities, oauthClientBody(cl))
	}
	n := max(len(entities), 1)
	writeJSON(w, http.StatusOK, contentJSON, listing(r, entities, n, 1, len(entities)))
}

func oauthClientBody(cl *OAuthClient) map[string]any {
	m := map[string]any{"id": cl.ID, "name": cl.Name, "description": cl.Description, "state": cl.State,
		"authorizedGrantType": cl.AuthorizedGrantType, "accessTokenValiditySeconds": 86400,
		"registeredRedirectUri": []string{}, "roleDivisions": []any{}, "scope": []string{},
		"dateCreated": seedBase.Format(timeLayout), "selfUri": "/api/v2/oauth/clients/" + cl.ID}
	if cl.CreatedBy != "" {
		m["createdBy"] = ref(cl.CreatedBy, "", "/api/v2/users/"+cl.CreatedBy)
	}
	return m
}

// oauthClient returns the client named by {clientId}, or answers 404. The caller holds s.mu.
func (s *Server) oauthClient(w http.ResponseWriter, r *http.Request, c *call) (*OAuthClient, bool) {
	id := r.PathValue("clientId")
	i := slices.IndexFunc(s.org.oauthClients, func(cl *OAuthClient) bool { return cl.ID == id })
	if i < 0 {
		c.platformError(w, http.StatusNotFound, "not.found", "The OAuth client "+id+" was not found.")
		return nil, false
	}
	return s.org.oauthClients[i], true
}

// handleGetOAuthClient is GET /api/v2/oauth/clients/{clientId}: OAuthClient.
func (s *Server) handleGetOAuthClient(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cl, ok := s.oauthClient(w, r, c); ok {
		writeJSON(w, http.StatusOK, contentJSON, oauthClientBody(cl))
	}
}

// handlePutOAuthClient is PUT /api/v2/oauth/clients/{clientId} with the whole OAuthClient: the
// name, description, grant type and state sent replace the stored ones (so a field left out is
// lost, as with any PUT); 200 OAuthClient. name and authorizedGrantType are required (the SDK
// marks them so) and state must be Active, Disabled or Inactive, else 400. Permission
// oauth:client:edit.
func (s *Server) handlePutOAuthClient(w http.ResponseWriter, r *http.Request, c *call) {
	body, ok := readBody(w, r, c)
	if !ok {
		return
	}
	var req struct { // createdBy and the other read-only fields are ignored
		Name                string `json:"name"`
		Description         string `json:"description"`
		State               string `json:"state"`
		AuthorizedGrantType string `json:"authorizedGrantType"`
	}
	if json.Unmarshal(body, &req) != nil || req.Name == "" || req.AuthorizedGrantType == "" ||
		!slices.Contains([]string{OAuthClientActive, OAuthClientDisabled, OAuthClientInactive}, req.State) {
		c.platformError(w, http.StatusBadRequest, "bad.request",
			"The body must be an OAuthClient with name, authorizedGrantType and state Active|Disabled|Inactive.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.oauthClient(w, r, c)
	if !ok {
		return
	}
	cl.Name, cl.Description, cl.AuthorizedGrantType, cl.State = req.Name, req.Description, req.AuthorizedGrantType, req.State
	writeJSON(w, http.StatusOK, contentJSON, oauthClientBody(cl))
}
