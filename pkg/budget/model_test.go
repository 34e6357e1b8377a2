package budget

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// modelWorker is one acquirer of the model: it reads the shared state, runs
// decide by its own clock, and later tries to store the decision.
type modelWorker struct {
	id      string
	offset  int64 // its clock minus real time
	pending *modelRead
}

type modelRead struct {
	rev      uint64
	d        decision
	readReal int64
	readPU   int64 // PausedUntil in the state it read
}

type modelPause struct {
	pu, obsReal, retryAfter int64
}

// TestPropertyNoWindowOverBudget runs the algorithm against an in-memory
// compare-and-set store under every interleaving rapid finds: several
// workers with clocks up to MaxClockSkew apart reading, deciding and
// writing in any order, crashing between read and write or after a write,
// stalling, hearing 429s and lowered budgets, and asking urgently or not.
// Whatever happens, no window of length Window sees more than Limit
// requests arrive, and no request decided after a pause was stored arrives
// before its Retry-After has passed.
func TestPropertyNoWindowOverBudget(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		limit := rapid.IntRange(4, 40).Draw(rt, "limit")
		p := params{
			limit:  limit,
			window: time.Duration(rapid.IntRange(100, 2000).Draw(rt, "window_ms")) * time.Millisecond,
			burst:  rapid.IntRange(2, limit/2).Draw(rt, "burst"),
		}
		skew := time.Duration(rapid.IntRange(0, 300).Draw(rt, "skew_ms")) * time.Millisecond
		jitter := time.Duration(rapid.IntRange(0, 50).Draw(rt, "jitter_ms")) * time.Millisecond
		p.slack = skew + jitter
		p.announce = min(max(4*p.interval(limit), 200*time.Millisecond), 5*time.Second)
		T := int64(p.interval(limit))

		real := int64(1_700_000_000) * int64(time.Second)
		var cur state
		var rev uint64
		workers := make([]*modelWorker, rapid.IntRange(1, 6).Draw(rt, "workers"))
		newWorker := func(i int) *modelWorker {
			return &modelWorker{id: string(rune('a' + i)), offset: int64(rapid.Int64Range(0, int64(skew)).Draw(rt, "offset"))}
		}
		for i := range workers {
			workers[i] = newWorker(i)
		}
		var arrivals []int64
		var pauses []modelPause
		steps := rapid.IntRange(50, 600).Draw(rt, "steps")
		for range steps {
			w := workers[rapid.IntRange(0, len(workers)-1).Draw(rt, "who")]
			switch action := rapid.IntRange(0, 19).Draw(rt, "action"); {
			case action < 4: // a little time passes
				real += rapid.Int64Range(0, T/4).Draw(rt, "dt")
			case action == 4: // a lot of time passes
				real += rapid.Int64Range(0, 3*int64(p.window)).Draw(rt, "dt_long")
			case action < 17 && w.pending == nil: // read and decide
				req := request{id: w.id, urgent: rapid.Bool().Draw(rt, "urgent"), n: rapid.IntRange(1, 4).Draw(rt, "n")}
				w.pending = &modelRead{rev: rev, d: decide(cur, real+w.offset, req, p), readReal: real, readPU: cur.PausedUntil}
			case action < 17: // write what was decided
				r := w.pending
				w.pending = nil
				if r.d.next == nil || r.rev != rev {
					break // nothing to write, or lost the compare-and-set
				}
				cur, rev = *r.d.next, rev+1
				if real-r.readReal > int64(jitter/2) {
					break // a stale grant is dropped (step does the same)
				}
				for range r.d.grant {
					send := rapid.Int64Range(0, int64(jitter/2)).Draw(rt, "send")
					arrivals = append(arrivals, real+send)
					for _, ps := range pauses {
						if r.readPU >= ps.pu && r.readReal < ps.obsReal+ps.retryAfter {
							rt.Fatalf("grant decided at %d from a state paused until %d, before the 429's Retry-After ended at %d",
								r.readReal, r.readPU, ps.obsReal+ps.retryAfter)
						}
					}
				}
			case action < 19: // a worker crashes and a new one takes its place
				i := slices.Index(workers, w)
				workers[i] = newWorker(len(workers) + i + rapid.IntRange(0, 20).Draw(rt, "gen"))
			default: // a response is observed
				ra := int64(rapid.IntRange(1, 3).Draw(rt, "retry_after_s")) * int64(time.Second)
				obs := pending{}
				if rapid.Bool().Draw(rt, "is429") {
					obs.pausedUntil = real + w.offset + ra + int64(skew)
					pauses = append(pauses, modelPause{pu: obs.pausedUntil, obsReal: real, retryAfter: ra})
				} else {
					obs.limit, obs.limitUntil = rapid.IntRange(1, limit).Draw(rt, "allowed"), real+w.offset+int64(p.window)
				}
				cur, rev = obs.apply(cur), rev+1
			}
		}
		slices.Sort(arrivals)
		for i := limit; i < len(arrivals); i++ {
			if span := arrivals[i] - arrivals[i-limit]; span < int64(p.window) {
				rt.Fatalf("%d requests arrived within %v (< window %v): arrivals %d..%d", limit+1, time.Duration(span), p.window, i-limit, i)
			}
		}
	})
}

// TestIntervalUtilisation checks the cost of the safety margins at the
// real budget: 300/min with 1 s skew and 50 ms jitter still spends 97 %.
func TestIntervalUtilisation(t *testing.T) {
	t.Parallel()
	p := params{limit: 300, window: time.Minute, slack: time.Second + 50*time.Millisecond, burst: 2}
	T := p.interval(300)
	if util := float64(time.Minute) / float64(T) / 300; util < 0.97 || util > 1 {
		t.Errorf("interval %v gives utilisation %.3f, want 0.97–1", T, util)
	}
}
