package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// GuardConfig sets the mass-deactivation guard: like Microsoft Entra's
// "accidental deletions" threshold, but rolling and fleet-wide. Every
// deactivation reserves a slot in a shared counter before its PATCH; past
// Limit slots in Window the fleet stops taking normal jobs until an operator
// resumes, raises the limit or drops the held jobs. Urgent jobs have their
// own, lower cap, so that an urgent leaver is not stuck behind a held batch
// but a flood of "urgent" jobs is held too.
type GuardConfig struct {
	// Limit is how many deactivations (any priority) the fleet may make in Window before normal
	// jobs are held. 0 disables the guard. Defaults to 0 in the library; the worker command sets 50.
	Limit int
	// UrgentLimit is how many urgent deactivations the fleet may make in Window before urgent jobs
	// are held too. Defaults to Limit/5, at least 1.
	UrgentLimit int
	// Window is the rolling window. Defaults to 1 h.
	Window time.Duration
	// Key is the guard's key in the guard bucket, so that one bucket can hold more than one guard.
	// Defaults to "state": the mass-deactivation guard, which holds the job lanes when it trips.
	// A guard under another key (the reactivation guard, ReactivateGuardKey) holds only the jobs
	// that reserve with it and never holds a lane.
	Key string
}

func (c GuardConfig) withDefaults() GuardConfig {
	if c.UrgentLimit == 0 {
		c.UrgentLimit = max(c.Limit/5, 1)
	}
	if c.Window == 0 {
		c.Window = time.Hour
	}
	if c.Key == "" {
		c.Key = defaultGuardKey
	}
	return c
}

// GuardState is the guard's shared state, one JSON value in the guard bucket
// under the guard's key ("state" by default). Workers and operators change it by compare-and-set.
type GuardState struct {
	Limit       int           `json:"limit"`
	UrgentLimit int           `json:"urgent_limit"`
	Window      time.Duration `json:"window_ns"`
	Slots       []GuardSlot   `json:"slots"` // deactivations in the window, oldest first
	// Held: normal jobs are held; UrgentHeld: urgent ones too.
	Held       bool      `json:"held"`
	UrgentHeld bool      `json:"urgent_held"`
	HeldSince  time.Time `json:"held_since,omitzero"`
	// DropThrough: queued jobs up to this stream sequence that reach the guard are
	// dropped (outcome "dropped") instead of deactivating; set by "drop held".
	DropThrough uint64          `json:"drop_through,omitempty"`
	Decisions   []GuardDecision `json:"decisions,omitempty"` // the last operator decisions, newest last
}

// GuardSlot is one deactivation counted by the guard.
type GuardSlot struct {
	JobID  string    `json:"job_id"`
	At     time.Time `json:"at"`
	Urgent bool      `json:"urgent,omitempty"`
}

// GuardDecision is an operator's decision, as recorded in the state and in an
// ops event.
type GuardDecision struct {
	Action   string    `json:"action"` // resume, set_limit, drop_held
	Operator string    `json:"operator"`
	NATSUser string    `json:"nats_user,omitempty"`
	At       time.Time `json:"at"`
	Detail   string    `json:"detail,omitempty"`
}

// Counts returns the slots in the window, all and urgent only.
func (s *GuardState) Counts() (all, urgent int) {
	for _, sl := range s.Slots {
		all++
		if sl.Urgent {
			urgent++
		}
	}
	return all, urgent
}

func (s *GuardState) prune(now time.Time) {
	cut := now.Add(-s.Window)
	s.Slots = slices.DeleteFunc(s.Slots, func(sl GuardSlot) bool { return !sl.At.After(cut) })
}

// Errors of Guard.Reserve.
var (
	// ErrGuardHeld: the guard holds this job's lane; the job waits for an operator.
	ErrGuardHeld = errors.New("jobs: the mass-deactivation guard holds this job")
	// ErrGuardDrop: an operator dropped the held jobs and this is one of them.
	ErrGuardDrop = errors.New("jobs: dropped by an operator while the mass-deactivation guard held it")
)

const defaultGuardKey = "state"

