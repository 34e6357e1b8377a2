package budget

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Bounds of a pause ordered by a 429, whatever its Retry-After says: a
// hostile or broken upstream must not freeze the fleet for hours.
const (
	MinPause = time.Second
	MaxPause = 15 * time.Minute
)

// Response is what one Genesys response said about the rate limit.
type Response struct {
	StatusCode int
	// Allowed, Count and Reset are the inin-ratelimit-allowed, -count and -reset headers; 0 when absent.
	Allowed int
	Count   int
	Reset   time.Duration
	// RetryAfter is the Retry-After of a 429.
	RetryAfter time.Duration
}

// pending merges observations that are not yet in the shared state.
type pending struct {
	pausedUntil int64  // extend-only
	gen         uint64 // the operators' resumes the worker had seen when it heard the 429
	limit       int    // lowered budget; 0: none
	limitUntil  int64
	holdUntil   int64 // no grant before this: the window is used up
}

func (p pending) empty() bool { return p == pending{} }

// Observe hears one response. A 429 pauses this worker at once and, through
// KV, the fleet for its Retry-After (clamped to MinPause–MaxPause) plus
// MaxClockSkew, so that no worker's clock ends it early. An
// inin-ratelimit-allowed below the configured Limit lowers the budget in
// force until the window resets; a count that has reached it holds every
// grant until then. Observe never raises the budget above Limit. It does not
// block on KV.
func (b *Budget) Observe(r Response) {
	now := b.cfg.Now().UnixNano()
	var add pending
	if r.StatusCode == http.StatusTooManyRequests {
		add.pausedUntil = now + int64(min(max(r.RetryAfter, MinPause), MaxPause)+b.cfg.MaxClockSkew)
		b.m.rateLimited()
	}
	reset := r.Reset
	if reset <= 0 || reset > b.cfg.Window {
		reset = b.cfg.Window
	}
	b.mu.Lock()
	last := b.last
	if r.Allowed > 0 && r.Allowed < b.cfg.Limit &&
		(last.limitAt(now, b.cfg.Limit) != r.Allowed || now+int64(reset)-last.LimitUntil > int64(b.cfg.Window/20)) {
		add.limit, add.limitUntil = r.Allowed, now+int64(reset)
	}
	inForce := last.limitAt(now, b.cfg.Limit)
	if r.Allowed > 0 {
		inForce = min(inForce, r.Allowed)
	}
	// Only when Genesys's budget is below ours: otherwise the GCRA schedule
	// already spaces grants within it, and the header's whole seconds would
	// only waste budget.
	if r.Allowed > 0 && r.Allowed < b.cfg.Limit && r.Count >= inForce && r.Reset > 0 && last.TAT < now+int64(r.Reset)-int64(b.Interval()) {
		add.holdUntil = now + int64(r.Reset)
	}
	if add.empty() {
		b.mu.Unlock()
		return
	}
	newPause := add.pausedUntil > b.pause
	if newPause {
		b.pause, b.pauseGen = add.pausedUntil, b.gen
	}
	if add.pausedUntil > 0 {
		add.gen = b.gen
	}
	b.pending = b.pending.merge(add)
	b.mu.Unlock()
	if newPause {
		b.m.paused(time.Unix(0, add.pausedUntil))
		b.log.Warn("Genesys answered 429: pausing the fleet", zap.Duration("retry_after", r.RetryAfter),
			zap.Time("until", time.Unix(0, add.pausedUntil)))
	}
	signal(b.flush)
}

func (p pending) merge(q pending) pending {
	p.pausedUntil = max(p.pausedUntil, q.pausedUntil)
	p.gen = max(p.gen, q.gen)
	if q.limit > 0 && (p.limit == 0 || q.limit < p.limit) {
		p.limit = q.limit
	}
	p.limitUntil = max(p.limitUntil, q.limitUntil)
	p.holdUntil = max(p.holdUntil, q.holdUntil)
	return p
}

// apply writes the observations into s.
func (p pending) apply(s state) state {
	s = s.clone()
	if p.gen >= s.Resumes { // else an operator resumed the fleet after this 429
		s.PausedUntil = max(s.PausedUntil, p.pausedUntil)
	}
	if p.limit > 0 {
		s.Limit, s.LimitUntil = p.limit, max(s.LimitUntil, p.limitUntil)
	}
	s.TAT = max(s.TAT, p.holdUntil)
	return s
}

// flushLoop stores pending observations until the Budget closes.
func (b *Budget) flushLoop() {
	for {
		select {
		case <-b.flush:
		case <-b.done:
			return
		}
		if err := b.flushPending(); err != nil {
			b.log.Warn("storing a rate-limit observation failed; retrying", zap.Error(err))
			t := time.NewTimer(b.cfg.FallbackFor)
			select {
			case <-t.C:
				signal(b.flush)
			case <-b.done:
				t.Stop()
				return
			}
		}
	}
}

// flushPending stores the pending observations with compare-and-set. On
// failure they stay pending.
func (b *Budget) flushPending() error {
	b.mu.Lock()
	p := b.pending
	b.pending = pending{}
	b.mu.Unlock()
	if p.empty() {
		return nil
	}
	err := b.storePending(p)
	if err != nil {
		b.mu.Lock()
		b.pending = b.pending.merge(p)
		b.mu.Unlock()
	}
	return err
}

func (b *Budget) storePending(p pending) error {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.OpTimeout)
	defer cancel()
	for {
		val, rev, err := b.store.Get(ctx)
		if err != nil {
			return err
		}
		s, err := decodeState(val)
		if err != nil {
			s = state{}
		}
		next := p.apply(s)
		_, err = b.store.Update(ctx, next.encode(), rev)
		if errors.Is(err, ErrConflict) {
			b.m.conflict()
			continue
		}
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.last = next
		b.mu.Unlock()
		b.m.setInForce(next.limitAt(b.cfg.Now().UnixNano(), b.cfg.Limit))
		return nil
	}
}
