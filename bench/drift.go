package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget/genesysbudget"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift/watchlist"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// DriftConfig sizes the drift benchmark.
type DriftConfig struct {
	Watched     int           // users on the watch list
	Limit       int           // the fleet budget per Window
	Window      time.Duration // the budget's window
	Share       float64       // the watch's share of the budget
	Measure     time.Duration // how long the watch's call rate is measured
	LeaverEvery time.Duration // spacing of the leavers that arrive meanwhile
}

// DriftResult is the drift benchmark's result.
type DriftResult struct {
	Watched int `json:"watched"`
	// MeasuredSeconds is the window over which the watch's calls were counted.
	MeasuredSeconds float64 `json:"measured_s"`
	// Calls and Checks are the watch's Genesys calls and user checks in that window.
	Calls  int `json:"watch_calls"`
	Checks int `json:"watch_checks"`
	// CallsPerMinute is the watch's measured rate; ShareTaken is that over the budget's rate.
	CallsPerMinute float64 `json:"watch_calls_per_minute"`
	ShareTaken     float64 `json:"share_taken"`
	ShareSetting   float64 `json:"share_setting"`
	// CycleHours is the time for a full cycle of Watched users at the measured check rate.
	CycleHours float64 `json:"full_cycle_hours_at_measured_rate"`
	// LeaversToRevoked is publish → the token revocation's answer of each leaver that arrived
	// while the watch ran (normal priority, the watch's own priority).
	LeaversToRevoked Percentiles `json:"leavers_publish_to_tokens_revoked"`
	// FleetShare is what the whole fleet (workers and watch) took of the budget in the window.
	FleetShare float64 `json:"fleet_share_of_budget"`
	Throttled  int     `json:"throttled_429"`
	// FullCycles are the full cycles the watch completed during the run (when the list is short
	// enough or the budget scaled up), in seconds.
	FullCycles []float64 `json:"full_cycles_s,omitempty"`
}

// Drift measures the drift watch over a list of Watched users at Share of a budget of Limit per
// Window, shared with two workers (concurrency 4) that offboard a leaver every LeaverEvery meanwhile,
// against a simulator answering in 50–150 ms. The watch list is written straight into the watch
// bucket (Watched inactive users added to the simulator), not produced by Watched deactivation jobs:
// at 300/min those alone would take hours. A full cycle at 5 % of 300/min takes hours too, so the
// benchmark measures the watch's real call and check rate over Measure and computes the cycle from it.
func Drift(ctx context.Context, cfg DriftConfig, log *zap.Logger) (DriftResult, error) {
	res := DriftResult{Watched: cfg.Watched, ShareSetting: cfg.Share}
	leavers := int(cfg.Measure/cfg.LeaverEvery) + 10
	b, err := newBed(ctx, genesyssim.Config{Users: leavers*2 + 40, RateLimit: cfg.Limit, RateWindow: cfg.Window, Seed: 7,
		Faults: genesyssim.Faults{LatencyMin: 50 * time.Millisecond, LatencyMax: 150 * time.Millisecond}})
	if err != nil {
		return res, err
	}
	defer b.Close()
	kv, err := b.JS.KeyValue(ctx, b.Names.WatchBucket())
	if err != nil {
		return res, err
	}
	since := time.Now().Add(-24 * time.Hour)
	for i := range cfg.Watched {
		u, err := b.Sim.AddUser(genesyssim.User{UserName: fmt.Sprintf("watched-%d@example.com", i), DisplayName: fmt.Sprintf("Watched %d", i)})
		if err != nil {
			return res, err
		}
		data, _ := json.Marshal(watchlist.Entry{UserID: u.ID, UserName: u.UserName, JobID: fmt.Sprintf("old-%d", i),
			DeactivatedAt: since, TokensRevokedAt: since, Seq: 1})
		if _, err := kv.Put(ctx, watchlist.EntryKey(u.ID), data); err != nil {
			return res, err
		}
	}
	bc := budget.Config{Limit: cfg.Limit, Window: cfg.Window}
	for i := range 2 {
		stop, err := b.startWorker(ctx, workerConfig{id: fmt.Sprintf("w%d", i), concurrency: 4, log: log, budget: bc})
		if err != nil {
			return res, err
		}
		defer stop()
	}
	var calls, checks atomic.Int64
	cycles := &cycleLog{}
	stop, err := b.startDrift(ctx, cfg, &calls, &checks, cycles, log)
	if err != nil {
		return res, err
	}
	defer stop()

	// Let the watch reach its pace (its first cycle reads the list) before the window opens.
	time.Sleep(cfg.Window / 6) // part of the workload, not a wait for something
	start, c0, k0 := time.Now(), calls.Load(), checks.Load()
	toRevoked, err := b.leaversDuring(ctx, b.ActiveUsers(leavers), start, cfg.Measure, cfg.LeaverEvery, nil)
	if err != nil {
		return res, err
	}
	end := time.Now()
	el := end.Sub(start)
	res.MeasuredSeconds = el.Seconds()
	res.Calls, res.Checks = int(calls.Load()-c0), int(checks.Load()-k0)
	res.CallsPerMinute = float64(res.Calls) / el.Minutes()
	budgetPerMinute := float64(cfg.Limit) * float64(time.Minute) / float64(cfg.Window)
	res.ShareTaken = res.CallsPerMinute / budgetPerMinute
	if res.Checks > 0 {
		res.CycleHours = float64(cfg.Watched) / (float64(res.Checks) / el.Hours())
	}
	res.LeaversToRevoked = percentiles(toRevoked)
	accepted := 0
	for _, r := range b.Sim.Requests() {
		if r.Status == 429 {
			res.Throttled++
		}
		if r.Status != 429 && len(r.Path) > 5 && r.Path[:5] == "/api/" && !r.Time.Before(start) && r.Time.Before(end) {
			accepted++
		}
	}
	res.FleetShare = float64(accepted) / (budgetPerMinute * el.Minutes())
	res.FullCycles = cycles.get()
	return res, nil
}

