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

// orgQueues are the org's queues; membership is derived from the user id
// (0–3 queues each), so it is deterministic and needs no seeded state.
var orgQueues = []simQueue{
	{"7a1e0c2b-0001-4000-8000-00000000a001", "Support", "Home"},
	{"7a1e0c2b-0002-4000-8000-00000000a002", "Billing", "Home"},
	{"7a1e0c2b-0003-4000-8000-00000000a003", "Sales", "Home"},
	{"7a1e0c2b-0004-4000-8000-00000000a004", "Escalations", "Home"},
}

// queuesOf returns the queues the user has joined.
func queuesOf(userID string) []simQueue {
	h := fnv.New32a()
	h.Write([]byte(userID))
	n := int(h.Sum32())
	var out []simQueue
	for i, q := range orgQueues {
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
func (s *Server) handleUserQueues(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	_, ok := s.org.live(c.userID)
	s.mu.Unlock()
	if !ok {
		s.notFound(w, c, false)
		return
	}
	q := r.URL.Query()
	size, number := atoiOr(q.Get("pageSize"), 25), atoiOr(q.Get("pageNumber"), 1)
	if size < 1 || number < 1 {
		c.platformError(w, http.StatusBadRequest, "bad.request", "pageSize and pageNumber must be positive.")
		return
	}
	joined := queuesOf(c.userID)
	list := joined
	if q.Get("joined") == "false" {
		list = orgQueues
	}
	entities := []map[string]any{}
	start := (number - 1) * size
	for i := start; i < len(list) && i < start+size; i++ {
		qu := list[i]
		div, _ := s.org.division(qu.Division)
		member := false
		for _, j := range joined {
			member = member || j.ID == qu.ID
		}
		entities = append(entities, map[string]any{"id": qu.ID, "name": qu.Name, "joined": member, "memberCount": 12,
			"division": map[string]string{"id": div.ID, "name": div.Name, "selfUri": "/api/v2/authorization/divisions/" + div.ID},
			"selfUri":  "/api/v2/routing/queues/" + qu.ID})
	}
	pages := (len(list) + size - 1) / size
	writeJSON(w, http.StatusOK, contentJSON, map[string]any{"entities": entities, "pageSize": size, "pageNumber": number,
		"total": len(list), "pageCount": pages, "selfUri": r.URL.Path})
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
	var out []string
	for _, q := range queuesOf(userID) {
		out = append(out, q.Name)
	}
	return out
}
