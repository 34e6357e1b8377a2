package genesys

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// FlowsService finds and unlocks Architect flows.
type FlowsService service

// Flow is an Architect flow, limited to what offboarding records.
type Flow struct {
	ID           string       `json:"id"`
	Name         string       `json:"name,omitempty"`
	Type         string       `json:"type,omitempty"`         // "INBOUNDCALL", "BOT", ...
	LockedUser   *NamedEntity `json:"lockedUser,omitempty"`   // the user holding the edit lock
	LockedClient *NamedEntity `json:"lockedClient,omitempty"` // the OAuth client holding it
}

// LockedBy lists the flows the user holds the edit lock on
// (GET /api/v2/flows?lockedBy={id}, permission architect:flow:view),
// reading every page of 100.
func (s *FlowsService) LockedBy(ctx context.Context, userID string) ([]Flow, []*Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	path := func(page int) string {
		q := url.Values{"lockedBy": {userID}, "pageSize": {"100"}, "pageNumber": {strconv.Itoa(page)}}
		return "api/v2/flows?" + q.Encode()
	}
	return readPages(ctx, s.client, path, func(f Flow) string { return f.ID })
}

// Unlock releases a flow's edit lock, whoever holds it
// (POST /api/v2/flows/actions/unlock?flow={flowId}, permission
// architect:flow:unlock), and returns the flow as Genesys answers it.
func (s *FlowsService) Unlock(ctx context.Context, flowID string) (*Flow, *Response, error) {
	if err := checkUUID("flow", flowID); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodPost, "api/v2/flows/actions/unlock?flow="+flowID, nil)
	if err != nil {
		return nil, nil, err
	}
	var f Flow
	resp, err := s.client.do(req, &f)
	if err != nil {
		return nil, resp, err
	}
	return &f, resp, nil
}
