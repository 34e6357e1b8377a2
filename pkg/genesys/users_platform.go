package genesys

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// PlatformUser is what the read-back needs of the platform User (GET /api/v2/users/{id}): its
// state and, when expanded, when it was last granted a token.
type PlatformUser struct {
	ID string `json:"id"`
	// State is "active", "inactive" or "deleted".
	State   string `json:"state"`
	Version int    `json:"version"`
	// LastTokenIssued is nil when Genesys did not send it: never granted one, or not expanded.
	LastTokenIssued *TokenIssued `json:"lastTokenIssued,omitempty"`
}

// TokenIssued is the OAuthLastTokenIssued object.
type TokenIssued struct {
	DateIssued time.Time `json:"dateIssued"`
}

// GetPlatform reads the platform user id with GET /api/v2/users/{id}?expand=lasttokenissued
// (contact-center.md §3: a token issued after our revocation means the user got back in). An
// inactive user is read like an active one; a deleted or unknown one is ErrNotFound.
func (s *UsersService) GetPlatform(ctx context.Context, id string) (*PlatformUser, *Response, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/users/"+id+"?expand=lasttokenissued", nil)
	if err != nil {
		return nil, nil, err
	}
	var u PlatformUser
	resp, err := s.client.do(req, &u)
	if err != nil {
		return nil, resp, err
	}
	if !strings.EqualFold(u.ID, id) {
		return nil, resp, fmt.Errorf("%w: asked for user %s, Genesys answered with user %q", ErrWrongUser, id, truncate(u.ID, 64))
	}
	return &u, resp, nil
}
