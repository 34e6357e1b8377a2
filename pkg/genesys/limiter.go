package genesys

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// Limiter decides when a request may be sent, and hears what Genesys said
// about the rate limit. Every API request, retries included, passes through
// Wait first; every response, and every 429, is then reported to Observe.
// The token grant does not pass through it: it goes to the login host, which
// does not count against the API's per-client limit.
//
// Implementations must be safe for concurrent use.
type Limiter interface {
	// Wait blocks until a request of priority p may be sent, or ctx ends. Urgent requests
	// belong to jobs that must not wait behind a backlog.
	Wait(ctx context.Context, p priority.Priority) error
	// Observe reports one response.
	Observe(o Observation)
}

// Observation is what one response said about the rate limit.
type Observation struct {
	Time       time.Time
	Priority   priority.Priority
	StatusCode int
	Rate       Rate          // the inin-ratelimit-* headers; zero fields when absent
	RetryAfter time.Duration // on a 429: what Genesys asked us to wait
}

// Rate holds a response's inin-ratelimit-* headers. A field is 0 when its
// header was absent or not a number.
type Rate struct {
	Allowed int           // inin-ratelimit-allowed: requests allowed in the window
	Count   int           // inin-ratelimit-count: requests counted in the window
	Reset   time.Duration // inin-ratelimit-reset: time until the window resets
}

func parseRate(h http.Header) Rate {
	atoi := func(k string) int {
		n, err := strconv.Atoi(strings.TrimSpace(h.Get(k)))
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	return Rate{
		Allowed: atoi("Inin-Ratelimit-Allowed"),
		Count:   atoi("Inin-Ratelimit-Count"),
		Reset:   time.Duration(atoi("Inin-Ratelimit-Reset")) * time.Second,
	}
}

// Bounds for a pause ordered by a 429, whatever Retry-After says.
const (
	MinRetryAfter = time.Second
	MaxRetryAfter = 15 * time.Minute
)

// ClampRetryAfter bounds a Retry-After to [MinRetryAfter, MaxRetryAfter].
func ClampRetryAfter(d time.Duration) time.Duration {
	return min(max(d, MinRetryAfter), MaxRetryAfter)
}

// RateLimiter is the default Limiter for one process: a golang.org/x/time/rate
// token bucket sized so that no window of the given length sees more than
// the given number of requests, which pauses every caller after a 429 for
// the (clamped) Retry-After. It ignores priority; the fleet budget honours it.
//
// Create it with NewRateLimiter. It is safe for concurrent use.
type RateLimiter struct {
	lim     *rate.Limiter
	nowFunc func() time.Time

	mu          sync.Mutex
	pausedUntil time.Time
}

// NewRateLimiter allows n requests per window. With a burst of one and a
// refill of (n-1)/window, no window of that length can see more than n.
func NewRateLimiter(n int, window time.Duration) *RateLimiter {
	n = max(n, 2)
	return &RateLimiter{
		lim:     rate.NewLimiter(rate.Limit(float64(n-1)/window.Seconds()), 1),
		nowFunc: time.Now,
	}
}

// Wait implements Limiter.
func (l *RateLimiter) Wait(ctx context.Context, _ priority.Priority) error {
	for {
		l.mu.Lock()
		wait := l.pausedUntil.Sub(l.nowFunc())
		l.mu.Unlock()
		if wait <= 0 {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return l.lim.Wait(ctx)
}

// Observe implements Limiter: a 429 pauses every caller.
func (l *RateLimiter) Observe(o Observation) {
	if o.StatusCode != http.StatusTooManyRequests {
		return
	}
	until := o.Time.Add(ClampRetryAfter(o.RetryAfter))
	l.mu.Lock()
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	l.mu.Unlock()
}

// PausedUntil reports the end of the current 429 pause, if any.
func (l *RateLimiter) PausedUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pausedUntil
}
