package budget_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// testJitter is the send-jitter allowance of the NATS tests: a grant is
// timed when its goroutine runs, which -race on two shared cores can delay.
const testJitter = 20 * time.Millisecond

func withJitter(c *budget.Config) { c.MaxSendJitter = testJitter }

func TestFleetStaysWithinBudgetWhileWorkersComeAndGo(t *testing.T) {
	t.Parallel()
	f := newFleetBed(t)
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	var g grants
	var wg sync.WaitGroup
	skewed := func(d time.Duration) func(*budget.Config) {
		return func(c *budget.Config) { withJitter(c); c.Now = func() time.Time { return time.Now().Add(d) } }
	}
	first := f.budget("w1", skewed(0))
	hammer(ctx, &wg, first, priority.Normal, 3, &g)
	for i, off := range []time.Duration{4 * time.Millisecond, -time.Millisecond, 2 * time.Millisecond} {
		hammer(ctx, &wg, f.budget(string(rune('2'+i)), skewed(off)), priority.Normal, 3, &g)
	}
	time.AfterFunc(500*time.Millisecond, func() { first.Close() }) // a worker leaves mid-run
	time.AfterFunc(700*time.Millisecond, func() {
		hammer(ctx, &wg, f.budget("w5", skewed(3*time.Millisecond)), priority.Urgent, 2, &g)
	})
	<-ctx.Done()
	wg.Wait()
	ts := g.times()
	if n := maxInWindow(ts, 200*time.Millisecond); n > 20 {
		t.Errorf("%d grants in one 200 ms window, budget 20", n)
	}
	// 20 per 200 ms for 1.5 s is 150. How close the fleet gets is utilisation, a speed target that
	// the fleet benchmark measures (96 %, README); on two shared cores under -race a wall-clock
	// floor here failed twice in about 40 runs at 117 of 120. What this test checks besides the
	// ceiling is that a worker leaving mid-run does not stall the others: at least half.
	if len(ts) < 75 {
		t.Errorf("%d grants in 1.5 s, want at least half of the 150 the budget allows", len(ts))
	}
}

func TestUrgentOnOneWorkerIsNotDelayedByNormalsOnAnother(t *testing.T) {
	t.Parallel()
	f := newFleetBed(t)
	slow := func(c *budget.Config) { withJitter(c); c.Limit, c.Window = 10, time.Second }
	a, b := f.budget("a", slow), f.budget("b", slow)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var g grants
	hammer(ctx, &wg, a, priority.Normal, 8, &g)
	defer func() { cancel(); wg.Wait() }()
	limit := 2 * b.Interval()
	g.waitPaced(t) // worker a saturates the budget
	for i := range 6 {
		start := time.Now()
		if err := b.Wait(t.Context(), priority.Urgent); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > limit+15*time.Millisecond {
			t.Errorf("urgent request %d waited %v behind worker a's normal ones, want at most two intervals (%v)", i, took, limit)
		}
		time.Sleep(time.Duration(50+37*i) * time.Millisecond) // not a wait: urgent requests arrive at varied phases of a's grants
	}
}

func TestA429PausesEveryWorkerForRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFleetBed(t)
	a, b := f.budget("a", withJitter), f.budget("b", withJitter)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var ga, gb grants
	hammer(ctx, &wg, a, priority.Normal, 2, &ga)
	wg.Go(func() { // an urgent request now and then
		for a.Wait(ctx, priority.Urgent) == nil {
			ga.add(time.Now())
			time.Sleep(50 * time.Millisecond) // not a wait: the pace of this urgent load
		}
	})
	hammer(ctx, &wg, b, priority.Normal, 2, &gb)
	ga.waitPaced(t)
	gb.waitPaced(t)
	at := time.Now()
	b.Observe(budget.Response{StatusCode: 429, RetryAfter: time.Second})
	// The whole pause is observed once each worker has a grant after it.
	for name, g := range map[string]*grants{"a": &ga, "b": &gb} {
		g.waitUntil(t, "worker "+name+" to be granted after Retry-After", func(ts []time.Time) bool {
			return slices.ContainsFunc(ts, func(ts time.Time) bool { return !ts.Before(at.Add(time.Second)) })
		})
	}
	cancel()
	wg.Wait()
	// Grants decided before the 429 was heard may still be handed out for a
	// moment (they were already on their way); none after that until Retry-After.
	for name, g := range map[string]*grants{"a": &ga, "b": &gb} {
		var during, after int
		for _, ts := range g.times() {
			switch {
			case ts.After(at.Add(testJitter)) && ts.Before(at.Add(time.Second)):
				during++
			case !ts.Before(at.Add(time.Second)):
				after++
			}
		}
		if during > 0 || after == 0 {
			t.Errorf("worker %s: %d grants during the pause, %d after it; want none during and some after", name, during, after)
		}
	}
}

func TestLoweredBudgetHoldsUntilTheWindowResets(t *testing.T) {
	t.Parallel()
	f := newFleetBed(t)
	b := f.budget("a", withJitter)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var g grants
	hammer(ctx, &wg, b, priority.Normal, 4, &g)
	g.waitPaced(t)
	lowered := time.Now()
	b.Observe(budget.Response{StatusCode: 200, Allowed: 5, Count: 1, Reset: 200 * time.Millisecond})
	b.Observe(budget.Response{StatusCode: 200, Allowed: 50, Count: 1}) // never above the configuration
	// Not a wait: the run, lowered then reset, that the checks below measure.
	time.Sleep(900 * time.Millisecond)
	cancel()
	wg.Wait()
	var low, back []time.Time
	for _, ts := range g.times() {
		switch {
		case ts.After(lowered.Add(50*time.Millisecond)) && ts.Before(lowered.Add(200*time.Millisecond)):
			low = append(low, ts)
		case ts.After(lowered.Add(300 * time.Millisecond)):
			back = append(back, ts)
		}
	}
	if n := maxInWindow(low, 200*time.Millisecond); n > 5 {
		t.Errorf("%d grants in a 200 ms window while Genesys allowed 5", n)
	}
	if n := maxInWindow(back, 200*time.Millisecond); n < 10 || n > 20 {
		t.Errorf("after the window reset: %d grants in the busiest 200 ms window, want the configured budget back (10–20)", n)
	}
}
