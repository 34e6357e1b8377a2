package budget

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// step tries once to obtain grants for n waiting requests of priority p and
// returns how long to wait before the next try (0: try again at once).
func (b *Budget) step(p priority.Priority, n int) time.Duration {
	now := b.cfg.Now()
	if wait := b.localPause(now, p); wait > 0 {
		if !b.resumedByOperator(now) {
			return min(wait, pauseRecheck)
		}
		now = b.cfg.Now()
	}
	if b.fb.active(now) {
		return b.stepFallback(now, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.OpTimeout)
	defer cancel()
	val, rev, err := b.store.Get(ctx)
	if err != nil {
		b.enterFallback(err)
		return 0
	}
	// Read the clock after the read: a grant's stamp should be as close to
	// its request as possible (see the stale check below).
	now = b.cfg.Now()
	s := b.readState(val, now)
	debt := b.fb.debt(now)
	if debt > 0 {
		// Grants made on the local limiter while KV was away count now.
		s.TAT = max(s.TAT, now.UnixNano()) + int64(debt)*int64(b.p.interval(s.limitAt(now.UnixNano(), b.cfg.Limit)))
	}
	d := decide(s, now.UnixNano(), request{id: b.cfg.WorkerID, urgent: p == priority.Urgent, n: n}, b.p)
	if d.next == nil && debt > 0 {
		d.next = &s
	}
	if d.next != nil {
		_, err := b.store.Update(ctx, d.next.encode(), rev)
		if errors.Is(err, ErrConflict) {
			// Another worker took the slot. Coming back a little later, at a
			// random moment, keeps a large fleet from stampeding the key.
			b.m.conflict()
			if p == priority.Urgent {
				return 0
			}
			return time.Duration(rand.Int64N(int64(b.Interval()/4) + 1))
		}
		if err != nil {
			b.enterFallback(err)
			return 0
		}
		b.fb.clearDebt()
		b.mu.Lock()
		b.last = *d.next
		b.mu.Unlock()
		if d.grant > 0 && b.cfg.Now().Sub(now) > b.cfg.MaxSendJitter/2 {
			// The grant was decided too long ago for the send-jitter allowance to
			// cover it (a stalled worker): drop it, leaving its slot unused.
			b.m.stale()
			return 0
		}
	}
	if d.grant > 0 {
		b.grant(p, d.grant, "kv")
	}
	if d.wait > pauseRecheck && b.localPause(now, priority.Urgent) > 0 {
		// A 429 pause: look again soon, for an operator's resume.
		return pauseRecheck
	}
	if d.wait > 0 && p == priority.Normal {
		// Spread the fleet's wake-ups over the burst tolerance, which absorbs
		// the delay without losing the slot, so that one worker reads first.
		d.wait += time.Duration(rand.Int64N(int64(b.Interval()/8) + 1))
	}
	return d.wait
}

// readState decodes the shared state and notes what it says.
func (b *Budget) readState(val []byte, now time.Time) state {
	s, err := decodeState(val)
	if err != nil {
		// Someone wrote garbage: start afresh, one full window from now, to be safe.
		b.log.Error("the shared budget state is unreadable; resetting it", zap.Error(err))
		s = state{TAT: now.UnixNano() + int64(b.cfg.Window)}
	}
	b.noteState(s, now)
	return s
}

// pauseRecheck is how often a worker in a 429 pause reads the shared state
// for an operator's resume (see Resume).
const pauseRecheck = 2 * time.Second

// resumedByOperator reads the shared state, past this worker's cache, at
// most every pauseRecheck, and reports whether an operator's resume has
// cleared this worker's pause. While KV cannot be read the pause holds.
func (b *Budget) resumedByOperator(now time.Time) bool {
	b.mu.Lock()
	due := now.Sub(b.checked) >= pauseRecheck
	if due {
		b.checked = now
	}
	b.mu.Unlock()
	if !due {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.OpTimeout)
	defer cancel()
	val, _, err := b.cache.Store.Get(ctx)
	if err != nil {
		return false
	}
	b.readState(val, b.cfg.Now())
	return b.localPause(b.cfg.Now(), priority.Urgent) == 0
}

// localPause is how long p must wait for a 429 pause this worker knows of,
// even when KV has not heard of it (or cannot be reached).
func (b *Budget) localPause(now time.Time, p priority.Priority) time.Duration {
	b.mu.Lock()
	until := b.pause
	b.mu.Unlock()
	wait := time.Duration(until - now.UnixNano())
	if wait <= 0 {
		return 0
	}
	if p == priority.Normal {
		wait += b.Interval()
	}
	return wait
}

// noteState keeps what a read of the shared state says: the pause, the
// budget in force.
func (b *Budget) noteState(s state, now time.Time) {
	b.mu.Lock()
	cleared := s.Resumes > b.pauseGen && b.pause > now.UnixNano()
	if cleared {
		b.pause = 0
	}
	if s.Resumes > b.gen {
		b.gen = s.Resumes
		if b.pending.gen < s.Resumes {
			b.pending.pausedUntil = 0 // heard before the resume
		}
	}
	newPause := s.PausedUntil > b.pause && s.PausedUntil > now.UnixNano()
	if newPause {
		b.pause, b.pauseGen = s.PausedUntil, b.gen
	}
	b.last = s
	b.mu.Unlock()
	if cleared && !newPause {
		b.cache.forget()
		b.m.resumed()
		b.log.Info("an operator cleared the fleet's 429 pause: taking requests again", zap.Uint64("resumes", s.Resumes))
	}
	if newPause {
		b.m.paused(time.Unix(0, s.PausedUntil))
	}
	b.m.setInForce(s.limitAt(now.UnixNano(), b.cfg.Limit))
}

func (b *Budget) enterFallback(err error) {
	b.mu.Lock()
	lastTAT := b.last.TAT
	b.mu.Unlock()
	if b.fb.enter(b.cfg.Now(), lastTAT) {
		b.log.Warn("the budget's KV store is unreachable; falling back to a local share of the budget",
			zap.Int("local_limit", b.fb.share), zap.Duration("window", b.cfg.Window), zap.Error(err))
		b.m.setFallback(true)
	}
}

// stepFallback grants one request from the local limiter.
func (b *Budget) stepFallback(now time.Time, p priority.Priority) time.Duration {
	if wait := b.fb.take(now); wait > 0 {
		return min(wait, b.fb.until().Sub(now)+time.Millisecond)
	}
	b.grant(p, 1, "fallback")
	if !b.fb.active(b.cfg.Now()) {
		b.m.setFallback(false)
	}
	return 0
}
