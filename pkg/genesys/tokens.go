package genesys

import (
	"context"
	"errors"
	"net/http"
)

// TokensService revokes OAuth tokens. Genesys has no per-user session list:
// deleting a user's tokens is how their sessions end.
type TokensService service

// RevokeAll deletes every OAuth token of the user
// (DELETE /api/v2/tokens/{userId}, permission oauth:token:delete), which
// signs them out of every client. Genesys answers 204. Whether it answers 204
// or 404 for a user who holds no tokens is undocumented, so a 404 is not an
// error here: the Response's StatusCode says which it was. Callers that must
// know the user exists read it first, as the deactivation plan does.
func (s *TokensService) RevokeAll(ctx context.Context, userID string) (*Response, error) {
	if err := checkID(userID); err != nil {
		return nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodDelete, "api/v2/tokens/"+userID, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.do(req, nil)
	if errors.Is(err, ErrNotFound) {
		return resp, nil
	}
	return resp, err
}
