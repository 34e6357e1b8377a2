package budget

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// fallback is the local limiter a worker uses while KV is unreachable:
// share = Limit/MaxFleet requests per window, spaced by golang.org/x/time/rate
// with a burst of one, so that MaxFleet workers together stay within Limit
// whatever their clocks say. It remembers its grants so that they are
// charged to the shared state (pushing TAT later) once KV answers again.
// It is safe for concurrent use.
type fallback struct {
	lim    *rate.Limiter
	share  int
	window time.Duration
	slack  time.Duration
	hold   time.Duration // how long one KV failure keeps the fallback on
	others int           // grants other workers may make on their fallback while this one is back on KV

	mu        sync.Mutex
	on        time.Time   // fallback in force until
	notBefore time.Time   // no fallback grant before this
	owed      bool        // entered since the last charge to the shared state
	grants    []time.Time // grants made while in force, newest last
}

func newFallback(cfg Config) *fallback {
	share := max(1, cfg.Limit/cfg.MaxFleet)
	// Grants 1/r apart: a half-open window of length W holds at most share of them.
	r := rate.Limit(float64(share) / (cfg.Window + cfg.MaxSendJitter).Seconds())
	// Another worker stays on its fallback at most hold after this one is back.
	others := (cfg.MaxFleet - 1) * (int(float64(share)*cfg.FallbackFor.Seconds()/cfg.Window.Seconds()) + 1)
	return &fallback{lim: rate.NewLimiter(r, 1), share: share, window: cfg.Window,
		slack: cfg.MaxClockSkew + cfg.MaxSendJitter, hold: cfg.FallbackFor, others: others}
}

// enter switches the fallback on for hold from now; it reports whether it
// was off. A fallback starts empty, and not before lastTAT, the end of the
// shared schedule as this worker last saw it: the window before the outage
// was the fleet's, and a full bucket on every worker would add a burst to it.
func (f *fallback) enter(now time.Time, lastTAT int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	was := now.Before(f.on)
	f.on = now.Add(f.hold)
	if !was {
		f.lim.SetBurstAt(now, 1)
		f.lim.AllowN(now, int(f.lim.TokensAt(now))) // empty the bucket
		f.notBefore = now
		if t := time.Unix(0, lastTAT); t.After(now) {
			f.notBefore = t
		}
		f.owed = true
	}
	return !was
}

func (f *fallback) active(now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return now.Before(f.on)
}

func (f *fallback) until() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.on
}

// take grants one request at now (0) or says how long until it can.
func (f *fallback) take(now time.Time) time.Duration {
	f.mu.Lock()
	nb := f.notBefore
	f.mu.Unlock()
	if now.Before(nb) {
		return nb.Sub(now)
	}
	if tokens := f.lim.TokensAt(now); tokens < 1 {
		return time.Duration((1 - tokens) / float64(f.lim.Limit()) * float64(time.Second))
	}
	if !f.lim.AllowN(now, 1) {
		return time.Millisecond
	}
	f.mu.Lock()
	f.grants = append(f.grants, now)
	if len(f.grants) > 4*f.share {
		f.grants = f.grants[len(f.grants)-f.share:]
	}
	f.mu.Unlock()
	return 0
}

// debt is how many grants to charge to the shared schedule on coming back
// from the fallback: this worker's fallback grants recent enough to share a
// window with grants made from now on, and what the other workers may still
// grant on theirs before they too are back (the outage may have been theirs
// as well). It is 0 when this worker has not been on the fallback.
func (f *fallback) debt(now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.owed {
		return 0
	}
	n := f.others
	for _, t := range f.grants {
		if now.Sub(t) < f.window+f.slack {
			n++
		}
	}
	return n
}

func (f *fallback) clearDebt() {
	f.mu.Lock()
	f.grants, f.owed = nil, false
	f.mu.Unlock()
}
