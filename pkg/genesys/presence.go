package genesys

import (
	"context"
	"net/http"
	"strconv"
)

// PresenceService reads presence definitions and reads and sets users'
// Genesys Cloud presence.
type PresenceService service

// System presences (PresenceDefinition.SystemPresence) that offboarding uses.
const (
	PresenceOffline   = "Offline"
	PresenceAvailable = "Available"
)

// PresenceDefinition is a presence an organization offers. In a user's
// presence Genesys sends only ID and SystemPresence; the definitions list
// adds the rest.
type PresenceDefinition struct {
	ID             string            `json:"id"`
	SystemPresence string            `json:"systemPresence,omitempty"` // "Available", "Offline", "Busy", ...
	Type           string            `json:"type,omitempty"`           // "System" or "User" (definitions list only)
	Deactivated    bool              `json:"deactivated,omitempty"`    // definitions list only
	LanguageLabels map[string]string `json:"languageLabels,omitempty"` // definitions list only
}

// UserPresence is a user's Genesys Cloud (source PURECLOUD) presence.
type UserPresence struct {
	PresenceDefinition PresenceDefinition `json:"presenceDefinition"`
	Source             string             `json:"source,omitempty"`
	Message            string             `json:"message,omitempty"`
	ModifiedDate       string             `json:"modifiedDate,omitempty"` // ISO-8601
}

// Definitions lists the organization's presence definitions
// (GET /api/v2/presence/definitions, permission
// presence:presenceDefinition:view). The SDK documents no paging parameters
// for this call; when an answer says pageCount > 1 the further pages are
// asked for with pageNumber, and every one is read.
func (s *PresenceService) Definitions(ctx context.Context) ([]PresenceDefinition, *Response, error) {
	path := func(page int) string {
		if page == 1 {
			return "api/v2/presence/definitions"
		}
		return "api/v2/presence/definitions?pageNumber=" + strconv.Itoa(page)
	}
	defs, resps, err := readPages(ctx, s.client, path, func(d PresenceDefinition) string { return d.ID })
	return defs, lastResp(resps), err
}

// lastResp is the latest of a paged read's responses, nil when none came.
func lastResp(resps []*Response) *Response {
	if len(resps) == 0 {
		return nil
	}
	return resps[len(resps)-1]
}

// Get reads the user's Genesys Cloud presence
// (GET /api/v2/users/{id}/presences/purecloud; the SDK lists no permission).
func (s *PresenceService) Get(ctx context.Context, userID string) (*UserPresence, *Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/users/"+userID+"/presences/purecloud", nil)
	if err != nil {
		return nil, nil, err
	}
	var p UserPresence
	resp, err := s.client.do(req, &p)
	if err != nil {
		return nil, resp, err
	}
	return &p, resp, nil
}

// Set sets the user's Genesys Cloud presence to a definition, e.g. the
// Offline one from Definitions
// (PATCH /api/v2/users/{id}/presences/purecloud body
// {"presenceDefinition":{"id":...}}; the SDK lists no permission, which one
// Genesys enforces is unconfirmed).
func (s *PresenceService) Set(ctx context.Context, userID, definitionID string) (*UserPresence, *Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	if err := checkUUID("presence definition", definitionID); err != nil {
		return nil, nil, err
	}
	body := struct {
		PresenceDefinition struct {
			ID string `json:"id"`
		} `json:"presenceDefinition"`
	}{}
	body.PresenceDefinition.ID = definitionID
	req, err := s.client.newRequest(ctx, http.MethodPatch, "api/v2/users/"+userID+"/presences/purecloud", body)
	if err != nil {
		return nil, nil, err
	}
	var p UserPresence
	resp, err := s.client.do(req, &p)
	if err != nil {
		return nil, resp, err
	}
	return &p, resp, nil
}
