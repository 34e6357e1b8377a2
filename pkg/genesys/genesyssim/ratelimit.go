package genesyssim

import (
	"sync"
	"time"
)

// limiter is a rolling-window rate limiter: a key may have at most limit accepted requests in
// any span of length window. A request accepted at t occupies a slot until t+window (exclusive),
// so it has left the window once now >= t+window. Refused requests take no slot.
// It is safe for concurrent use.
type limiter struct {
	limit  int
	window time.Duration

	mu   sync.Mutex
	keys map[string][]time.Time // accepted request times in the window, oldest first
}

// rateDecision is the outcome of one take.
type rateDecision struct {
	allowed bool
	// count is the number of accepted requests in the window, this one included when allowed.
	count int
	// wait is the time until the oldest request in the window leaves it, which frees a slot.
	wait time.Duration
}

func newLimiter(limit int, window time.Duration) *limiter {
	return &limiter{limit: limit, window: window, keys: map[string][]time.Time{}}
}

// take records a request for key at now if the window has room.
func (l *limiter) take(key string, now time.Time) rateDecision { return l.decide(key, now, true) }

// peek reports the window of key at now without recording a request.
func (l *limiter) peek(key string, now time.Time) rateDecision {
	d := l.decide(key, now, false)
	d.allowed = false
	return d
}

func (l *limiter) decide(key string, now time.Time, record bool) rateDecision {
	l.mu.Lock()
	defer l.mu.Unlock()
	times := l.keys[key]
	i := 0
	for i < len(times) && !now.Before(times[i].Add(l.window)) {
		i++
	}
	times = times[i:]
	d := rateDecision{allowed: len(times) < l.limit}
	if d.allowed && record {
		times = append(times, now)
	}
	d.count = len(times)
	if len(times) == 0 {
		delete(l.keys, key) // per-token mode would otherwise keep every token ever seen
		return d
	}
	l.keys[key] = times
	d.wait = times[0].Add(l.window).Sub(now)
	return d
}

func (l *limiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = map[string][]time.Time{}
}

// ceilSeconds rounds d up to whole seconds; 0 for d <= 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
