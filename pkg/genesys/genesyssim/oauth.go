package genesyssim

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"time"
)

type clientState struct {
	Client
	disabled bool
}

type accessToken struct {
	clientID string
	expires  time.Time
}

// authError is the login host's error body (GoSDK AuthErrorResponse).
type authError struct {
	Error            string `json:"error"`
	Description      string `json:"description"`
	ErrorDescription string `json:"error_description"`
}

func writeAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, contentJSON, authError{Error: code, Description: description, ErrorDescription: description})
}

// handleToken is POST /oauth/token, the client-credentials grant. It is not rate limited.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r)
	c.route = r.Pattern
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		writeAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok && s.cfg.AllowBodyCredentials {
		id, secret, ok = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), r.PostForm.Has("client_id")
	}
	if !ok {
		writeAuthError(w, http.StatusUnauthorized, "invalid_client", "authentication failed")
		return
	}
	c.clientID = id
	s.mu.Lock()
	cl, known := s.clients[id]
	accepted := known && !cl.disabled && subtle.ConstantTimeCompare([]byte(cl.Secret), []byte(secret)) == 1
	s.mu.Unlock()
	switch {
	case !known:
		writeAuthError(w, http.StatusBadRequest, "invalid_client", "client not found")
		return
	case !accepted:
		writeAuthError(w, http.StatusUnauthorized, "invalid_client", "authentication failed")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		writeAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	default:
		writeAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type "+gt+" is not supported")
		return
	}
	token, err := s.Token(id)
	if err != nil {
		writeAuthError(w, http.StatusUnauthorized, "invalid_client", "authentication failed")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, contentJSON, map[string]any{
		"access_token": token, "token_type": "bearer", "expires_in": int64(s.cfg.TokenTTL / time.Second)})
}

// authenticate checks the bearer token. On failure it writes the 401 (with rate-limit headers
// reporting an empty window, since unauthenticated requests are not counted) and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, c *call) bool {
	auth := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(auth, " ")
	code := ""
	if !strings.EqualFold(scheme, "bearer") || token == "" {
		code = "authentication.required"
	} else {
		s.mu.Lock()
		t, ok := s.tokens[token]
		if ok {
			c.clientID = t.clientID // logged even when refused
		}
		switch {
		case !ok || s.clients[t.clientID].disabled:
			code = "bad.credentials"
		case !s.cfg.Now().Before(t.expires):
			code = "credentials.expired"
		default:
			c.token = token
		}
		s.mu.Unlock()
	}
	if code == "" {
		return true
	}
	s.setRateHeaders(w, rateDecision{})
	c.platformError(w, http.StatusUnauthorized, code, "")
	return false
}

// permitted reports whether the client holds any of perms (none needed when perms is empty).
func (s *Server) permitted(clientID string, perms []string) bool {
	if len(perms) == 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	held := s.clients[clientID].Permissions
	return held == nil || slices.ContainsFunc(perms, func(p string) bool { return slices.Contains(held, p) })
}

// handleDeleteMyToken is DELETE /api/v2/tokens/me: it revokes the calling token (200, empty).
func (s *Server) handleDeleteMyToken(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	delete(s.tokens, c.token)
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// Token issues an access token for clientID as the grant would, without an HTTP round trip.
// It fails for an unknown or disabled client.
func (s *Server) Token(clientID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.clients[clientID]
	if !ok || cl.disabled {
		return "", errUnknownClient(clientID)
	}
	token := rand.Text() + rand.Text()
	s.tokens[token] = &accessToken{clientID: clientID, expires: s.cfg.Now().Add(s.cfg.TokenTTL)}
	return token, nil
}

// SetClientEnabled refuses (false) or accepts again (true) an OAuth client's credentials. While
// refused, its grants get 401 "authentication failed" and its tokens get 401 bad.credentials;
// enabling it again makes those tokens, if unexpired, valid again.
func (s *Server) SetClientEnabled(clientID string, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.clients[clientID]
	if !ok {
		return errUnknownClient(clientID)
	}
	cl.disabled = !enabled
	return nil
}

// SetClientPermissions replaces the permissions an OAuth client's roles grant (nil: every
// permission), as an admin editing the client's role would; the next request sees the change.
func (s *Server) SetClientPermissions(clientID string, perms []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.clients[clientID]
	if !ok {
		return errUnknownClient(clientID)
	}
	cl.Permissions = slices.Clone(perms)
	return nil
}

// RevokeTokens forgets every issued access token: their next use gets 401 bad.credentials.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// ExpireTokens expires every issued access token now: their next use gets 401 credentials.expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	for _, t := range s.tokens {
		t.expires = now
	}
}
