package genesyssim

import (
	"cmp"
	"encoding/json"
	"net/http"
)

// Permissions of the station routes (SDK UsersApi).
var (
	stationViewPerms    = []string{"telephony:otherStationAssociation:view"}
	stationDisassocPerm = []string{"telephony:station:disassociate"}
	defaultStationPerms = []string{"telephony:plugin:all", "telephony:phone:assign"}
)

// handleGetStation is GET /api/v2/users/{id}/station: UserStations, each present station a
// UserStation; effectiveStation is the associated station, else the default one.
func (s *Server) handleGetStation(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, false)
		return
	}
	a := s.org.agents[u.ID]
	out := map[string]any{}
	for key, id := range map[string]string{"associatedStation": a.AssociatedStationID, "defaultStation": a.DefaultStationID,
		"lastAssociatedStation": a.LastAssociatedStationID, "effectiveStation": cmp.Or(a.AssociatedStationID, a.DefaultStationID)} {
		if id != "" {
			out[key] = s.userStation(id)
		}
	}
	writeJSON(w, http.StatusOK, contentJSON, out)
}

// userStation is the UserStation body of a station. The caller holds s.mu.
func (s *Server) userStation(id string) map[string]any {
	st, _ := s.org.station(id)
	m := map[string]any{"id": st.ID, "name": st.Name, "type": "inin_webrtc_softphone.lines"}
	for _, uid := range s.org.order {
		a, u := s.org.agents[uid], s.org.users[uid]
		if a.DefaultStationID == id {
			m["defaultUser"] = userRef(u)
		}
		if a.AssociatedStationID == id {
			m["associatedUser"] = userRef(u)
			m["associatedDate"] = seedBase.Format(timeLayout)
		}
	}
	return m
}

// handleDeleteAssociatedStation is DELETE /api/v2/users/{id}/station/associatedstation: 204;
// the station becomes the user's lastAssociatedStation.
func (s *Server) handleDeleteAssociatedStation(w http.ResponseWriter, r *http.Request, c *call) {
	s.changeAgent(w, c, func(a *AgentState) bool {
		if a.AssociatedStationID != "" {
			a.LastAssociatedStationID, a.AssociatedStationID = a.AssociatedStationID, ""
		}
		return true
	})
}

// handleDeleteDefaultStation is DELETE /api/v2/users/{id}/station/defaultstation: 204.
func (s *Server) handleDeleteDefaultStation(w http.ResponseWriter, r *http.Request, c *call) {
	s.changeAgent(w, c, func(a *AgentState) bool {
		a.DefaultStationID = ""
		return true
	})
}

// handlePutDefaultStation is PUT /api/v2/users/{id}/station/defaultstation/{stationId}: 204.
// An unknown station is a 404; a station that is another user's default a 409, unless
// Config.TakeDefaultStation (then that user loses it).
func (s *Server) handlePutDefaultStation(w http.ResponseWriter, r *http.Request, c *call) {
	stationID := r.PathValue("stationId")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.org.live(c.userID); !ok {
		s.notFound(w, c, false)
		return
	}
	if _, ok := s.org.station(stationID); !ok {
		c.platformError(w, http.StatusNotFound, "not.found", "The station "+stationID+" was not found.")
		return
	}
	if other := s.org.defaultUserOf(stationID); other != "" && other != c.userID {
		if !s.cfg.TakeDefaultStation {
			c.platformError(w, http.StatusConflict, "conflict", "The station "+stationID+" is already the default station of another user.")
			return
		}
		s.org.agents[other].DefaultStationID = ""
	}
	s.org.agents[c.userID].DefaultStationID = stationID
	w.WriteHeader(http.StatusNoContent)
}

// changeAgent applies change to a live user's state and answers 204, or 404 for an unknown
// user. change returns false when it has answered the request itself.
func (s *Server) changeAgent(w http.ResponseWriter, c *call, change func(*AgentState) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.org.live(c.userID); !ok {
		s.notFound(w, c, false)
		return
	}
	if change(s.org.agents[c.userID]) {
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleGetForwarding is GET /api/v2/users/{id}/callforwarding: CallForwarding, the targets as
// one CallRoute. Permission conversation:callForwarding:view.
func (s *Server) handleGetForwarding(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, false)
		return
	}
	writeJSON(w, http.StatusOK, contentJSON, s.callForwarding(u))
}

func (s *Server) callForwarding(u *User) map[string]any {
	f := s.org.agents[u.ID].Forwarding
	calls := []map[string]any{}
	if len(f.Targets) > 0 {
		calls = append(calls, map[string]any{"targets": f.Targets})
	}
	m := map[string]any{"id": u.ID, "user": userRef(u), "enabled": f.Enabled, "calls": calls,
		"modifiedDate": seedBase.Format(timeLayout), "selfUri": "/api/v2/users/" + u.ID + "/callforwarding"}
	if f.Voicemail != "" {
		m["voicemail"] = f.Voicemail
	}
	return m
}

// handlePatchForwarding is PATCH /api/v2/users/{id}/callforwarding: the fields sent (enabled,
// calls, voicemail) replace the stored ones; 200 CallForwarding. A target that is not
// {type: PHONENUMBER|STATION, value}, or forwarding enabled without targets, is a 400.
// Permission conversation:callForwarding:edit.
func (s *Server) handlePatchForwarding(w http.ResponseWriter, r *http.Request, c *call) {
	body, ok := readBody(w, r, c)
	if !ok {
		return
	}
	var req struct {
		Enabled *bool `json:"enabled"`
		Calls   *[]struct {
			Targets []ForwardingTarget `json:"targets"`
		} `json:"calls"`
		Voicemail *string `json:"voicemail"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		c.platformError(w, http.StatusBadRequest, "bad.request", "The body must be a CallForwarding object.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.org.live(c.userID)
	if !ok {
		s.notFound(w, c, false)
		return
	}
	next := s.org.agents[u.ID].clone().Forwarding
	if req.Enabled != nil {
		next.Enabled = *req.Enabled
	}
	if req.Calls != nil {
		next.Targets = []ForwardingTarget{}
		for _, route := range *req.Calls {
			next.Targets = append(next.Targets, route.Targets...)
		}
	}
	if req.Voicemail != nil {
		next.Voicemail = *req.Voicemail
	}
	if err := checkTargets(next); err != nil {
		c.platformError(w, http.StatusBadRequest, "bad.request", err.Error())
		return
	}
	s.org.agents[u.ID].Forwarding = next
	writeJSON(w, http.StatusOK, contentJSON, s.callForwarding(u))
}
