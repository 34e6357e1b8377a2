package worker

import (
	"context"
	"fmt"
	"slices"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepFlows unlocks the Architect flows the user left locked: a flow locked by a leaver blocks
// every other editor. It records each flow it found. Nothing to undo: a lock is an editing
// session, not a setting.
var stepFlows = Step{
	Name: "flows", Phase: PhaseClean, Optional: true,
	Permissions: []string{"architect:flow:view", "architect:flow:unlock"},
	Probe:       probeFlows,
	Calls: func(r *Run) int {
		rec, _ := recordedAs[flowsRecord](r.Findings(), "flows")
		return max(rec.Pages, 1) + len(rec.Flows) // the pages read, an unlock each
	},
	Do: unlockFlows,
}

// flowsRecord is what the flows step records: the flows locked by the user and what became of
// each.
type flowsRecord struct {
	Flows  []flowRef `json:"flows"`
	Pages  int       `json:"pages"` // pages of the locked-by read
	Result string    `json:"result"`
}

type flowRef struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Type   string `json:"type,omitempty"`
	Result string `json:"result,omitempty"` // "unlocked", "would unlock", or why not
}

func probeFlows(ctx context.Context, c *genesys.Client) error {
	if _, _, err := c.Flows.LockedBy(ctx, genesys.ProbeUserID); permitted(err) != nil {
		return err
	}
	_, _, err := c.Flows.Unlock(ctx, genesys.ProbeUserID) // no flow has this id
	return permitted(err)
}

func unlockFlows(ctx context.Context, r *Run) error {
	userID := r.user.ID
	var pages int
	flows, err := CallMany(ctx, r, func(c *genesys.Client) ([]genesys.Flow, []*genesys.Response, error) {
		fs, resps, err := c.Flows.LockedBy(ctx, userID)
		pages = len(resps)
		return fs, resps, err
	})
	if err != nil {
		return err
	}
	// Flows a delivery before this one unlocked stay in the record: those no longer locked by
	// the user are unlocked.
	rec, _ := recordedAs[flowsRecord](r.Findings(), "flows")
	rec.Pages = pages
	for i := range rec.Flows {
		if !slices.ContainsFunc(flows, func(f genesys.Flow) bool { return f.ID == rec.Flows[i].ID }) && rec.Flows[i].Result == flowPending {
			rec.Flows[i].Result = "unlocked"
		}
	}
	var todo []int
	for _, f := range flows {
		i := slices.IndexFunc(rec.Flows, func(e flowRef) bool { return e.ID == f.ID })
		if i < 0 {
			rec.Flows = append(rec.Flows, flowRef{ID: f.ID, Name: f.Name, Type: f.Type})
			i = len(rec.Flows) - 1
		}
		rec.Flows[i].Result = flowPending
		todo = append(todo, i)
	}
	if len(todo) == 0 && len(rec.Flows) == 0 {
		rec.Flows, rec.Result = []flowRef{}, "no flow locked by the user"
		return r.Found("flows", rec)
	}
	if r.DryRun() {
		for _, i := range todo {
			rec.Flows[i].Result = "would unlock"
		}
		rec.Result = "unlock " + counted(len(todo), "flow")
		if err := r.Found("flows", rec); err != nil {
			return err
		}
		r.Would("flows", rec.Result)
		return nil
	}
	if err := r.Found("flows", rec); err != nil { // stored before the unlocks: a crash keeps the list
		return err
	}
	if err := r.saveStatus(ctx); err != nil {
		return err
	}
	for _, i := range todo {
		id := rec.Flows[i].ID
		_, err := Call(ctx, r, func(c *genesys.Client) (*genesys.Flow, *genesys.Response, error) {
			return c.Flows.Unlock(ctx, id)
		})
		switch {
		case err == nil:
			rec.Flows[i].Result = "unlocked"
		case refused(err):
			rec.Flows[i].Result = itemRefusal(err)
		default:
			_ = r.Found("flows", rec) // what is done so far, for the next attempt
			return err
		}
	}
	rec.Result = fmt.Sprintf("%d flows unlocked", countResult(rec.Flows, "unlocked"))
	return r.Found("flows", rec)
}

// flowPending marks a flow the step is about to unlock.
const flowPending = "unlocking"

func countResult(fs []flowRef, result string) int {
	n := 0
	for _, f := range fs {
		if f.Result == result {
			n++
		}
	}
	return n
}
