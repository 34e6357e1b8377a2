package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// WFMService reads and changes agents' workforce management units.
type WFMService service

// AgentManagementUnit is the SDK's AgentManagementUnitReference: the unit an
// agent belongs to. BusinessUnit is filled only when asked for with
// expand=businessUnit, which ManagementUnit does not ask.
type AgentManagementUnit struct {
	User           *NamedEntity `json:"user,omitempty"`
	ManagementUnit *NamedEntity `json:"managementUnit,omitempty"`
	BusinessUnit   *NamedEntity `json:"businessUnit,omitempty"`
}

// ManagementUnit reads the WFM management unit the agent belongs to
// (GET /api/v2/workforcemanagement/agents/{agentId}/managementunit,
// permission wfm:agent:view among others). A user in no unit is
// (nil, resp, nil). How Genesys answers for such a user is not documented:
// a 404, or a 200 without a managementUnit, both read as "no unit" (a 404
// cannot tell that from an unknown user; callers that must know read the
// user first, as the deactivation plan does).
func (s *WFMService) ManagementUnit(ctx context.Context, userID string) (*AgentManagementUnit, *Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/workforcemanagement/agents/"+userID+"/managementunit", nil)
	if err != nil {
		return nil, nil, err
	}
	var mu AgentManagementUnit
	resp, err := s.client.do(req, &mu)
	if errors.Is(err, ErrNotFound) {
		return nil, resp, nil
	}
	if err != nil {
		return nil, resp, err
	}
	if mu.ManagementUnit == nil || mu.ManagementUnit.ID == "" {
		return nil, resp, nil
	}
	return &mu, resp, nil
}

// MoveAgents moves users into a management unit, or out of theirs when
// destinationUnitID is "" (POST /api/v2/workforcemanagement/agents body
// {"userIds":[...],"destinationManagementUnitId":id or null}, permission
// wfm:agent:edit). Genesys runs the move asynchronously; the Response's
// status says it was accepted, not that it is done.
func (s *WFMService) MoveAgents(ctx context.Context, userIDs []string, destinationUnitID string) (*Response, error) {
	if len(userIDs) == 0 {
		return nil, fmt.Errorf("%w: no users to move", ErrInvalidArgument)
	}
	for _, id := range userIDs {
		if err := checkID(id); err != nil {
			return nil, err
		}
	}
	body := struct {
		UserIDs     []string `json:"userIds"`
		Destination *string  `json:"destinationManagementUnitId"` // null removes from the unit
	}{UserIDs: userIDs}
	if destinationUnitID != "" {
		if err := checkUUID("management unit", destinationUnitID); err != nil {
			return nil, err
		}
		body.Destination = &destinationUnitID
	}
	req, err := s.client.newRequest(ctx, http.MethodPost, "api/v2/workforcemanagement/agents", body)
	if err != nil {
		return nil, err
	}
	return s.client.do(req, nil)
}
