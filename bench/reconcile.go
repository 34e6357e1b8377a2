package bench

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/reconcile"
	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget/genesysbudget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// ReconcileConfig sizes the reconcile benchmark.
type ReconcileConfig struct {
	Rows        int           // people on the HR list
	Limit       int           // the fleet budget per Window
	Window      time.Duration // the budget's window
	Share       float64       // reconcile's share of the budget
	Measure     time.Duration // how long reconcile's call rate is measured
	LeaverEvery time.Duration // spacing of the leavers that arrive meanwhile
}

// ReconcileResult is the reconcile benchmark's result.
type ReconcileResult struct {
	Rows            int     `json:"rows"`
	MeasuredSeconds float64 `json:"measured_s"`
	// Calls and Reconciled are reconcile's Genesys calls and people reconciled in the window.
	Calls      int `json:"reconcile_calls"`
	Reconciled int `json:"reconciled"`
	// CallsPerMinute is reconcile's measured rate; ShareTaken is that over the budget's rate.
	CallsPerMinute float64 `json:"reconcile_calls_per_minute"`
	ShareTaken     float64 `json:"share_taken"`
	ShareSetting   float64 `json:"share_setting"`
	// FullRunHours is the time for all Rows at the measured rate.
	FullRunHours float64 `json:"full_run_hours_at_measured_rate"`
	// LeaversToRevoked is publish → the token revocation's answer of each leaver that arrived
	// while reconcile ran.
	LeaversToRevoked Percentiles `json:"leavers_publish_to_tokens_revoked"`
	FleetShare       float64     `json:"fleet_share_of_budget"`
	Throttled        int         `json:"throttled_429"`
}

// Reconcile measures `worker reconcile` over an HR list of Rows people (half active, half
// inactive, named by id) at Share of a budget of Limit per Window, shared with two workers
// (concurrency 4) that offboard a leaver every LeaverEvery meanwhile, against a simulator
// answering in 50–150 ms. A full run at 10 % of 300/min takes hours, so the benchmark measures
// reconcile's call rate over Measure and computes the full run from it.
func Reconcile(ctx context.Context, cfg ReconcileConfig, log *zap.Logger) (ReconcileResult, error) {
	res := ReconcileResult{Rows: cfg.Rows, ShareSetting: cfg.Share}
	leavers := int(cfg.Measure/cfg.LeaverEvery) + 10
	b, err := newBed(ctx, genesyssim.Config{Users: leavers*2 + 40, RateLimit: cfg.Limit, RateWindow: cfg.Window, Seed: 7,
		Faults: genesyssim.Faults{LatencyMin: 50 * time.Millisecond, LatencyMax: 150 * time.Millisecond}})
	if err != nil {
		return res, err
	}
	defer b.Close()
	var hr strings.Builder
	hr.WriteString("id,terminated_at\n")
	for i := range cfg.Rows {
		u, err := b.Sim.AddUser(genesyssim.User{UserName: fmt.Sprintf("hr-%d@example.com", i), Active: i%2 == 0})
		if err != nil {
			return res, err
		}
		fmt.Fprintf(&hr, "%s,2026-11-30\n", u.ID)
	}
	list, err := enqueue.ReadHR("-", enqueue.FormatCSV, strings.NewReader(hr.String()))
	if err != nil {
		return res, err
	}
	bc := budget.Config{Limit: cfg.Limit, Window: cfg.Window}
	for i := range 2 {
		stop, err := b.startWorker(ctx, workerConfig{id: fmt.Sprintf("w%d", i), concurrency: 4, log: log, budget: bc})
		if err != nil {
			return res, err
		}
		defer stop()
	}
	limiter, reconciled, stop, err := b.startReconcile(ctx, cfg, list, log)
	if err != nil {
		return res, err
	}
	defer stop()

	time.Sleep(cfg.Window / 6) // let reconcile reach its pace: part of the workload, not a wait for something
	start, c0, r0 := time.Now(), limiter.Calls(), reconciled()
	toRevoked, err := b.leaversDuring(ctx, b.ActiveUsers(leavers), start, cfg.Measure, cfg.LeaverEvery, func(u genesyssim.User) bool { return strings.HasPrefix(u.UserName, "hr-") })
	if err != nil {
		return res, err
	}
	end := time.Now()
	el := end.Sub(start)
	res.MeasuredSeconds = el.Seconds()
	res.Calls, res.Reconciled = int(limiter.Calls()-c0), reconciled()-r0
	res.CallsPerMinute = float64(res.Calls) / el.Minutes()
	budgetPerMinute := float64(cfg.Limit) * float64(time.Minute) / float64(cfg.Window)
	res.ShareTaken = res.CallsPerMinute / budgetPerMinute
	if res.Reconciled > 0 {
		res.FullRunHours = float64(cfg.Rows) / (float64(res.Reconciled) / el.Hours())
	}
	res.LeaversToRevoked = percentiles(toRevoked)
	accepted := 0
	for _, r := range b.Sim.Requests() {
		if r.Status == 429 {
			res.Throttled++
		}
		if r.Status != 429 && strings.HasPrefix(r.Path, "/api/") && !r.Time.Before(start) && r.Time.Before(end) {
			accepted++
		}
	}
	res.FleetShare = float64(accepted) / (budgetPerMinute * el.Minutes())
	return res, nil
}

// startReconcile runs a reconciliation as `worker reconcile` does: its own connection, a handle on
// the fleet budget (the workers' KV key), the share limiter in front of it, normal priority.
func (b *bed) startReconcile(ctx context.Context, cfg ReconcileConfig, list enqueue.HRList, log *zap.Logger) (*reconcile.ShareLimiter, func() int, func(), error) {
	nc, err := nats.Connect(b.natsURL)
	if err != nil {
		return nil, nil, nil, err
	}
	js, _ := jetstream.New(nc)
	bkv, err := js.KeyValue(ctx, jobs.Names{}.BudgetBucket())
	if err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	bud, err := budget.New(budget.Config{KV: bkv, Key: "sim-client", WorkerID: "reconcile", Limit: cfg.Limit, Window: cfg.Window, Logger: log})
	if err != nil {
		nc.Close()
		return nil, nil, nil, err
	}
	perMinute := int(float64(cfg.Limit) * float64(time.Minute) / float64(cfg.Window))
	limiter := reconcile.NewShareLimiter(perMinute, cfg.Share, genesysbudget.New(bud))
	c, err := testbed.NewClient(b.simURL, genesys.WithLimiter(limiter))
	if err != nil {
		bud.Close()
		nc.Close()
		return nil, nil, nil, err
	}
	r, err := reconcile.New(ctx, reconcile.Config{JetStream: js, Genesys: c.WithPriority(priority.Normal)})
	if err != nil {
		bud.Close()
		nc.Close()
		return nil, nil, nil, err
	}
	var n atomic.Int64
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = r.Run(rctx, list, func(reconcile.Result) error { n.Add(1); return nil })
	}()
	return limiter, func() int { return int(n.Load()) }, func() { cancel(); <-done; bud.Close(); nc.Close() }, nil
}
