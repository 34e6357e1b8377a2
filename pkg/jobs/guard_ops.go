package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// holdLanes pauses the consumers of the held lanes, so that no worker takes
// their jobs until an operator decides; the pause is long and lifted
// explicitly by Resume, SetLimits or DropHeld.
func (g *Guard) holdLanes(ctx context.Context, st GuardState) error {
	if !g.ownsLanes() {
		return nil
	}
	until := g.now().Add(30 * 24 * time.Hour)
	var errs []error
	if st.Held {
		_, err := g.js.PauseConsumer(ctx, g.names.JobsStream(), g.names.NormalConsumer(), until)
		errs = append(errs, err)
	}
	if st.UrgentHeld {
		_, err := g.js.PauseConsumer(ctx, g.names.JobsStream(), g.names.UrgentConsumer(), until)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ownsLanes: only the mass-deactivation guard pauses and resumes the lanes.
func (g *Guard) ownsLanes() bool { return g.cfg.Key == guardKey }

// releaseLanes resumes the consumers of the lanes the state no longer holds.
func (g *Guard) releaseLanes(ctx context.Context, st GuardState) error {
	if !g.ownsLanes() {
		return nil
	}
	var errs []error
	if !st.Held {
		_, err := g.js.ResumeConsumer(ctx, g.names.JobsStream(), g.names.NormalConsumer())
		errs = append(errs, err)
	}
	if !st.UrgentHeld {
		_, err := g.js.ResumeConsumer(ctx, g.names.JobsStream(), g.names.UrgentConsumer())
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// tripped records that this worker tripped the guard: the lanes pause and
// an ops event says so.
func (g *Guard) tripped(ctx context.Context, jobID string, urgent bool) error {
	st, _, err := g.State(ctx)
	if err != nil {
		return err
	}
	lane, limit := "normal", st.Limit
	if urgent {
		lane, limit = "urgent", st.UrgentLimit
	}
	all, urg := st.Counts()
	return errors.Join(g.holdLanes(ctx, st), g.opsEvent(ctx, "guard_tripped",
		fmt.Sprintf("The mass-deactivation guard holds %s jobs: %d deactivations (%d urgent) in the last %s reached the %s limit of %d. An operator must resume, raise the limit or drop the held jobs.",
			lane, all, urg, st.Window, lane, limit),
		map[string]string{"lane": lane, "limit": strconv.Itoa(limit), "count": strconv.Itoa(all), "urgent_count": strconv.Itoa(urg),
			"window": st.Window.String(), "job_id": jobID}, ""))
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
	if g.cfg.Key != guardKey {
		fields["guard"] = g.cfg.Key
	}
	return errors.Join(g.releaseLanes(ctx, st), g.opsEvent(ctx, kind, message, fields, ""))
}

func (g *Guard) opsEvent(ctx context.Context, kind, message string, fields map[string]string, key string) error {
	ev, err := g.origin.OpsEvent(audit.Ops{Kind: kind, Message: message, Fields: fields, Time: g.now().UTC(), Key: key})
	if err == nil {
		_, err = g.events.Publish(ctx, ev)
	}
	return err
}
