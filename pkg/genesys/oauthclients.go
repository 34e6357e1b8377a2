package genesys

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// OAuthClientsService finds and disables OAuth clients (integrations).
type OAuthClientsService service

// OAuth client states (OAuthClient.State).
const (
	// OAuthClientActive: the client can create access tokens (the default).
	OAuthClientActive = "Active"
	// OAuthClientDisabled: its tokens are invalid and it cannot create new ones.
	OAuthClientDisabled = "Disabled"
	// OAuthClientInactive: it cannot create tokens and Genesys will delete it.
	OAuthClientInactive = "Inactive"
)

// OAuthClient is an OAuth client, limited to what offboarding records. It
// never holds the client's secret, which Genesys sends with it.
type OAuthClient struct {
	ID                  string       `json:"id"`
	Name                string       `json:"name,omitempty"`
	State               string       `json:"state,omitempty"`
	AuthorizedGrantType string       `json:"authorizedGrantType,omitempty"` // "CLIENT-CREDENTIALS", "CODE", ...
	CreatedBy           *NamedEntity `json:"createdBy,omitempty"`
}

// CreatedBy lists the OAuth clients whose createdBy is the user
// (GET /api/v2/oauth/clients, permission oauth:client:view). Genesys
// filters nothing here: every client of the organization is read, all
// pages, and those created by the user kept. The SDK documents no
// parameters for this call; when an answer says pageCount > 1 the further
// pages are asked for with pageNumber.
func (s *OAuthClientsService) CreatedBy(ctx context.Context, userID string) ([]OAuthClient, []*Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	path := func(page int) string {
		if page == 1 {
			return "api/v2/oauth/clients"
		}
		return "api/v2/oauth/clients?pageNumber=" + strconv.Itoa(page)
	}
	all, resps, err := readPages(ctx, s.client, path, func(c OAuthClient) string { return c.ID })
	if err != nil {
		return nil, resps, err
	}
	var out []OAuthClient
	for _, c := range all {
		if c.CreatedBy != nil && strings.EqualFold(c.CreatedBy.ID, userID) {
			out = append(out, c)
		}
	}
	return out, resps, nil
}

// SetState sets an OAuth client's state, e.g. OAuthClientDisabled. Genesys
// has no partial update for clients: SetState reads the client
// (GET /api/v2/oauth/clients/{id}, permission oauth:client:view) and puts
// it back (PUT, permission oauth:client:edit) with "state" changed and every
// other field as received, unknown ones included. Disabling a client makes
// its tokens invalid. The Response is the PUT's.
func (s *OAuthClientsService) SetState(ctx context.Context, clientID, state string) (*OAuthClient, *Response, error) {
	if err := checkUUID("OAuth client", clientID); err != nil {
		return nil, nil, err
	}
	switch state {
	case OAuthClientActive, OAuthClientDisabled, OAuthClientInactive:
	default:
		return nil, nil, fmt.Errorf("%w: OAuth client state %q", ErrInvalidArgument, truncate(state, 64))
	}
	path := "api/v2/oauth/clients/" + clientID
	req, err := s.client.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, nil, err
	}
	// The raw fields, so that the PUT sends back exactly what came (the
	// secret among them: it never leaves this function but to Genesys).
	var raw map[string]json.RawMessage
	resp, err := s.client.do(req, &raw)
	if err != nil {
		return nil, resp, err
	}
	var got OAuthClient
	if err := remarshal(raw, &got); err != nil || !strings.EqualFold(got.ID, clientID) {
		return nil, resp, fmt.Errorf("%w: GET %s answered another or no client (id %q)", ErrUnexpectedResponse, req.URL.Path, truncate(got.ID, 64))
	}
	raw["state"], _ = json.Marshal(state)
	req, err = s.client.newRequest(ctx, http.MethodPut, path, raw)
	if err != nil {
		return nil, resp, err
	}
	var out OAuthClient
	resp, err = s.client.do(req, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// remarshal decodes raw fields into v.
func remarshal(raw map[string]json.RawMessage, v any) error {
	data, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
