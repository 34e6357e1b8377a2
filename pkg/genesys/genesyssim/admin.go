package genesyssim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// adminRoutes serves the test-tool paths under /admin. They need no authentication, are not
// rate limited, not faulted and not logged: listen on loopback (the command's default).
func (s *Server) adminRoutes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /admin/health", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /admin/requests", s.adminRequests)
	m.HandleFunc("GET /admin/counters", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, s.Counters())
	})
	m.HandleFunc("POST /admin/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		if r.URL.Query().Get("org") == "true" {
			s.ResetOrg()
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /admin/users", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, s.Users())
	})
	m.HandleFunc("POST /admin/users", s.adminAddUser)
	m.HandleFunc("GET /admin/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		if u, ok := s.User(r.PathValue("id")); ok {
			adminJSON(w, http.StatusOK, u)
			return
		}
		adminError(w, ErrUnknownUser)
	})
	m.HandleFunc("PUT /admin/users/{id}/tokens", s.adminSetTokens)
	m.HandleFunc("POST /admin/users/{id}/login", func(w http.ResponseWriter, r *http.Request) {
		at, err := s.Login(r.PathValue("id"))
		if err != nil {
			adminError(w, err)
			return
		}
		adminJSON(w, http.StatusOK, map[string]string{"dateIssued": at.Format(time.RFC3339Nano)})
	})
	m.HandleFunc("POST /admin/users/{id}/activate", func(w http.ResponseWriter, r *http.Request) {
		if err := s.ActivateAsAdmin(r.PathValue("id"), r.URL.Query().Get("by")); err != nil {
			adminError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET /admin/audits", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, s.AuditTrail())
	})
	m.HandleFunc("GET /admin/roles", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, map[string]any{"roles": s.Roles(), "divisions": s.Divisions()})
	})
	m.HandleFunc("GET /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, s.Faults())
	})
	m.HandleFunc("PUT /admin/faults", s.adminSetFaults)
	m.HandleFunc("POST /admin/clients/{id}/disable", s.adminClientEnabled(false))
	m.HandleFunc("POST /admin/clients/{id}/enable", s.adminClientEnabled(true))
	m.HandleFunc("POST /admin/tokens", s.adminIssueToken)
	m.HandleFunc("POST /admin/tokens/revoke-all", func(w http.ResponseWriter, r *http.Request) {
		s.RevokeTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /admin/tokens/expire-all", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	s.adminAgentRoutes(m)
	s.admin = m
}

func adminJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, contentJSON, v) }

// adminError maps accessor errors: unknown user/client → 404, anything else → 400.
func adminError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrUnknownUser) || errors.Is(err, ErrUnknownClient) {
		status = http.StatusNotFound
	}
	adminJSON(w, status, map[string]string{"error": err.Error()})
}

// decodeAdmin decodes a JSON body, refusing unknown fields so that a typo is not silently ignored.
func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		adminError(w, err)
		return false
	}
	return true
}

// adminRequests is GET /admin/requests[?since=<seq>].
func (s *Server) adminRequests(w http.ResponseWriter, r *http.Request) {
	var since uint64
	if v := r.URL.Query().Get("since"); v != "" {
		var err error
		if since, err = strconv.ParseUint(v, 10, 64); err != nil {
			adminError(w, errors.New("since must be a request sequence number"))
			return
		}
	}
	adminJSON(w, http.StatusOK, s.RequestsSince(since))
}

func (s *Server) adminAddUser(w http.ResponseWriter, r *http.Request) {
	var u User
	if !decodeAdmin(w, r, &u) {
		return
	}
	added, err := s.AddUser(u)
	if err != nil {
		adminError(w, err)
		return
	}
	adminJSON(w, http.StatusCreated, added)
}

func (s *Server) adminSetTokens(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Tokens int `json:"tokens"`
	}
	if !decodeAdmin(w, r, &body) {
		return
	}
	if err := s.SetUserTokens(r.PathValue("id"), body.Tokens); err != nil {
		adminError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) adminSetFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if !decodeAdmin(w, r, &f) {
		return
	}
	if err := s.SetFaults(f); err != nil {
		adminError(w, err)
		return
	}
	adminJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) adminClientEnabled(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.SetClientEnabled(r.PathValue("id"), enabled); err != nil {
			adminError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// adminIssueToken is POST /admin/tokens {"clientId": "..."}: a bearer token without the grant.
func (s *Server) adminIssueToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ClientID string `json:"clientId"`
	}
	if !decodeAdmin(w, r, &body) {
		return
	}
	token, err := s.Token(body.ClientID)
	if err != nil {
		adminError(w, err)
		return
	}
	adminJSON(w, http.StatusOK, map[string]string{"access_token": token})
}
