package genesyssim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// maxMembersPerCall bounds the body of POST /api/v2/routing/queues/{queueId}/members.
const maxMembersPerCall = 100

const msgGroupMember = "The user %s is a member of the queue through a group (memberBy=group) and cannot be removed individually; remove the user from the group instead."

// queueMemberPerms are the permissions of which changing queue members requires any.
var queueMemberPerms = []string{"routing:queue:edit", "routing:queueMember:manage"}

// queueFromPath resolves {queueId}; it answers 404 for an unknown queue.
func (s *Server) queueFromPath(w http.ResponseWriter, r *http.Request, c *call) (simQueue, bool) {
	q, ok := queueByID(r.PathValue("queueId"))
	if !ok {
		c.platformError(w, http.StatusNotFound, "not.found", "The queue "+r.PathValue("queueId")+" was not found.")
	}
	return q, ok
}

// handleQueueMembers is GET /api/v2/routing/queues/{queueId}/members: QueueMemberEntityListing
// sorted by name, paged (pageSize at most 100), filtered by name (contains, case-insensitive),
// memberBy (user|group) and joined (true|false; every membership is joined).
func (s *Server) handleQueueMembers(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	size, number, ok := readPage(w, c, q, 100)
	if !ok {
		return
	}
	memberBy, joined := q.Get("memberBy"), q.Get("joined")
	if !slices.Contains([]string{"", MemberByUser, MemberByGroup}, memberBy) || !slices.Contains([]string{"", "true", "false"}, joined) {
		c.platformError(w, http.StatusBadRequest, "bad.request", "memberBy must be user or group, joined true or false.")
		return
	}
	queue, ok := s.queueFromPath(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var members []map[string]any
	for _, id := range s.org.order {
		u, live := s.org.live(id)
		a := s.org.agents[id]
		i := a.membership(queue.ID)
		if !live || i < 0 || joined == "false" || memberBy != "" && a.Queues[i].MemberBy != memberBy ||
			!strings.Contains(strings.ToLower(u.DisplayName), strings.ToLower(q.Get("name"))) {
			continue
		}
		members = append(members, map[string]any{"id": u.ID, "name": u.DisplayName, "user": userRef(u), "ringNumber": 1,
			"joined": true, "memberBy": a.Queues[i].MemberBy, "routingStatus": s.routingStatus(u.ID, a.RoutingStatus),
			"selfUri": "/api/v2/routing/queues/" + queue.ID + "/members/" + u.ID})
	}
	slices.SortStableFunc(members, func(x, y map[string]any) int { return strings.Compare(x["name"].(string), y["name"].(string)) })
	writeJSON(w, http.StatusOK, contentJSON, listing(r, page(members, size, number), size, number, len(members)))
}

// handleDeleteQueueMember is DELETE /api/v2/routing/queues/{queueId}/members/{memberId}: 204.
// An unknown queue or user, or a user who is not a member, gets 404; a member through a group
// 400 unless Config.RemoveGroupMembers.
func (s *Server) handleDeleteQueueMember(w http.ResponseWriter, r *http.Request, c *call) {
	queue, ok := s.queueFromPath(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, live := s.org.live(c.userID)
	if !live || s.org.agents[c.userID].membership(queue.ID) < 0 {
		c.platformError(w, http.StatusNotFound, "not.found", fmt.Sprintf("The user %s is not a member of the queue %s.", c.userID, queue.ID))
		return
	}
	if err := s.removeMembers(queue.ID, []string{c.userID}); err != "" {
		c.platformError(w, http.StatusBadRequest, "bad.request", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// removeMembers removes the users' memberships of the queue (users who are not members are
// skipped). It changes nothing and returns the refusal when one of them is a group member and
// Config.RemoveGroupMembers is off. The caller holds s.mu.
func (s *Server) removeMembers(queueID string, userIDs []string) string {
	for _, id := range userIDs {
		a := s.org.agents[id]
		if i := a.membership(queueID); i >= 0 && a.Queues[i].MemberBy == MemberByGroup && !s.cfg.RemoveGroupMembers {
			return fmt.Sprintf(msgGroupMember, id)
		}
	}
	for _, id := range userIDs {
		a := s.org.agents[id]
		if i := a.membership(queueID); i >= 0 {
			a.Queues = slices.Delete(a.Queues, i, i+1)
		}
	}
	return ""
}

// idRef is a WritableEntity: {"id": ...}.
type idRef struct {
	ID string `json:"id"`
}

// handlePostQueueMembers is POST /api/v2/routing/queues/{queueId}/members with
// [{"id": userId}, ...] (1–100 entries): 204. It adds the users as direct members (a member
// already there, directly or through a group, is kept as is), or with ?delete=true removes
// them (as DELETE .../members/{memberId} would; non-members are skipped). An unknown user is a
// 400 and nothing changes.
func (s *Server) handlePostQueueMembers(w http.ResponseWriter, r *http.Request, c *call) {
	body, ok := readBody(w, r, c)
	if !ok {
		return
	}
	var refs []idRef
	if json.Unmarshal(body, &refs) != nil || len(refs) == 0 || len(refs) > maxMembersPerCall ||
		slices.Contains(refs, idRef{}) {
		c.platformError(w, http.StatusBadRequest, "bad.request", fmt.Sprintf(`The body must be [{"id":"<userId>"}, ...] with 1 to %d entries.`, maxMembersPerCall))
		return
	}
	queue, ok := s.queueFromPath(w, r, c)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(refs))
	for _, x := range refs {
		if _, live := s.org.live(x.ID); !live {
			c.platformError(w, http.StatusBadRequest, "bad.request", "The user "+x.ID+" does not exist.")
			return
		}
		ids = append(ids, x.ID)
	}
	if r.URL.Query().Get("delete") == "true" {
		if err := s.removeMembers(queue.ID, ids); err != "" {
			c.platformError(w, http.StatusBadRequest, "bad.request", err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	for _, id := range ids {
		if a := s.org.agents[id]; a.membership(queue.ID) < 0 {
			a.Queues = append(a.Queues, Membership{QueueID: queue.ID, MemberBy: MemberByUser})
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
