package genesys

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// RoutingService reads and sets agents' routing status and the members of
// routing queues.
type RoutingService service

// Routing statuses (RoutingStatus.Status).
const (
	RoutingOffQueue      = "OFF_QUEUE"
	RoutingIdle          = "IDLE"
	RoutingInteracting   = "INTERACTING"
	RoutingCommunicating = "COMMUNICATING"
	RoutingNotResponding = "NOT_RESPONDING"
)

// RoutingStatus is an agent's ACD routing state
// (GET /api/v2/users/{id}/routingstatus).
type RoutingStatus struct {
	UserID    string `json:"userId,omitempty"`
	Status    string `json:"status"`
	StartTime string `json:"startTime,omitempty"` // ISO-8601
}

// Status reads the user's routing status (GET /api/v2/users/{id}/routingstatus;
// the SDK lists no permission). Genesys answers OFF_QUEUE for a user that
// does not exist.
func (s *RoutingService) Status(ctx context.Context, userID string) (*RoutingStatus, *Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodGet, "api/v2/users/"+userID+"/routingstatus", nil)
	if err != nil {
		return nil, nil, err
	}
	var rs RoutingStatus
	resp, err := s.client.do(req, &rs)
	if err != nil {
		return nil, resp, err
	}
	return &rs, resp, nil
}

// SetStatus sets the user's routing status, e.g. RoutingOffQueue
// (PUT /api/v2/users/{id}/routingstatus body {"status":...}). The SDK lists
// no permission for it; which one Genesys enforces is unconfirmed.
func (s *RoutingService) SetStatus(ctx context.Context, userID, status string) (*RoutingStatus, *Response, error) {
	if err := checkID(userID); err != nil {
		return nil, nil, err
	}
	switch status {
	case RoutingOffQueue, RoutingIdle, RoutingInteracting, RoutingCommunicating, RoutingNotResponding:
	default:
		return nil, nil, fmt.Errorf("%w: routing status %q", ErrInvalidArgument, truncate(status, 64))
	}
	req, err := s.client.newRequest(ctx, http.MethodPut, "api/v2/users/"+userID+"/routingstatus", RoutingStatus{Status: status})
	if err != nil {
		return nil, nil, err
	}
	var rs RoutingStatus
	resp, err := s.client.do(req, &rs)
	if err != nil {
		return nil, resp, err
	}
	return &rs, resp, nil
}

// Queue member kinds (QueueMember.MemberBy, QueueMemberOptions.MemberBy).
const (
	MemberByUser  = "user"
	MemberByGroup = "group"
)

// QueueMemberOptions narrows QueueMembers. The zero value lists everyone.
type QueueMemberOptions struct {
	Name     string // members whose name matches (Genesys's "name" filter)
	MemberBy string // MemberByUser or MemberByGroup; "" for both
}

// QueueMember is one member of a routing queue. A member added through a
// group (MemberBy "group") cannot be removed on its own.
type QueueMember struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Joined   bool   `json:"joined"`
	MemberBy string `json:"memberBy,omitempty"`
}

// QueueMembers lists a queue's members
// (GET /api/v2/routing/queues/{queueId}/members, permission
// routing:queue:view), reading every page of 100.
func (s *RoutingService) QueueMembers(ctx context.Context, queueID string, opts QueueMemberOptions) ([]QueueMember, []*Response, error) {
	if err := checkUUID("queue", queueID); err != nil {
		return nil, nil, err
	}
	switch opts.MemberBy {
	case "", MemberByUser, MemberByGroup:
	default:
		return nil, nil, fmt.Errorf("%w: memberBy %q", ErrInvalidArgument, truncate(opts.MemberBy, 64))
	}
	path := func(page int) string {
		q := url.Values{"pageSize": {"100"}, "pageNumber": {strconv.Itoa(page)}}
		if opts.Name != "" {
			q.Set("name", opts.Name)
		}
		if opts.MemberBy != "" {
			q.Set("memberBy", opts.MemberBy)
		}
		return "api/v2/routing/queues/" + queueID + "/members?" + q.Encode()
	}
	return readPages(ctx, s.client, path, func(m QueueMember) string { return m.ID })
}

// RemoveMember removes one member from a queue
// (DELETE /api/v2/routing/queues/{queueId}/members/{memberId}, permission
// routing:queue:edit or routing:queueMember:manage). The member id is the
// user id.
func (s *RoutingService) RemoveMember(ctx context.Context, queueID, userID string) (*Response, error) {
	if err := checkUUID("queue", queueID); err != nil {
		return nil, err
	}
	if err := checkID(userID); err != nil {
		return nil, err
	}
	req, err := s.client.newRequest(ctx, http.MethodDelete, "api/v2/routing/queues/"+queueID+"/members/"+userID, nil)
	if err != nil {
		return nil, err
	}
	return s.client.do(req, nil)
}

// MaxQueueMembersPerCall is how many members one AddMembers call may add.
const MaxQueueMembersPerCall = 100

// AddMembers adds users to a queue as direct members
// (POST /api/v2/routing/queues/{queueId}/members body [{"id":...}],
// permission routing:queue:edit or routing:queueMember:manage). Genesys takes
// at most 100 per call: more, or none, is ErrInvalidArgument.
func (s *RoutingService) AddMembers(ctx context.Context, queueID string, userIDs []string) (*Response, error) {
	if err := checkUUID("queue", queueID); err != nil {
		return nil, err
	}
	if len(userIDs) == 0 || len(userIDs) > MaxQueueMembersPerCall {
		return nil, fmt.Errorf("%w: %d queue members in one call (1 to %d)", ErrInvalidArgument, len(userIDs), MaxQueueMembersPerCall)
	}
	type ref struct {
		ID string `json:"id"`
	}
	body := make([]ref, 0, len(userIDs))
	for _, id := range userIDs {
		if err := checkID(id); err != nil {
			return nil, err
		}
		body = append(body, ref{id})
	}
	req, err := s.client.newRequest(ctx, http.MethodPost, "api/v2/routing/queues/"+queueID+"/members", body)
	if err != nil {
		return nil, err
	}
	return s.client.do(req, nil)
}
