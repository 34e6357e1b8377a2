package genesys

import (
	"context"
	"net/http"
)

// CallForwardingService reads and changes users' call forwarding.
type CallForwardingService service

// CallForwarding is a user's call forwarding
// (GET /api/v2/users/{id}/callforwarding). As a PATCH body, Enabled is
// always sent; Calls and Voicemail only when set, so
// CallForwarding{Enabled: false} turns forwarding off and keeps the targets.
type CallForwarding struct {
	Enabled   bool             `json:"enabled"`
	Calls     []ForwardingCall `json:"calls,omitempty"`     // routes tried in order
	Voicemail string           `json:"voicemail,omitempty"` // "PURECLOUD", "LASTCALL" or "NONE"
}

// ForwardingCall is one route (the SDK's CallRoute): targets rung together.
type ForwardingCall struct {
	Targets []ForwardingTarget `json:"targets"`
}

// ForwardingTarget is a station id or an E.164 number (the SDK's CallTarget).
type ForwardingTarget struct {
	Type  string `json:"type"`  // "STATION" or "PHONENUMBER"
	Value string `json:"value"` // station id or E.164 number
}

// Get reads the user's call forwarding (GET /api/v2/users/{id}/callforwarding,
// permission conversation:callForwarding:view).
func (s *CallForwardingService) Get(ctx context.Context, userID string) (*CallForwarding, *Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/users/"+userID+"/callforwarding", nil)
	if err != nil {
		return nil, nil, err
	}
	var cf CallForwarding
	resp, err := s.client.do(req, &cf)
	if err != nil {
		return nil, resp, err
	}
	return &cf, resp, nil
}

// Patch changes the user's call forwarding
// (PATCH /api/v2/users/{id}/callforwarding, permission
// conversation:callForwarding:edit) and returns what Genesys answers.
func (s *CallForwardingService) Patch(ctx context.Context, userID string, cf CallForwarding) (*CallForwarding, *Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodPatch, "api/v2/users/"+userID+"/callforwarding", cf)
	if err != nil {
		return nil, nil, err
	}
	var out CallForwarding
	resp, err := s.client.do(req, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}
