package worker

import (
	"context"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepOffQueue sets the agent's routing status OFF_QUEUE before the PATCH, so that no new ACD
// interaction is offered to a leaver while access is being cut (contact-center.md §2). It reads
// first (a redelivery, or an agent already off queue, costs one call) and records the status it
// found. Nothing to undo: a returning agent chooses when to go on queue.
//
// Genesys lists no permission for the PUT (UNCONFIRMED which one it enforces): a 403 is a missing
// permission like any other, and the probe, a PUT for a user that does not exist, finds out
// whether it concerns every user.
var stepOffQueue = Step{
	Name: "off_queue", Phase: PhaseCut, Optional: true,
	Probe: func(ctx context.Context, c *genesys.Client) error {
		_, _, err := c.Routing.SetStatus(ctx, genesys.ProbeUserID, genesys.RoutingOffQueue)
		return permitted(err)
	},
	Calls: func(r *Run) int {
		if f, ok := recordedAs[offQueueFound](r.Findings(), "off_queue"); ok && f.Status == genesys.RoutingOffQueue {
			return 1
		}
		return 2
	},
	Do: offQueue,
}

// offQueueFound is what off_queue records: the routing status before, and what it did.
type offQueueFound struct {
	Status    string `json:"status"`
	StartTime string `json:"start_time,omitempty"`
	Result    string `json:"result"`
}

func offQueue(ctx context.Context, r *Run) error {
	id := r.user.ID
	st, err := Call(ctx, r, func(c *genesys.Client) (*genesys.RoutingStatus, *genesys.Response, error) {
		return c.Routing.Status(ctx, id)
	})
	if err != nil {
		return err
	}
	found := offQueueFound{Status: st.Status, StartTime: st.StartTime}
	// A delivery before this one sent the PUT and did not hear the answer: the status it
	// recorded before is the before-state.
	if earlier, ok := recordedAs[offQueueFound](r.Findings(), "off_queue"); ok && earlier.Result == offQueueSetting && st.Status == genesys.RoutingOffQueue {
		earlier.Result = offQueueSet
		return r.Found("off_queue", earlier)
	}
	switch {
	case st.Status == genesys.RoutingOffQueue:
		found.Result = "nothing to do: already off queue"
		return r.Found("off_queue", found)
	case r.DryRun():
		found.Result = "would set OFF_QUEUE"
		r.Would("off_queue", "set the routing status from "+st.Status+" to OFF_QUEUE")
		return r.Found("off_queue", found)
	}
	// Recorded before the PUT: an attempt that fails after it (the answer lost) keeps the
	// status before in the job's status for the next delivery.
	found.Result = offQueueSetting
	if err := r.Found("off_queue", found); err != nil {
		return err
	}
	if _, err := Call(ctx, r, func(c *genesys.Client) (*genesys.RoutingStatus, *genesys.Response, error) {
		return c.Routing.SetStatus(ctx, id, genesys.RoutingOffQueue)
	}); err != nil {
		return err
	}
	found.Result = offQueueSet
	return r.Found("off_queue", found)
}

// What off_queue records as its result while the PUT is under way, and once it is answered.
const (
	offQueueSetting = "setting OFF_QUEUE"
	offQueueSet     = "set OFF_QUEUE"
)
