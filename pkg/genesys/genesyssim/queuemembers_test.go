package genesyssim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

type memberEntity struct {
	ID, Name, MemberBy string
	Joined             bool
	User               struct{ ID string }
}

type memberPage struct {
	Entities                               []memberEntity
	PageSize, PageNumber, Total, PageCount int
	NextURI                                string `json:"nextUri"`
}

// membersOf lists the queue's members from the state, as the API should.
func membersOf(ts *TestServer, queueID, memberBy string) []string {
	var ids []string
	for _, u := range ts.Users() {
		a, _ := ts.Agent(u.ID)
		if i := a.membership(queueID); !u.Deleted && i >= 0 && (memberBy == "" || a.Queues[i].MemberBy == memberBy) {
			ids = append(ids, u.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func TestQueueMembersList(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 80})
	tier2 := ts.Queues()[4].ID
	path := "/api/v2/routing/queues/" + tier2 + "/members"
	var all []string
	var names []string
	for n := 1; ; n++ {
		var p memberPage
		decode(t, do(t, ts, "GET", fmt.Sprintf("%s?pageSize=5&pageNumber=%d", path, n), token, ""), &p)
		for _, e := range p.Entities {
			all, names = append(all, e.ID), append(names, e.Name)
			if !e.Joined || e.User.ID != e.ID || (e.MemberBy != MemberByUser && e.MemberBy != MemberByGroup) {
				t.Errorf("member %+v", e)
			}
		}
		if p.PageSize != 5 || p.PageNumber != n || (n < p.PageCount) != (p.NextURI != "") {
			t.Errorf("page %d: %+v", n, p)
		}
		if n >= p.PageCount {
			break
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("members not sorted by name: %v", names)
	}
	slices.Sort(all)
	if want := membersOf(ts, tier2, ""); !slices.Equal(all, want) || len(want) < 5 {
		t.Errorf("paged members %v, want %v", all, want)
	}
	for _, by := range []string{MemberByUser, MemberByGroup} {
		var p memberPage
		decode(t, do(t, ts, "GET", path+"?pageSize=100&memberBy="+by, token, ""), &p)
		if p.Total != len(membersOf(ts, tier2, by)) {
			t.Errorf("memberBy=%s: total %d, want %d", by, p.Total, len(membersOf(ts, tier2, by)))
		}
	}
	var p memberPage
	decode(t, do(t, ts, "GET", path+"?pageSize=100", token, ""), &p)
	first, part := p.Entities[0], strings.Fields(p.Entities[0].Name)[0]
	decode(t, do(t, ts, "GET", path+"?name="+strings.ToUpper(part), token, ""), &p)
	if !slices.ContainsFunc(p.Entities, func(e memberEntity) bool { return e.ID == first.ID }) ||
		slices.ContainsFunc(p.Entities, func(e memberEntity) bool { return !strings.Contains(e.Name, part) }) {
		t.Errorf("name filter %q: %+v", part, p.Entities)
	}
	if decode(t, do(t, ts, "GET", path+"?joined=false", token, ""), &p); p.Total != 0 {
		t.Errorf("joined=false: %d members, every membership is joined", p.Total)
	}
	for _, q := range []string{"?memberBy=team", "?pageSize=101", "?pageNumber=0", "?joined=maybe"} {
		wantErrorBody(t, do(t, ts, "GET", path+q, token, ""), 400, "bad.request")
	}
	wantErrorBody(t, do(t, ts, "GET", "/api/v2/routing/queues/"+unknownID+"/members", token, ""), 404, "not.found")
}

// leaverQueues returns user 2 (the inactive agent) with one direct and one group queue.
func leaverQueues(t *testing.T, ts *TestServer) (user, direct, group string) {
	t.Helper()
	user = seeded(t, ts)[1].ID
	a := agentOf(t, ts, user)
	a.Queues = []Membership{{orgQueues[0].ID, MemberByUser}, {orgQueues[4].ID, MemberByGroup}}
	if err := ts.SetAgent(user, a); err != nil {
		t.Fatal(err)
	}
	return user, orgQueues[0].ID, orgQueues[4].ID
}

func TestQueueMemberDelete(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("RemoveGroupMembers=%t", allow), func(t *testing.T) {
			t.Parallel()
			ts, token := setup(t, Config{Users: 4, RemoveGroupMembers: allow})
			u, direct, group := leaverQueues(t, ts)
			wantStatus(t, do(t, ts, "DELETE", "/api/v2/routing/queues/"+direct+"/members/"+u, token, ""), 204)
			wantErrorBody(t, do(t, ts, "DELETE", "/api/v2/routing/queues/"+direct+"/members/"+u, token, ""), 404, "not.found")
			r := do(t, ts, "DELETE", "/api/v2/routing/queues/"+group+"/members/"+u, token, "")
			want := []string{orgQueues[4].Name}
			if allow {
				wantStatus(t, r, 204)
				want = nil
			} else if m := wantErrorBody(t, r, 400, "bad.request"); !strings.Contains(m["message"].(string), "group") {
				t.Errorf("refusal does not say why: %v", m["message"])
			}
			if got := ts.QueueNames(u); !slices.Equal(got, want) {
				t.Errorf("queues after the deletes: %v, want %v", got, want)
			}
			wantErrorBody(t, do(t, ts, "DELETE", "/api/v2/routing/queues/"+unknownID+"/members/"+u, token, ""), 404, "not.found")
		})
	}
}

func TestQueueMembersPost(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("RemoveGroupMembers=%t", allow), func(t *testing.T) {
			t.Parallel()
			ts, token := setup(t, Config{Users: 4, RemoveGroupMembers: allow})
			u, direct, group := leaverQueues(t, ts)
			other := seeded(t, ts)[3].ID
			overflow := orgQueues[5].ID
			body := fmt.Sprintf(`[{"id":%q},{"id":%q}]`, u, other)
			wantStatus(t, do(t, ts, "POST", "/api/v2/routing/queues/"+overflow+"/members", token, body), 204)
			for _, id := range []string{u, other} {
				if a := agentOf(t, ts, id); a.membership(overflow) < 0 {
					t.Errorf("%s not added to Overflow: %+v", id, a.Queues)
				}
			}
			if a := agentOf(t, ts, u); a.Queues[a.membership(overflow)].MemberBy != MemberByUser {
				t.Errorf("added member is not direct: %+v", a.Queues)
			}
			// Adding a group member again keeps it a group member.
			wantStatus(t, do(t, ts, "POST", "/api/v2/routing/queues/"+group+"/members", token, fmt.Sprintf(`[{"id":%q}]`, u)), 204)
			if a := agentOf(t, ts, u); a.Queues[a.membership(group)].MemberBy != MemberByGroup {
				t.Errorf("group membership changed by an add: %+v", a.Queues)
			}
			// Bulk delete: direct members go, a non-member is skipped.
			wantStatus(t, do(t, ts, "POST", "/api/v2/routing/queues/"+direct+"/members?delete=true", token, body), 204)
			if a := agentOf(t, ts, u); a.membership(direct) >= 0 {
				t.Errorf("bulk delete left %+v", a.Queues)
			}
			r := do(t, ts, "POST", "/api/v2/routing/queues/"+group+"/members?delete=true", token, fmt.Sprintf(`[{"id":%q}]`, u))
			if allow {
				wantStatus(t, r, 204)
			} else {
				wantErrorBody(t, r, 400, "bad.request")
			}
			if got := agentOf(t, ts, u).membership(group) >= 0; got == allow {
				t.Errorf("group membership kept = %t with RemoveGroupMembers=%t", got, allow)
			}
		})
	}
}

