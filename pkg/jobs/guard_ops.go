package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// SyncLanes makes the lanes follow the guard's latest state: this guard's
// hold names the lanes the stored state holds (none: the hold is lifted).
// The hold has no end; Resume, SetLimits or DropHeld lift it. Other reasons
// to hold a lane (the credentials pause, another guard) are left as they are.
//
// It takes no state on purpose: a hold derived from a state read earlier
// can be stale (an operator resumed in between) and, written late, would
// pause the lanes of a guard that no longer holds them; paused consumers
// deliver nothing, so no Reserve would come to lift it. The invariant:
// every write of the guard state is followed by a SyncLanes, and SyncLanes
// returns only when the hold it wrote still matches the guard state read
// after the write. So whatever order trips, operators and workers
// interleave in, the last hold written is derived from the latest state
// (a writer that changes the state after our check runs its own sync after
// ours), and Lanes.Set makes the consumers follow the last holds written.
func (g *Guard) SyncLanes(ctx context.Context) error {
	if !g.ownsLanes() {
		return nil
	}
	for {
		st, _, err := g.State(ctx)
		if err != nil {
			return err
		}
		g.hook("sync:read")
		if err := g.lanes.Set(ctx, g.holdName(), g.laneHold(st)); err != nil {
			return err
		}
		now, _, err := g.State(ctx)
		if err != nil {
			return err
		}
		if sameHold(st, now) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// laneHold is the lane hold st asks for; nil when it holds no lane. The normal lane's hold also
// holds the cleanup and delete lanes: while an operator looks at a mass deactivation that may be a
// mistake, the cleanups of the users it reached (queues, stations, forwarding: more to give back)
// and any delete wait too. An urgent-only hold leaves them: they would run only when the normal
// lane is empty anyway. The delete guard holds the delete lane alone.
func (g *Guard) laneHold(st GuardState) *LaneHold {
	var held []string
	if g.cfg.Key == DeleteGuardKey {
		if !st.Held {
			return nil
		}
		return &LaneHold{Lanes: []string{LaneDelete}, Reason: "the delete guard (" + g.cfg.Key + ") holds the delete lane for an operator",
			By: "guard", Since: cmpTime(st.HeldSince, g.now())}
	}
	if st.UrgentHeld {
		held = append(held, LaneUrgent)
	}
	if st.Held {
		held = append(held, LaneNormal, LaneCleanup, LaneDelete)
	}
	if len(held) == 0 {
		return nil
	}
	return &LaneHold{Lanes: held, Reason: "the mass-deactivation guard (" + g.cfg.Key + ") holds these lanes for an operator",
		By: "guard", Since: cmpTime(st.HeldSince, g.now())}
}

// sameHold reports whether a and b ask for the same lane hold (the slots
// counted do not matter to the lanes).
func sameHold(a, b GuardState) bool {
	return a.Held == b.Held && a.UrgentHeld == b.UrgentHeld && a.HeldSince.Equal(b.HeldSince)
}

// ownsLanes: only the mass-deactivation guard and the delete guard hold lanes.
func (g *Guard) ownsLanes() bool { return g.cfg.Key == defaultGuardKey || g.cfg.Key == DeleteGuardKey }

// holdName is this guard's name among the lanes' holds.
func (g *Guard) holdName() string { return "guard:" + g.cfg.Key }

// Tripped records that this worker tripped the guard: an ops event says so
// and the lanes follow the guard's state, read again (SyncLanes).
func (g *Guard) Tripped(ctx context.Context, jobID string, urgent bool) error {
	st, _, err := g.State(ctx)
	if err != nil {
		return err
	}
	g.hook("tripped:read")
	lane, limit := "normal", st.Limit
	if urgent {
		lane, limit = "urgent", st.UrgentLimit
	}
	all, urg := st.Counts()
	if g.cfg.Key == DeleteGuardKey {
		return errors.Join(g.OpsEvent(ctx, "guard_tripped",
			fmt.Sprintf("The delete guard holds the delete lane: %d deletes in the last %s reached the delete limit of %d. An operator must resume, raise the limit or drop the held deletes (genesysctl guard ... --deletes).",
				all, st.Window, st.Limit),
			map[string]string{"guard": DeleteGuardKey, "lane": LaneDelete, "limit": strconv.Itoa(st.Limit), "count": strconv.Itoa(all),
				"window": st.Window.String(), "job_id": jobID}, ""), g.SyncLanes(ctx))
	}
	// The event first: the state already refuses the held jobs, and the event is the record.
	return errors.Join(g.OpsEvent(ctx, "guard_tripped",
		fmt.Sprintf("The mass-deactivation guard holds %s jobs: %d deactivations (%d urgent) in the last %s reached the %s limit of %d. An operator must resume, raise the limit or drop the held jobs.",
			lane, all, urg, st.Window, lane, limit),
		map[string]string{"lane": lane, "limit": strconv.Itoa(limit), "count": strconv.Itoa(all), "urgent_count": strconv.Itoa(urg),
			"window": st.Window.String(), "job_id": jobID}, ""), g.SyncLanes(ctx))
}

var errNoOperator = errors.New("jobs: a guard decision needs the operator's name")

// Resume lets the held jobs through and starts counting again; the decision
// is recorded and published as an ops event with the operator's identity.
func (g *Guard) Resume(ctx context.Context, d GuardDecision) (GuardState, error) {
	if d.Operator == "" {
		return GuardState{}, errNoOperator
	}
	st, err := g.resumeState(ctx, d)
	if err != nil {
		return st, err
	}
	return st, g.decided(ctx, st, "guard_resumed", "An operator resumed the mass-deactivation guard.", d)
}

// SetLimits changes the limits in force (0 keeps a limit as it is).
func (g *Guard) SetLimits(ctx context.Context, limit, urgentLimit int, d GuardDecision) (GuardState, error) {
	if d.Operator == "" {
		return GuardState{}, errNoOperator
	}
	st, err := g.setLimitsState(ctx, limit, urgentLimit, d)
	if err != nil {
		return st, err
	}
	return st, g.decided(ctx, st, "guard_limit_set",
		fmt.Sprintf("An operator set the mass-deactivation guard's limits to %d (urgent %d) per %s.", st.Limit, st.UrgentLimit, st.Window), d)
}

// DropHeld ends every job queued so far with the outcome "dropped" (Genesys
// untouched, dead-lettered for replay) and lets new jobs through.
func (g *Guard) DropHeld(ctx context.Context, d GuardDecision) (GuardState, error) {
	if d.Operator == "" {
		return GuardState{}, errNoOperator
	}
	s, err := g.js.Stream(ctx, g.names.JobsStream())
	if err != nil {
		return GuardState{}, fmt.Errorf("jobs: drop held: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return GuardState{}, fmt.Errorf("jobs: drop held: %w", err)
	}
	st, err := g.dropHeldState(ctx, info.State.LastSeq, d)
	if err != nil {
		return st, err
	}
	return st, g.decided(ctx, st, "guard_dropped",
		fmt.Sprintf("An operator dropped the jobs held by the mass-deactivation guard (queued through sequence %d).", info.State.LastSeq), d)
}

func (g *Guard) decided(ctx context.Context, st GuardState, kind, message string, d GuardDecision) error {
	fields := map[string]string{"operator": d.Operator, "limit": strconv.Itoa(st.Limit), "urgent_limit": strconv.Itoa(st.UrgentLimit)}
	if d.NATSUser != "" {
		fields["nats_user"] = d.NATSUser
	}
	if g.cfg.Key != defaultGuardKey {
		fields["guard"] = g.cfg.Key
	}
	return errors.Join(g.SyncLanes(ctx), g.OpsEvent(ctx, kind, message, fields, ""))
}

func (g *Guard) OpsEvent(ctx context.Context, kind, message string, fields map[string]string, key string) error {
	ev, err := g.origin.OpsEvent(audit.Ops{Kind: kind, Message: message, Fields: fields, Time: g.now().UTC(), Key: key})
	if err == nil {
		_, err = g.events.Publish(ctx, ev)
	}
	return err
}

// ApplyConfig makes the configured limits and window the ones in force when
// the stored state says otherwise (review L1: they used to be ignored once a
// state existed). by names who applies them (the worker's id). The change is
// recorded as a decision in the state and published as a guard_limit_set ops
// event naming the worker configuration as its author; it reports the
// limits that were in force. It never lifts a hold: only an operator's
// decision does, even when the configured limits would no longer justify it.
func (g *Guard) ApplyConfig(ctx context.Context, by string) (prev GuardState, changed bool, err error) {
	cfg := g.cfg
	st, err := g.update(ctx, func(st *GuardState) error {
		prev, changed = *st, false
		if st.Limit == cfg.Limit && st.UrgentLimit == cfg.UrgentLimit && st.Window == cfg.Window {
			return errUnchanged
		}
		st.Limit, st.UrgentLimit, st.Window, changed = cfg.Limit, cfg.UrgentLimit, cfg.Window, true
		st.record(GuardDecision{Operator: "worker configuration", NATSUser: by, At: g.now().UTC()}, "config_limit",
			fmt.Sprintf("limit %d, urgent limit %d per %s (were %d, %d per %s)", cfg.Limit, cfg.UrgentLimit, cfg.Window, prev.Limit, prev.UrgentLimit, prev.Window))
		return nil
	})
	if errors.Is(err, errUnchanged) || (err == nil && !changed) {
		return prev, false, nil
	}
	if err != nil {
		return prev, false, err
	}
	fields := map[string]string{"operator": "worker configuration", "worker": by,
		"limit": strconv.Itoa(st.Limit), "urgent_limit": strconv.Itoa(st.UrgentLimit), "window": st.Window.String(),
		"previous_limit": strconv.Itoa(prev.Limit), "previous_urgent_limit": strconv.Itoa(prev.UrgentLimit), "previous_window": prev.Window.String()}
	msg := fmt.Sprintf("Worker %s started with mass-deactivation guard limits %d (urgent %d) per %s; the stored limits were %d (urgent %d) per %s. The configured limits are in force; a hold stays until an operator lifts it.",
		by, st.Limit, st.UrgentLimit, st.Window, prev.Limit, prev.UrgentLimit, prev.Window)
	return prev, true, g.OpsEvent(ctx, "guard_limit_set", msg, fields, "")
}

var errUnchanged = errors.New("jobs: unchanged")
