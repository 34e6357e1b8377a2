package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Delete deletes the user through SCIM (DELETE /api/v2/scim/v2/users/{id}, permission
// directory:user:delete). Genesys documents it as a soft delete: the user's state becomes
// "deleted", SCIM no longer shows the user, and only a PATCH of the platform user's state
// restores it, without its roles (genesys-api.md §3.6). A non-empty version is sent as If-Match,
// so that a user changed since it was read (reactivated, say) makes the call fail with
// ErrVersionConflict instead of deleting it. 200 and 204 are both documented success answers; a
// 404 (the user is unknown or already deleted) is ErrNotFound.
func (s *UsersService) Delete(ctx context.Context, id, version string) (*Response, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodDelete, "api/v2/scim/v2/users/"+id, nil)
	if err != nil {
		return nil, err
	}
	if version != "" {
		req.Header.Set("If-Match", quoteETag(version))
	}
	return s.client.do(req, nil)
}

// DeleteByAPI deletes the user through the platform API (DELETE /api/v2/users/{id}, permission
// directory:user:delete; Genesys answers 200 with an empty body). It is the same soft delete as
// Delete's, but the platform form takes no version: a user changed since it was read is deleted
// all the same, so callers read it right before. A 404 is ErrNotFound.
func (s *UsersService) DeleteByAPI(ctx context.Context, id string) (*Response, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodDelete, "api/v2/users/"+id, nil)
	if err != nil {
		return nil, err
	}
	return s.client.do(req, nil)
}

// IsDeleted reports whether the user id exists in the state "deleted": it reads the platform user
// with ?state=deleted (GET /api/v2/users/{id}, which finds a deleted user only so). A 404 means
// no deleted user has this id (the user may be active, inactive or unknown): false, no error.
func (s *UsersService) IsDeleted(ctx context.Context, id string) (bool, *Response, error) {
	if err := checkID(id); err != nil {
		return false, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/users/"+id+"?state=deleted", nil)
	if err != nil {
		return false, nil, err
	}
	var u struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	resp, err := s.client.do(req, &u)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, resp, nil
	case err != nil:
		return false, resp, err
	case !strings.EqualFold(u.ID, id):
		return false, resp, fmt.Errorf("%w: asked for deleted user %s, Genesys answered with user %q", ErrWrongUser, id, truncate(u.ID, 64))
	}
	return u.State == "deleted", resp, nil
}
