// Package genesysbudget adapts the fleet rate budget (package budget, which
// knows nothing of Genesys) to the Genesys client's Limiter interface.
package genesysbudget

import (
	"context"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// Limiter is a genesys.Limiter backed by a *budget.Budget. The Budget's owner
// closes it; Limiter holds no resources of its own.
type Limiter struct{ B *budget.Budget }

var _ genesys.Limiter = Limiter{}

// New returns the Limiter for b: pass it to genesys.WithLimiter.
func New(b *budget.Budget) Limiter { return Limiter{B: b} }

// Wait implements genesys.Limiter.
func (l Limiter) Wait(ctx context.Context, p priority.Priority) error { return l.B.Wait(ctx, p) }

// Observe implements genesys.Limiter.
func (l Limiter) Observe(o genesys.Observation) {
	l.B.Observe(budget.Response{
		StatusCode: o.StatusCode, Allowed: o.Rate.Allowed, Count: o.Rate.Count, Reset: o.Rate.Reset,
		RetryAfter: o.RetryAfter,
	})
}