// ReactivateGuardKey is the key of the reactivation guard in the guard
// bucket. Reactivations have a guard of their own (review D4): re-enabling
// leavers in bulk, by mistake or by a stolen operator credential, is as
// dangerous as deactivating staff in bulk, and its cap must not be shared
// with deactivations (a layoff day would leave no room for an undo, or an
// undo run would hold the layoff). When it trips, reactivations wait, handed
// back without an attempt, until an operator resumes it, raises its limit or
// drops the held reactivations (genesysctl guard ... --reactivations);
// deactivations are never held by it, and no lane is paused.
const ReactivateGuardKey = "reactivate"

// DeleteGuardKey is the key of the delete guard in the guard bucket (issue 16): deletes are
// counted apart from deactivations, under their own limit and window, so that a layoff day's
// deactivations leave room for the deletes that fall due and a run of deletes never holds the
// deactivations. When it trips it holds the delete lane alone (its consumer is paused) until an
// operator resumes it, raises its limit or drops the held deletes (genesysctl guard ... --deletes).
const DeleteGuardKey = "delete"

// Guard is the fleet-wide mass-deactivation guard on the guard bucket. Safe
// for concurrent use.
type Guard struct {
	kv     jetstream.KeyValue
	lanes  *Lanes
	js     jetstream.JetStream
	names  Names
	events *audit.Publisher
	origin audit.Origin
	cfg    GuardConfig
	now    func() time.Time
	// testHook, when set (by in-package tests only), is called at the named points where another
	// writer may change the guard state, so that tests can interleave an operator's decision there.
	testHook func(point string)
}

func (g *Guard) hook(point string) {
	if g.testHook != nil {
		g.testHook(point)
	}
}

// NewGuard opens the guard bucket, which Provision creates. Operators'
// decisions and trips are published as ops events from origin.
func NewGuard(ctx context.Context, js jetstream.JetStream, names Names, cfg GuardConfig, origin audit.Origin) (*Guard, error) {
	kv, err := js.KeyValue(ctx, names.GuardBucket())
	if err != nil {
		return nil, fmt.Errorf("jobs: open guard bucket %s: %w", names.GuardBucket(), err)
	}
	events, err := audit.NewPublisher(js, audit.PublisherConfig{Prefix: names.EffectivePrefix(), Stream: names.AuditStream()})
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Key == lanesKey {
		return nil, fmt.Errorf("jobs: guard key %q is reserved", lanesKey)
	}
	ln := &Lanes{kv: kv, js: js, names: names, now: time.Now} // the same bucket: no second lookup
	return &Guard{kv: kv, lanes: ln, js: js, names: names, events: events, origin: origin, cfg: cfg, now: time.Now}, nil
}

// Config is the guard's configuration, with its defaults applied.
func (g *Guard) Config() GuardConfig { return g.cfg }

// State reads the guard's state (a fresh one from the configuration when
// none is stored yet) and its revision (0 when none is stored).
func (g *Guard) State(ctx context.Context) (GuardState, uint64, error) {
	e, err := g.kv.Get(ctx, g.cfg.Key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return GuardState{Limit: g.cfg.Limit, UrgentLimit: g.cfg.UrgentLimit, Window: g.cfg.Window}, 0, nil
	}
	if err != nil {
		return GuardState{}, 0, fmt.Errorf("jobs: read guard state: %w", err)
	}
	var st GuardState
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return GuardState{}, 0, fmt.Errorf("jobs: decode guard state: %w", err)
	}
	return st, e.Revision(), nil
}