func TestQueueMembersPostBadInput(t *testing.T) {
	t.Parallel()
	ts, token := setup(t, Config{Users: 4})
	u := seeded(t, ts)[1].ID
	path := "/api/v2/routing/queues/" + orgQueues[5].ID + "/members"
	var many []string
	for range maxMembersPerCall + 1 {
		many = append(many, fmt.Sprintf(`{"id":%q}`, u))
	}
	before := agentOf(t, ts, u)
	for _, body := range []string{`[]`, `{"id":"x"}`, `[{"name":"x"}]`, "[" + strings.Join(many, ",") + "]", fmt.Sprintf(`[{"id":%q},{"id":%q}]`, u, unknownID)} {
		wantErrorBody(t, do(t, ts, "POST", path, token, body), 400, "bad.request")
	}
	if a := agentOf(t, ts, u); !slices.Equal(a.Queues, before.Queues) {
		t.Errorf("a refused request changed the memberships: %+v, was %+v", a.Queues, before.Queues)
	}
	wantStatus(t, do(t, ts, "POST", path, token, "["+strings.Join(many[:maxMembersPerCall], ",")+"]"), 204)
	wantErrorBody(t, do(t, ts, "POST", "/api/v2/routing/queues/"+unknownID+"/members", token, fmt.Sprintf(`[{"id":%q}]`, u)), 404, "not.found")
}
