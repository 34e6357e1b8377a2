package genesys

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// AddMembers takes at most 100 ids a call: 100 go out in one request,
// 101 are refused before any request.
func TestAddMembersLimit(t *testing.T) {
	t.Parallel()
	c, b := setup(t)
	var rec recorder
	rec.handle(b, 204, "")
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = fmt.Sprintf("6f0b1c7e-1f7a-4c1e-9b43-%012x", i)
	}
	if _, err := c.Routing.AddMembers(t.Context(), testQueueID, ids); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("AddMembers(101 ids) = %v, want ErrInvalidArgument", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("%d requests sent for 101 ids", n)
	}
	if _, err := c.Routing.AddMembers(t.Context(), testQueueID, ids[:100]); err != nil {
		t.Fatalf("AddMembers(100 ids) = %v", err)
	}
	reqs := rec.requests()
	var body []map[string]string
	if len(reqs) != 1 || json.Unmarshal([]byte(reqs[0].Body), &body) != nil || len(body) != 100 || body[99]["id"] != ids[99] {
		t.Errorf("AddMembers(100 ids) sent %d requests, body of %d members", len(reqs), len(body))
	}
}
