package genesyssim

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRequestLogRing(t *testing.T) {
	t.Parallel()
	l := newRequestLog(3)
	for i := range 5 {
		l.add(Request{Route: "r", Status: 200 + i, ClientID: "c"})
	}
	var seqs []uint64
	for _, r := range l.since(0) {
		seqs = append(seqs, r.Seq)
	}
	if diff := cmp.Diff([]uint64{3, 4, 5}, seqs); diff != "" {
		t.Errorf("kept entries (-want +got):\n%s", diff)
	}
	if got := len(l.since(4)); got != 1 {
		t.Errorf("since(4) = %d entries, want 1", got)
	}
	c := l.snapshot()
	if c.Total != 5 || c.ByRoute["r"][204] != 1 || c.ByClient["c"] != 5 {
		t.Errorf("counters are not bounded by the ring: %+v", c)
	}
	c.ByClient["c"] = 0 // a snapshot is a copy
	if l.snapshot().ByClient["c"] != 5 {
		t.Error("changing a snapshot changed the counters")
	}
	l.reset()
	if len(l.since(0)) != 0 || l.snapshot().Total != 0 {
		t.Error("reset left entries")
	}
}

func TestRequestLogEntries(t *testing.T) {
	t.Parallel()
	clock := newClock()
	ts, token := setup(t, Config{Users: 1, Now: clock.Now})
	id := ts.Users()[0].ID
	r1 := do(t, ts, "GET", scimUsers+"/"+id, token, "")
	clock.Advance(time.Second)
	do(t, ts, "DELETE", "/api/v2/tokens/"+id, token, "")
	do(t, ts, "GET", scimUsers, "", "")
	do(t, ts, "GET", "/admin/counters", "", "") // admin requests are not logged

	got := ts.Requests()
	for i := range got {
		got[i].Duration = 0
	}
	want := []Request{
		{Seq: 1, Time: clock.Now().Add(-time.Second), Method: "GET", Path: scimUsers + "/" + id, Route: "GET /api/v2/scim/v2/users/{id}",
			Status: 200, ClientID: DefaultClientID, UserID: id, CorrelationID: r1.header.Get("ININ-Correlation-Id")},
		{Seq: 2, Time: clock.Now(), Method: "DELETE", Path: "/api/v2/tokens/" + id, Route: "DELETE /api/v2/tokens/{userId}",
			Status: 204, ClientID: DefaultClientID, UserID: id},
		{Seq: 3, Time: clock.Now(), Method: "GET", Path: scimUsers, Route: "GET /api/v2/scim/v2/users", Status: 401},
	}
	for i := 1; i < len(want) && i < len(got); i++ {
		if len(got[i].CorrelationID) != 36 {
			t.Errorf("entry %d: correlation id %q", i, got[i].CorrelationID)
		}
		want[i].CorrelationID = got[i].CorrelationID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	c := ts.Counters()
	wantCounters := Counters{Total: 3,
		ByRoute: map[string]map[int]int{"GET /api/v2/scim/v2/users/{id}": {200: 1},
			"DELETE /api/v2/tokens/{userId}": {204: 1}, "GET /api/v2/scim/v2/users": {401: 1}},
		ByStatus: map[int]int{200: 1, 204: 1, 401: 1},
		ByClient: map[string]int{DefaultClientID: 2, "": 1},
		ByFault:  map[string]int{}}
	if diff := cmp.Diff(wantCounters, c); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	ts.Reset()
	if len(ts.Requests()) != 0 || ts.Counters().Total != 0 {
		t.Error("Reset left log entries")
	}
}