// countingRT counts the watch's requests to the API.
type countingRT struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// cycleLog keeps the durations of the watch's full cycles.
type cycleLog struct {
	mu sync.Mutex
	s  []float64
}

func (l *cycleLog) add(d time.Duration) { l.mu.Lock(); l.s = append(l.s, d.Seconds()); l.mu.Unlock() }
func (l *cycleLog) get() []float64      { l.mu.Lock(); defer l.mu.Unlock(); return slices.Clone(l.s) }

// checkCounter counts the watch's checks and logs its cycles.
type checkCounter struct {
	n      *atomic.Int64
	cycles *cycleLog
}

func (c checkCounter) Active(bool)                          {}
func (c checkCounter) Watched(int)                          {}
func (c checkCounter) Checked(string, time.Time, time.Time) { c.n.Add(1) }
func (c checkCounter) Found(string)                         {}
func (c checkCounter) CycleDone(d time.Duration)            { c.cycles.add(d) }

// startDrift runs a drift watch as a worker process runs it: its own connection and a handle on the
// fleet budget (the same KV key as the workers'), the watch's calls at normal priority.
func (b *bed) startDrift(ctx context.Context, cfg DriftConfig, calls, checks *atomic.Int64, cycles *cycleLog, log *zap.Logger) (func(), error) {
	nc, err := nats.Connect(b.natsURL)
	if err != nil {
		return nil, err
	}
	js, _ := jetstream.New(nc)
	bkv, err := js.KeyValue(ctx, jobs.Names{}.BudgetBucket())
	if err != nil {
		nc.Close()
		return nil, err
	}
	bud, err := budget.New(budget.Config{KV: bkv, Key: "sim-client", WorkerID: "drift", Limit: cfg.Limit, Window: cfg.Window, Logger: log})
	if err != nil {
		nc.Close()
		return nil, err
	}
	c, err := testbed.NewClient(b.simURL, genesys.WithLimiter(genesysbudget.New(bud)),
		genesys.WithHTTPClient(&http.Client{Transport: countingRT{next: genesys.NewTransport(2), n: calls}}))
	if err != nil {
		bud.Close()
		nc.Close()
		return nil, err
	}
	perMinute := int(float64(cfg.Limit) * float64(time.Minute) / float64(cfg.Window))
	w, err := drift.New(ctx, drift.Config{JetStream: js, Genesys: c, ClientID: "sim-client", RatePerMinute: perMinute, Share: cfg.Share,
		Instance: "bench-drift", Logger: log, Observer: checkCounter{checks, cycles}})
	if err != nil {
		bud.Close()
		nc.Close()
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(wctx) }()
	return func() { cancel(); <-done; bud.Close(); nc.Close() }, nil
}
