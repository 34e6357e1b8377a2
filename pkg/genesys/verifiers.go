package genesys

import (
	"context"
	"net/http"
)

// Verifier is one of a user's MFA verifiers (the SDK's Verifier). Type is
// not in the SDK's model; it is read when Genesys sends it.
type Verifier struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Type    string `json:"type,omitempty"`
	Enabled bool   `json:"enabled,omitempty"`
	Default bool   `json:"default,omitempty"`
}

// Verifiers lists the user's MFA verifiers
// (GET /api/v2/users/{id}/verifiers, permission mfa:verifier:view). The
// answer is one unpaged list.
func (s *UsersService) Verifiers(ctx context.Context, userID string) ([]Verifier, *Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/users/"+userID+"/verifiers", nil)
	if err != nil {
		return nil, nil, err
	}
	var list struct {
		Entities []Verifier `json:"entities"`
	}
	resp, err := s.client.do(req, &list)
	if err != nil {
		return nil, resp, err
	}
	return list.Entities, resp, nil
}

// DeleteVerifier deletes one of the user's MFA verifiers
// (DELETE /api/v2/users/{id}/verifiers/{verifierId}, permission
// mfa:verifier:delete); the user enrols again to get one back. Genesys does
// not document the form of a verifier id: any id of letters, digits, '-'
// and '_' is sent.
func (s *UsersService) DeleteVerifier(ctx context.Context, userID, verifierID string) (*Response, error) {
	if err := checkID(userID); err != nil {
		return nil, err
	}
	if err := checkSegment("verifier", verifierID); err != nil {
		return nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodDelete, "api/v2/users/"+userID+"/verifiers/"+verifierID, nil)
	if err != nil {
		return nil, err
	}
	return s.client.do(req, nil)
}
