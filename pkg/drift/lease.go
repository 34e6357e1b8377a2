package drift

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// LeaderKey is the key of the drift watch's lease in the locks bucket.
const LeaderKey = "drift.leader"

type leaderValue struct {
	Instance string    `json:"instance"`
	Expires  time.Time `json:"expires"`
}

// lease is the watch's hold on LeaderKey. Safe for concurrent use.
type lease struct {
	w *Watch

	mu         sync.Mutex
	rev        uint64
	validUntil time.Time // checks stop by then: the last write plus TTL minus the margin
}

func (w *Watch) leaderValue(now time.Time) []byte {
	data, _ := json.Marshal(leaderValue{Instance: w.cfg.Instance, Expires: now.Add(w.cfg.LeaseTTL).UTC()})
	return data
}

// margin is how long before the lease's expiry the holder stops: room for clock skew between
// instances and for a check that is ending.
func (w *Watch) margin() time.Duration { return w.cfg.LeaseTTL / 4 }

// tryAcquire takes the lease when it is free, expired or already ours; nil when another instance
// holds it.
func (w *Watch) tryAcquire(ctx context.Context) (*lease, error) {
	now := w.now()
	rev, err := w.locks.Create(ctx, LeaderKey, w.leaderValue(now))
	if err == nil {
		return &lease{w: w, rev: rev, validUntil: now.Add(w.cfg.LeaseTTL - w.margin())}, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, err
	}
	e, err := w.locks.Get(ctx, LeaderKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil // released meanwhile: the next try creates it
	}
	if err != nil {
		return nil, err
	}
	var held leaderValue
	_ = json.Unmarshal(e.Value(), &held)
	if held.Instance != w.cfg.Instance && now.Before(held.Expires) {
		return nil, nil
	}
	rev, err = w.locks.Update(ctx, LeaderKey, w.leaderValue(now), e.Revision())
	if err != nil {
		return nil, nil // somebody else took it first
	}
	return &lease{w: w, rev: rev, validUntil: now.Add(w.cfg.LeaseTTL - w.margin())}, nil
}

// renew moves the expiry forward; false when the lease is lost (taken over, or the store failed
// until the lease is no longer valid).
func (l *lease) renew(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.w.now()
	rev, err := l.w.locks.Update(ctx, LeaderKey, l.w.leaderValue(now), l.rev)
	if err == nil {
		l.rev, l.validUntil = rev, now.Add(l.w.cfg.LeaseTTL-l.w.margin())
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return false // somebody took it over
	}
	return now.Before(l.validUntil) // the store failed: still ours until it expires
}

// valid is the time by which the holder must have stopped checking.
func (l *lease) valid() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.validUntil
}

// release gives the lease up so that a standby takes over at once, unless somebody took it over.
func (l *lease) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = l.w.locks.Delete(ctx, LeaderKey, jetstream.LastRevision(l.rev))
}
