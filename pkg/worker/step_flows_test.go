package worker_test

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

var flowSeq atomic.Int64 // ids of the flows tests add

type flowsRec struct {
	Flows []struct {
		ID, Name, Type, Result string
	} `json:"flows"`
	Result string   `json:"result"`
	Would  []string `json:"would"`
}

// lockFlows gives user n flows locked by them (besides any the seed gave them) and returns the
// ids of every flow the user holds.
func lockFlows(t *testing.T, b *testbed.T, user string, n int) []string {
	t.Helper()
	for i := range n {
		f := genesyssim.Flow{ID: fmt.Sprintf("f10e0000-0000-4000-8000-%012d", flowSeq.Add(1)), Name: fmt.Sprintf("Draft %d", i), Type: "INBOUNDCALL", LockedBy: user}
		if err := b.Sim.SetFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	return lockedBy(b, user)
}

func lockedBy(b *testbed.T, user string) []string {
	var ids []string
	for _, f := range b.Sim.Flows() {
		if f.LockedBy == user {
			ids = append(ids, f.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func unlockAll(t *testing.T, b *testbed.T, user string) {
	t.Helper()
	for _, f := range b.Sim.Flows() {
		if f.LockedBy == user {
			f.LockedBy = ""
			if err := b.Sim.SetFlow(f); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// The flows step unlocks every flow the leaver holds, and only those, recording each; a dry run
// says it would and unlocks none; a user holding none is recorded as such.
func TestFlowsStep(t *testing.T) {
	t.Parallel()
	b := cleanBed(t, worker.Config{Steps: []string{"flows"}})
	users := plainActive(b.Sim)
	leaver, other, none, dry := users[0].ID, users[1].ID, users[2].ID, users[3].ID
	held := lockFlows(t, b, leaver, 2)
	othersFlows := lockFlows(t, b, other, 1)
	unlockAll(t, b, none)
	dryHeld := lockFlows(t, b, dry, 1)

	ev := deactivateAndClean(t, b, leaver, "flows-leaver")
	var rec flowsRec
	eventRecord(t, ev, "flows", &rec)
	var got []string
	for _, f := range rec.Flows {
		got = append(got, f.ID)
		if f.Result != "unlocked" || f.Name == "" || f.Type == "" {
			t.Errorf("flow recorded %+v; want its name, type and unlocked", f)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, held) || rec.Result != fmt.Sprintf("%d flows unlocked", len(held)) {
		t.Errorf("recorded %v (%s); want %v unlocked", got, rec.Result, held)
	}
	if now := lockedBy(b, leaver); len(now) != 0 {
		t.Errorf("still locked by the leaver: %v", now)
	}
	if now := lockedBy(b, other); !slices.Equal(now, othersFlows) {
		t.Errorf("another user's locks %v; want %v kept", now, othersFlows)
	}

	rec = flowsRec{}
	eventRecord(t, deactivateAndClean(t, b, none, "flows-none"), "flows", &rec)
	if len(rec.Flows) != 0 || rec.Result != "no flow locked by the user" {
		t.Errorf("a user with no locked flow: recorded %+v", rec)
	}

	ev = dryRun(t, b, dry, "flows-dry")
	rec = flowsRec{}
	eventRecord(t, ev, "flows", &rec)
	if len(rec.Flows) != len(dryHeld) || rec.Flows[0].Result != "would unlock" || len(rec.Would) != 1 {
		t.Errorf("dry run recorded %+v; want %d flows it would unlock", rec, len(dryHeld))
	}
	if n := previewCalls(t, ev, "flows"); n != 1+len(dryHeld) {
		t.Errorf("preview says %d calls; want %d (one page and one unlock each)", n, 1+len(dryHeld))
	}
	if now := lockedBy(b, dry); !slices.Equal(now, dryHeld) {
		t.Errorf("a dry run unlocked flows: %v left of %v", now, dryHeld)
	}
}
