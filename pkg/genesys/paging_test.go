package genesys

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// pagedServer answers a listing at path with pages of entity ids, as
// Genesys does: pageCount says how many pages there are.
type pagedServer struct {
	mu    sync.Mutex
	pages []int // page numbers asked for, in order
	asked []string
}

func (p *pagedServer) serve(t *testing.T, b *testBundle, pattern string, pageCount int, entity func(page, i int) string, perPage int) {
	b.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		page := 1
		if s := r.URL.Query().Get("pageNumber"); s != "" {
			page, _ = strconv.Atoi(s)
		}
		p.mu.Lock()
		p.pages = append(p.pages, page)
		p.asked = append(p.asked, r.URL.RawQuery)
		p.mu.Unlock()
		var ents []string
		if page <= pageCount {
			for i := range perPage {
				ents = append(ents, entity(page, i))
			}
		}
		fmt.Fprintf(w, `{"entities":[%s],"pageSize":%d,"pageNumber":%d,"total":%d,"pageCount":%d}`,
			strings.Join(ents, ","), perPage, page, pageCount*perPage, pageCount)
	})
}

func (p *pagedServer) pagesAsked() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.pages...)
}

func idFor(page, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", page, i) }

// Every paged read reads every page, in order, and stops after the last.
func TestPagedReadsReadEveryPageAndStop(t *testing.T) {
	t.Parallel()
	u := testUserID
	t.Run("QueueMembers", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t)
		var p pagedServer
		p.serve(t, b, "GET /api/v2/routing/queues/{id}/members", 3, func(page, i int) string {
			by := "user"
			if i == 1 {
				by = "group"
			}
			return fmt.Sprintf(`{"id":%q,"name":"m","joined":true,"memberBy":%q}`, idFor(page, i), by)
		}, 2)
		ms, resps, err := c.Routing.QueueMembers(t.Context(), testQueueID, QueueMemberOptions{})
		if err != nil || len(ms) != 6 || len(resps) != 3 {
			t.Fatalf("QueueMembers = %d members, %d responses, %v; want 6, 3", len(ms), len(resps), err)
		}
		if ms[5].ID != idFor(3, 1) || ms[5].MemberBy != MemberByGroup {
			t.Errorf("last member = %+v", ms[5])
		}
		if got := fmt.Sprint(p.pagesAsked()); got != "[1 2 3]" {
			t.Errorf("pages asked %s, want [1 2 3]", got)
		}
		for _, q := range p.asked {
			if !strings.Contains(q, "pageSize=100") {
				t.Errorf("query %q without pageSize=100", q)
			}
		}
	})
	t.Run("Flows.LockedBy", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t)
		var p pagedServer
		p.serve(t, b, "GET /api/v2/flows", 2, func(page, i int) string {
			return fmt.Sprintf(`{"id":%q,"name":"f","type":"INBOUNDCALL","lockedUser":{"id":%q}}`, idFor(page, i), u)
		}, 3)
		fs, resps, err := c.Flows.LockedBy(t.Context(), u)
		if err != nil || len(fs) != 6 || len(resps) != 2 || fs[0].LockedUser.ID != u {
			t.Fatalf("LockedBy = %+v, %d responses, %v", fs, len(resps), err)
		}
		if got := fmt.Sprint(p.pagesAsked()); got != "[1 2]" {
			t.Errorf("pages asked %s, want [1 2]", got)
		}
	})
	t.Run("OAuthClients.CreatedBy", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t)
		var p pagedServer
		p.serve(t, b, "GET /api/v2/oauth/clients", 3, func(page, i int) string {
			creator := testOtherUser
			if i == 0 { // the first client of every page is the user's
				creator = u
			}
			return fmt.Sprintf(`{"id":%q,"name":"c","createdBy":{"id":%q},"state":"Active","secret":"s3cr3t"}`, idFor(page, i), creator)
		}, 2)
		cs, resps, err := c.OAuthClients.CreatedBy(t.Context(), u)
		if err != nil || len(cs) != 3 || len(resps) != 3 {
			t.Fatalf("CreatedBy = %+v, %d responses, %v; want 3 clients from 3 pages", cs, len(resps), err)
		}
		for i, cl := range cs {
			if cl.ID != idFor(i+1, 0) || cl.CreatedBy.ID != u {
				t.Errorf("client %d = %+v", i, cl)
			}
		}
		if got := fmt.Sprint(p.pagesAsked()); got != "[1 2 3]" {
			t.Errorf("pages asked %s, want [1 2 3]", got)
		}
		if p.asked[0] != "" {
			t.Errorf("first page asked with %q; the SDK documents no parameters", p.asked[0])
		}
	})
	t.Run("Presence.Definitions", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t)
		var p pagedServer
		p.serve(t, b, "GET /api/v2/presence/definitions", 2, func(page, i int) string {
			return fmt.Sprintf(`{"id":%q,"systemPresence":"Busy","type":"User"}`, idFor(page, i))
		}, 2)
		ds, resp, err := c.Presence.Definitions(t.Context())
		if err != nil || len(ds) != 4 || resp == nil {
			t.Fatalf("Definitions = %+v, %v, %v", ds, resp, err)
		}
		if got := fmt.Sprint(p.pagesAsked()); got != "[1 2]" {
			t.Errorf("pages asked %s, want [1 2]", got)
		}
	})
}

// A server that ignores the page number answers page 1 again: the read
// stops there instead of collecting copies until the page bound.
func TestPagedReadStopsWhenAPageBringsNothingNew(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var mu sync.Mutex
	calls := 0
	b.mux.HandleFunc("GET /api/v2/oauth/clients", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		fmt.Fprintf(w, `{"entities":[{"id":%q,"createdBy":{"id":%q}}],"pageCount":5}`, idFor(1, 0), testUserID)
	})
	cs, resps, err := c.OAuthClients.CreatedBy(t.Context(), testUserID)
	if err != nil || len(cs) != 1 || len(resps) != 2 || calls != 2 {
		t.Errorf("CreatedBy = %d clients, %d responses, %d calls, %v; want 1, 2, 2", len(cs), len(resps), calls, err)
	}
}

// A listing that claims more pages than the bound ends in an error, not a
// silently short list.
func TestPagedReadIsBounded(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var p pagedServer
	p.serve(t, b, "GET /api/v2/flows", 1000, func(page, i int) string {
		return fmt.Sprintf(`{"id":%q}`, idFor(page, i))
	}, 1)
	fs, resps, err := c.Flows.LockedBy(t.Context(), testUserID)
	if !errors.Is(err, ErrUnexpectedResponse) || fs != nil || len(resps) != maxPages {
		t.Errorf("LockedBy = %d flows, %d responses, %v; want ErrUnexpectedResponse after %d pages", len(fs), len(resps), err, maxPages)
	}
}

// A failing page fails the read, with the responses so far.
func TestPagedReadFailsOnAFailingPage(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	b.mux.HandleFunc("GET /api/v2/routing/queues/{id}/members", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("pageNumber") == "2" {
			w.WriteHeader(403)
			fmt.Fprint(w, forbidden403)
			return
		}
		fmt.Fprintf(w, `{"entities":[{"id":%q,"joined":true,"memberBy":"user"}],"pageCount":2}`, testUserID)
	})
	ms, resps, err := c.Routing.QueueMembers(t.Context(), testQueueID, QueueMemberOptions{})
	if !errors.Is(err, ErrForbidden) || ms != nil || len(resps) != 2 {
		t.Errorf("QueueMembers = %v, %d responses, %v; want ErrForbidden and both responses", ms, len(resps), err)
	}
}