// update applies change to the stored state by compare-and-set, retrying on
// a concurrent change. change returns an error to abort without writing.
func (g *Guard) update(ctx context.Context, change func(*GuardState) error) (GuardState, error) {
	for {
		st, rev, err := g.State(ctx)
		if err != nil {
			return st, err
		}
		st.prune(g.now())
		if err := change(&st); err != nil {
			return st, err
		}
		data, err := json.Marshal(st)
		if err != nil {
			return st, err
		}
		if rev == 0 {
			_, err = g.kv.Create(ctx, g.cfg.Key, data)
		} else {
			_, err = g.kv.Update(ctx, g.cfg.Key, data, rev)
		}
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return st, fmt.Errorf("jobs: write guard state: %w", err)
		}
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
	}
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Reserve counts one deactivation for the job before its PATCH. It returns
// tripped true when this call is the one that tripped the guard, and
// ErrGuardHeld when the job must wait; a job that already holds a slot (a
// retry) keeps it. A job queued before an operator's "drop held" gets
// ErrGuardDrop.
func (g *Guard) Reserve(ctx context.Context, jobID string, urgent bool, seq uint64) (tripped bool, err error) {
	if g.cfg.Limit <= 0 {
		return false, nil
	}
	_, err = g.update(ctx, func(st *GuardState) error {
		tripped = false
		if slices.ContainsFunc(st.Slots, func(sl GuardSlot) bool { return sl.JobID == jobID }) {
			return nil
		}
		if !urgent && seq != 0 && seq <= st.DropThrough {
			return ErrGuardDrop
		}
		all, urg := st.Counts()
		switch {
		case urgent && (st.UrgentHeld || urg >= st.UrgentLimit):
			if !st.UrgentHeld {
				st.UrgentHeld, tripped = true, true
				st.HeldSince = cmpTime(st.HeldSince, g.now())
				return nil // write the trip, then report the hold
			}
			return ErrGuardHeld
		case !urgent && (st.Held || all >= st.Limit):
			if !st.Held {
				st.Held, tripped = true, true
				st.HeldSince = cmpTime(st.HeldSince, g.now())
				return nil
			}
			return ErrGuardHeld
		}
		st.Slots = append(st.Slots, GuardSlot{JobID: jobID, At: g.now().UTC(), Urgent: urgent})
		return nil
	})
	if err == nil && tripped {
		err = ErrGuardHeld
	}
	return tripped, err
}

func cmpTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def.UTC()
	}
	return t
}

// resumeState lets held jobs through: the window's count starts again from
// zero, so the guard trips again only after another Limit deactivations.
func (g *Guard) resumeState(ctx context.Context, d GuardDecision) (GuardState, error) {
	return g.update(ctx, func(st *GuardState) error {
		st.record(d, "resume", fmt.Sprintf("%d deactivations in the window acknowledged", len(st.Slots)))
		st.Slots, st.Held, st.UrgentHeld, st.HeldSince = nil, false, false, time.Time{}
		return nil
	})
}

// setLimitsState changes the limits in force (0 keeps one as it is) and lifts a
// hold that the new limits no longer justify.
func (g *Guard) setLimitsState(ctx context.Context, limit, urgentLimit int, d GuardDecision) (GuardState, error) {
	if limit < 0 || urgentLimit < 0 {
		return GuardState{}, errors.New("jobs: guard limits must not be negative")
	}
	return g.update(ctx, func(st *GuardState) error {
		if limit > 0 {
			st.Limit = limit
		}
		if urgentLimit > 0 {
			st.UrgentLimit = urgentLimit
		}
		all, urg := st.Counts()
		st.Held = st.Held && all >= st.Limit
		st.UrgentHeld = st.UrgentHeld && urg >= st.UrgentLimit
		st.record(d, "set_limit", fmt.Sprintf("limit %d, urgent limit %d", st.Limit, st.UrgentLimit))
		return nil
	})
}

// dropHeldState drops every job queued up to jobsLastSeq (the jobs stream's last
// sequence when the operator decided): each ends "dropped" when it reaches
// the guard, untouched in Genesys. Jobs published later run normally.
func (g *Guard) dropHeldState(ctx context.Context, jobsLastSeq uint64, d GuardDecision) (GuardState, error) {
	return g.update(ctx, func(st *GuardState) error {
		st.DropThrough = max(st.DropThrough, jobsLastSeq)
		st.Slots, st.Held, st.UrgentHeld, st.HeldSince = nil, false, false, time.Time{}
		st.record(d, "drop_held", fmt.Sprintf("jobs queued through sequence %d are dropped", jobsLastSeq))
		return nil
	})
}

func (st *GuardState) record(d GuardDecision, action, detail string) {
	d.Action, d.Detail = action, detail
	if d.At.IsZero() {
		d.At = time.Now().UTC()
	}
	st.Decisions = append(st.Decisions, d)
	if len(st.Decisions) > 20 {
		st.Decisions = st.Decisions[len(st.Decisions)-20:]
	}
}
