package genesyssim

import (
	"hash/fnv"
	"net/http"
	"strconv"
)

// simQueue is one routing queue of the simulated org.
type simQueue struct {
	ID, Name, Division string
}

// orgQueues are the org's queues. The first four are the ones every user's direct
// memberships are derived from (queuesOf); agents join the last two through groups.
var orgQueues = []simQueue{
	{"7a1e0c2b-0001-4000-8000-00000000a001", "Support", "Home"},
	{"7a1e0c2b-0002-4000-8000-00000000a002", "Billing", "Home"},
	{"7a1e0c2b-0003-4000-8000-00000000a003", "Sales", "Home"},
	{"7a1e0c2b-0004-4000-8000-00000000a004", "Escalations", "Home"},
	{"7a1e0c2b-0005-4000-8000-00000000a005", "Tier 2", "Home"},
	{"7a1e0c2b-0006-4000-8000-00000000a006", "Overflow", "Sales"},
}

// queuesOf returns the direct memberships a user starts with (0–3 of the first four queues),
// derived from the user id: the memberships the simulator gave before it kept agent state.
func queuesOf(userID string) []simQueue {
	h := fnv.New32a()
	h.Write([]byte(userID))
	n := int(h.Sum32())
	var out []simQueue
	for i, q := range orgQueues[:4] {
		if n>>i&1 == 1 && len(out) < 3 {
			out = append(out, q)
		}
	}
	return out
}

// handleUserQueues is GET /api/v2/users/{id}/queues (fact sheet section 5):
// UserQueueEntityListing of the queues the user has joined (joined defaults
// to true; joined=false lists every queue with its joined flag), paged by
// pageSize (default 25) and pageNumber (1-based). Permission routing:queue:view.
// Memberships come from the user's AgentState, direct and group ones alike.
func (s *Server) handleUserQueues(w http.ResponseWriter, r *http.Request, c *call) {
	q := r.URL.Query()
	size, number, ok := readPage(w, c, q, 0)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.org.live(c.userID); !ok {
		s.notFound(w, c, false)
		return
	}
	a := s.org.agents[c.userID]
	list := s.org.joinedQueues(c.userID)
	if q.Get("joined") == "false" {
		list = orgQueues
	}
	entities := []map[string]any{}
	for _, qu := range page(list, size, number) {
		div, _ := s.org.division(qu.Division)
		entities = append(entities, map[string]any{"id": qu.ID, "name": qu.Name, "joined": a.membership(qu.ID) >= 0,
			"memberCount": s.org.memberCount(qu.ID), "division": divisionRef(div), "selfUri": "/api/v2/routing/queues/" + qu.ID})
	}
	writeJSON(w, http.StatusOK, contentJSON, listing(r, entities, size, number, len(list)))
}

// joinedQueues returns the queues the user is a member of, in the org's queue order.
func (o *org) joinedQueues(userID string) []simQueue {
	var out []simQueue
	if a, ok := o.agents[userID]; ok {
		for _, qu := range orgQueues {
			if a.membership(qu.ID) >= 0 {
				out = append(out, qu)
			}
		}
	}
	return out
}

// memberCount counts the live users who are members of the queue.
func (o *org) memberCount(queueID string) int {
	n := 0
	for id, a := range o.agents {
		if _, live := o.live(id); live && a.membership(queueID) >= 0 {
			n++
		}
	}
	return n
}

func atoiOr(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// QueueNames returns the names of the queues a user has joined, as
// GET /api/v2/users/{id}/queues lists them.
func (s *Server) QueueNames(userID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, q := range s.org.joinedQueues(userID) {
		out = append(out, q.Name)
	}
	return out
}
