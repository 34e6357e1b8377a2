package genesyssim

import (
	"cmp"
	"fmt"
	"net/http"
)

// adminAgentRoutes add the admin paths of the contact-center accessors to m.
func (s *Server) adminAgentRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		if a, ok := s.Agent(r.PathValue("id")); ok {
			adminJSON(w, http.StatusOK, a)
			return
		}
		adminError(w, fmt.Errorf("%w %q", ErrUnknownUser, r.PathValue("id")))
	})
	m.HandleFunc("PUT /admin/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		var a AgentState
		if !decodeAdmin(w, r, &a) {
			return
		}
		s.adminDone(w, s.SetAgent(r.PathValue("id"), a))
	})
	m.HandleFunc("GET /admin/flows", func(w http.ResponseWriter, r *http.Request) { adminJSON(w, http.StatusOK, s.Flows()) })
	m.HandleFunc("PUT /admin/flows/{id}", func(w http.ResponseWriter, r *http.Request) {
		var f Flow
		if !decodeAdmin(w, r, &f) || !samePathID(w, r, &f.ID) {
			return
		}
		s.adminDone(w, s.SetFlow(f))
	})
	m.HandleFunc("GET /admin/oauth-clients", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, s.OAuthClients())
	})
	m.HandleFunc("PUT /admin/oauth-clients/{id}", func(w http.ResponseWriter, r *http.Request) {
		var c OAuthClient
		if !decodeAdmin(w, r, &c) || !samePathID(w, r, &c.ID) {
			return
		}
		s.adminDone(w, s.SetOAuthClient(c))
	})
	m.HandleFunc("GET /admin/queues", func(w http.ResponseWriter, r *http.Request) { adminJSON(w, http.StatusOK, s.Queues()) })
	m.HandleFunc("GET /admin/stations", func(w http.ResponseWriter, r *http.Request) { adminJSON(w, http.StatusOK, s.Stations()) })
	m.HandleFunc("GET /admin/management-units", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, s.ManagementUnits())
	})
	m.HandleFunc("GET /admin/presence-definitions", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, s.PresenceDefinitions())
	})
}

// samePathID fills an empty body id from the path and refuses a body id that differs from it.
func samePathID(w http.ResponseWriter, r *http.Request, id *string) bool {
	*id = cmp.Or(*id, r.PathValue("id"))
	if *id != r.PathValue("id") {
		adminError(w, fmt.Errorf("%w: body id %q is not the path id %q", ErrInvalidState, *id, r.PathValue("id")))
		return false
	}
	return true
}

// adminDone answers 204, or the accessor's error.
func (s *Server) adminDone(w http.ResponseWriter, err error) {
	if err != nil {
		adminError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
