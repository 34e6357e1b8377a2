package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The lanes a hold may name.
const (
	LaneUrgent  = "urgent"
	LaneNormal  = "normal"
	LaneCleanup = "cleanup" // the follow-up cleanup jobs of deactivations
)

// lanesKey is the key of the lanes' holds in the guard bucket.
const lanesKey = "lanes"

// HoldCredentials names the fleet pause after Genesys refused our
// credentials or permissions.
const HoldCredentials = "credentials"

// openHoldFor is how long a consumer stays paused for a hold without an end:
// JetStream pauses until a time, and such a hold is lifted explicitly.
const openHoldFor = 30 * 24 * time.Hour

// LaneHold is one reason to keep lanes from delivering jobs.
type LaneHold struct {
	Lanes  []string  `json:"lanes"`            // LaneUrgent, LaneNormal, LaneCleanup, LaneDelete
	Until  time.Time `json:"until,omitzero"`   // the hold lapses then; zero: until lifted
	Reason string    `json:"reason,omitempty"` // for operators
	By     string    `json:"by,omitempty"`     // the worker or component that set it
	Since  time.Time `json:"since"`
}

// LaneHolds is every reason the lanes are held, by name ("credentials",
// "guard:state", ...). It is one JSON value in the guard bucket.
type LaneHolds struct {
	Holds map[string]LaneHold `json:"holds,omitempty"`
}

// Until reports whether a live hold names lane and, if so, until when the
// lane's consumer should stay paused: the latest end of those holds.
func (h LaneHolds) Until(lane string, now time.Time) (time.Time, bool) {
	var until time.Time
	held := false
	for _, hold := range h.Holds {
		if !slices.Contains(hold.Lanes, lane) || (!hold.Until.IsZero() && !hold.Until.After(now)) {
			continue
		}
		end := hold.Until
		if end.IsZero() {
			end = now.Add(openHoldFor)
		}
		held = true
		if end.After(until) {
			until = end
		}
	}
	return until, held
}

// lanes is the one owner of the job consumers' paused state. Every reason to
// pause (the credentials pause, each guard's holds) is a named hold; set
// changes one hold by compare-and-set and then pauses or resumes each
// consumer from all the holds together, so lifting one reason never
// resumes a lane that another reason holds. Safe for concurrent use.
type Lanes struct {
	kv    jetstream.KeyValue
	js    jetstream.JetStream
	names Names
	now   func() time.Time
	// testHook, when set (by in-package tests only), is called at the named points where
	// another Set may interleave.
	testHook func(point string)
}

func (l *Lanes) hook(point string) {
	if l.testHook != nil {
		l.testHook(point)
	}
}

func NewLanes(ctx context.Context, js jetstream.JetStream, names Names) (*Lanes, error) {
	kv, err := js.KeyValue(ctx, names.GuardBucket())
	if err != nil {
		return nil, fmt.Errorf("jobs: open guard bucket %s: %w", names.GuardBucket(), err)
	}
	return &Lanes{kv: kv, js: js, names: names, now: time.Now}, nil
}

// Read returns the stored holds and their revision (0 when none are stored).
func (l *Lanes) Read(ctx context.Context) (LaneHolds, uint64, error) {
	e, err := l.kv.Get(ctx, lanesKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return LaneHolds{}, 0, nil
	}
	if err != nil {
		return LaneHolds{}, 0, fmt.Errorf("jobs: read lane holds: %w", err)
	}
	var h LaneHolds
	if err := json.Unmarshal(e.Value(), &h); err != nil {
		return LaneHolds{}, 0, fmt.Errorf("jobs: decode lane holds: %w", err)
	}
	return h, e.Revision(), nil
}

// Set stores hold under name (nil lifts it), drops lapsed holds, and applies
// the result to the consumers. Holds that come out unchanged are not written
// again (a guard state saved while nothing is held lifts no hold).
func (l *Lanes) Set(ctx context.Context, name string, hold *LaneHold) error {
	for {
		h, rev, err := l.Read(ctx)
		if err != nil {
			return err
		}
		stored, err := json.Marshal(h)
		if err != nil {
			return err
		}
		now := l.now()
		h.Holds = maps.Clone(h.Holds)
		if h.Holds == nil {
			h.Holds = map[string]LaneHold{}
		}
		maps.DeleteFunc(h.Holds, func(_ string, v LaneHold) bool { return !v.Until.IsZero() && !v.Until.After(now) })
		if hold == nil {
			delete(h.Holds, name)
		} else {
			h.Holds[name] = *hold
		}
		data, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if bytes.Equal(data, stored) {
			return l.applyLatest(ctx, h, rev)
		}
		if rev == 0 {
			rev, err = l.kv.Create(ctx, lanesKey, data)
		} else {
			rev, err = l.kv.Update(ctx, lanesKey, data, rev)
		}
		if err == nil {
			return l.applyLatest(ctx, h, rev)
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return fmt.Errorf("jobs: write lane holds: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// applyLatest applies h, the holds stored at revision rev, and then the
// holds stored since, until the holds it applied are still the stored ones.
// Writing the holds and pausing the consumers are separate steps, so a Set
// that applies late could otherwise undo the pause or resume of a later Set;
// this way the last call to pause or resume a consumer follows the latest holds.
func (l *Lanes) applyLatest(ctx context.Context, h LaneHolds, rev uint64) error {
	l.hook("set:apply")
	for {
		err := l.Apply(ctx, h)
		latest, latestRev, rerr := l.Read(ctx)
		if rerr != nil || latestRev == rev {
			return errors.Join(err, rerr)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h, rev = latest, latestRev
	}
}

// Apply pauses each consumer that a hold names until the latest end of its
// holds, and resumes the others.
func (l *Lanes) Apply(ctx context.Context, h LaneHolds) error {
	var errs []error
	now := l.now()
	for lane, consumer := range map[string]string{LaneUrgent: l.names.UrgentConsumer(), LaneNormal: l.names.NormalConsumer(),
		LaneCleanup: l.names.CleanupConsumer(), LaneDelete: l.names.DeleteConsumer()} {
		var err error
		if until, held := h.Until(lane, now); held {
			_, err = l.js.PauseConsumer(ctx, l.names.JobsStream(), consumer, until)
		} else {
			_, err = l.js.ResumeConsumer(ctx, l.names.JobsStream(), consumer)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("jobs: pause or resume consumer %s: %w", consumer, err))
		}
	}
	return errors.Join(errs...)
}

// LaneHolds reads every reason the lanes are held (this guard's and any
// other), for operators.
func (g *Guard) LaneHolds(ctx context.Context) (LaneHolds, error) {
	h, _, err := g.lanes.Read(ctx)
	return h, err
}
