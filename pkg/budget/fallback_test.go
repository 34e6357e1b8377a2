package budget_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// TestKVUnavailableFallsBackToALocalShare stops the NATS server under two
// busy workers: each goes on at Limit/MaxFleet per window, no faster.
func TestKVUnavailableFallsBackToALocalShare(t *testing.T) {
	t.Parallel()
	f := newFleetBed(t)
	cfg := func(c *budget.Config) {
		withJitter(c)
		c.MaxFleet, c.OpTimeout, c.FallbackFor = 4, 50*time.Millisecond, 300*time.Millisecond
	}
	a, b := f.budget("a", cfg), f.budget("b", cfg)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var ga, gb grants
	hammer(ctx, &wg, a, priority.Normal, 3, &ga)
	hammer(ctx, &wg, b, priority.Urgent, 3, &gb)
	gb.waitPaced(t) // b's urgent requests take the budget on KV (and hold a's normal ones)
	f.srv.Shutdown()
	down := time.Now()
	time.Sleep(time.Second) // not a wait: the run on the fallback that the checks below measure
	cancel()
	wg.Wait()
	for name, g := range map[string]*grants{"a": &ga, "b": &gb} {
		var after []time.Time
		for _, ts := range g.times() {
			if ts.After(down.Add(100 * time.Millisecond)) {
				after = append(after, ts)
			}
		}
		// 20 per 200 ms over a fleet of at most 4 is 5 per 200 ms each; 0.9 s of it is about 22.
		if n := maxInWindow(after, 200*time.Millisecond); n > 5 {
			t.Errorf("worker %s: %d grants in a 200 ms window on the fallback, want at most 5", name, n)
		}
		if len(after) < 12 {
			t.Errorf("worker %s: %d grants in 0.9 s on the fallback, want about 20", name, len(after))
		}
	}
}

// TestFallbackGrantsAreChargedWhenKVReturns flips an in-memory store down
// and up under four workers: the fleet never exceeds the budget, also in
// the windows that straddle the switches.
func TestFallbackGrantsAreChargedWhenKVReturns(t *testing.T) {
	t.Parallel()
	store := budget.NewMemStore()
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var g grants
	for i := range 4 {
		b, err := budget.New(budget.Config{Store: store, Key: "c", WorkerID: string(rune('a' + i)), Limit: 20,
			Window: 200 * time.Millisecond, MaxClockSkew: 5 * time.Millisecond, MaxSendJitter: testJitter,
			MaxFleet: 4, FallbackFor: 100 * time.Millisecond, Logger: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		hammer(ctx, &wg, b, priority.Normal, 2, &g)
	}
	for _, at := range []time.Duration{300, 700, 1000, 1200} {
		down := at == 300 || at == 1000
		time.AfterFunc(at*time.Millisecond, func() { store.SetDown(down) })
	}
	<-ctx.Done()
	wg.Wait()
	if n := maxInWindow(g.times(), 200*time.Millisecond); n > 20 {
		t.Errorf("%d grants in one 200 ms window across KV outages, budget 20", n)
	}
}

// TestCrashedUrgentAnnouncementIsFreed closes a worker while its urgent
// request waits (its announcement stays in KV): the other worker's normal
// requests resume within the announcement's lifetime, far below 10 s.
func TestCrashedUrgentAnnouncementIsFreed(t *testing.T) {
	t.Parallel()
	f := newFleetBed(t)
	a, u := f.budget("a", withJitter), f.budget("u", withJitter)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var g grants
	hammer(ctx, &wg, a, priority.Normal, 4, &g)
	g.waitPaced(t) // worker a saturates the budget: an urgent request cannot be served at once
	kv, _ := f.kv()
	w, err := kv.Watch(ctx, budget.KeyFor("sim-client"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	granted := make(chan struct{})
	wg.Go(func() { _ = u.Wait(ctx, priority.Urgent); close(granted) })
	// Wait until u's announcement is stored (or, should a slot have been free, its request granted).
	timeout := time.After(waitTimeout)
	for announced := false; !announced; {
		select {
		case e := <-w.Updates():
			var st struct {
				Urgent map[string]int64 `json:"urgent"`
			}
			announced = e != nil && json.Unmarshal(e.Value(), &st) == nil && st.Urgent["u"] != 0
		case <-granted:
			announced = true
		case <-timeout:
			t.Fatal("worker u never announced its urgent request")
		}
	}
	u.Close()
	closed := time.Now()
	time.Sleep(time.Second) // not a wait: the run after u left that the checks below measure
	cancel()
	wg.Wait()
	last := closed
	var gap time.Duration
	for _, ts := range g.times() {
		if ts.After(closed) {
			gap, last = max(gap, ts.Sub(last)), ts
		}
	}
	if gap > 500*time.Millisecond || last.Sub(closed) < 900*time.Millisecond {
		t.Errorf("worker a stalled for %v after worker u left (last grant %v after)", gap, last.Sub(closed))
	}
}
