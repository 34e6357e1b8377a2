package reconcile

import (
	"context"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/offboard-dev/genesys-deactivator/pkg/drift"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// ShareLimiter is the Genesys client's limiter for a reconciliation: every request (the fallback
// searches of an inactive user's lookup included) waits for the share limiter of the drift watch
// (drift.NewShareLimiter: share × the fleet's rate per minute, one at a time) and then for the
// fleet budget, so the fleet's limit holds and the workers keep the rest of it.
type ShareLimiter struct {
	share *rate.Limiter
	next  genesys.Limiter
	calls atomic.Int64
}

var _ genesys.Limiter = (*ShareLimiter)(nil)

// NewShareLimiter limits to share × ratePerMinute requests a minute, in front of next (the fleet
// budget).
func NewShareLimiter(ratePerMinute int, share float64, next genesys.Limiter) *ShareLimiter {
	return &ShareLimiter{share: drift.NewShareLimiter(ratePerMinute, share), next: next}
}

// Wait implements genesys.Limiter.
func (l *ShareLimiter) Wait(ctx context.Context, p priority.Priority) error {
	if err := l.share.Wait(ctx); err != nil {
		return err
	}
	if err := l.next.Wait(ctx, p); err != nil {
		return err
	}
	l.calls.Add(1)
	return nil
}

// Observe implements genesys.Limiter.
func (l *ShareLimiter) Observe(o genesys.Observation) { l.next.Observe(o) }

// Calls is the number of requests let through so far.
func (l *ShareLimiter) Calls() int64 { return l.calls.Load() }

// PerMinute is the share's limit, in requests a minute.
func (l *ShareLimiter) PerMinute() float64 { return float64(l.share.Limit()) * 60 }
