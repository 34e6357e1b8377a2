package bench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// LatencyConfig sizes the latency benchmark.
type LatencyConfig struct {
	Limit         int
	Window        time.Duration
	IdleSamples   int           // single jobs on an idle fleet
	Backlog       int           // normal jobs queued before the urgent samples; 0 skips part (b)
	UrgentSamples int           // urgent jobs published behind the backlog
	UrgentEvery   time.Duration // spacing of the urgent jobs
}

// Percentiles of one series, in seconds.
type Percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_s"`
	P99 float64 `json:"p99_s"`
	Max float64 `json:"max_s"`
}

// LatencyResult is the whole benchmark.
type LatencyResult struct {
	IdleToPatch   Percentiles `json:"idle_publish_to_patch"`
	IdleToAudit   Percentiles `json:"idle_publish_to_audit"`
	UrgentToPatch Percentiles `json:"urgent_behind_backlog_publish_to_patch"`
	UrgentToAudit Percentiles `json:"urgent_behind_backlog_publish_to_audit"`
}

// Latency measures publish→PATCH 200 and publish→audit event with two
// workers at the given budget and a simulator answering in 50–150 ms.
func Latency(ctx context.Context, cfg LatencyConfig, log *zap.Logger) (LatencyResult, error) {
	var res LatencyResult
	users := cfg.IdleSamples + cfg.Backlog + cfg.UrgentSamples
	b, err := newBed(ctx, genesyssim.Config{Users: users*12/10 + 10, RateLimit: cfg.Limit, RateWindow: cfg.Window, Seed: 5,
		Faults: genesyssim.Faults{LatencyMin: 50 * time.Millisecond, LatencyMax: 150 * time.Millisecond}})
	if err != nil {
		return res, err
	}
	defer b.Close()
	for i := range 2 {
		stop, err := b.startWorker(ctx, workerConfig{id: fmt.Sprintf("w%d", i), concurrency: 4, log: log,
			budget: budget.Config{Limit: cfg.Limit, Window: cfg.Window}})
		if err != nil {
			return res, err
		}
		defer stop()
	}
	targets := b.ActiveUsers(users)
	idle, rest := targets[:cfg.IdleSamples], targets[cfg.IdleSamples:]
	var toPatch, toAudit []time.Duration
	for i, u := range idle {
		p, a, err := b.timeJob(ctx, u, fmt.Sprintf("idle-%d", i), jobs.PriorityNormal)
		if err != nil {
			return res, err
		}
		toPatch, toAudit = append(toPatch, p), append(toAudit, a)
		// Not a wait for something: the idle gap is part of the workload this benchmark measures.
		time.Sleep(cfg.Window * 3 / time.Duration(cfg.Limit) * 2) // let the budget go idle again
	}
	res.IdleToPatch, res.IdleToAudit = percentiles(toPatch), percentiles(toAudit)
	if cfg.Backlog == 0 {
		return res, nil
	}
	if _, err := b.enqueue(ctx, rest[:cfg.Backlog], "backlog", jobs.PriorityNormal); err != nil {
		return res, err
	}
	toPatch, toAudit = nil, nil
	for i, u := range rest[cfg.Backlog : cfg.Backlog+cfg.UrgentSamples] {
		time.Sleep(cfg.UrgentEvery) // the urgent jobs' cadence: part of the workload, not a wait
		p, a, err := b.timeJob(ctx, u, fmt.Sprintf("urgent-%d", i), jobs.PriorityUrgent)
		if err != nil {
			return res, err
		}
		toPatch, toAudit = append(toPatch, p), append(toAudit, a)
	}
	res.UrgentToPatch, res.UrgentToAudit = percentiles(toPatch), percentiles(toAudit)
	return res, nil
}

// timeJob publishes one job and returns the time to its PATCH 200 (from
// the simulator's log) and to its stored audit event.
func (b *bed) timeJob(ctx context.Context, u genesyssim.User, id string, p jobs.Priority) (time.Duration, time.Duration, error) {
	start := time.Now()
	j := jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "bench", Priority: p}
	if _, err := b.Pub.Enqueue(ctx, j); err != nil {
		return 0, 0, err
	}
	subject := b.Names.UserAuditSubject(audit.OutcomeDeactivated, u.ID)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	events, err := b.Messages(ctx, b.Names.AuditStream(), subject)
	if err != nil {
		return 0, 0, err
	}
	var stored time.Time
	if err := testbed.Await(ctx, events, func(m jetstream.Msg) bool {
		md, err := m.Metadata()
		if err == nil {
			stored = md.Timestamp
		}
		return err == nil
	}); err != nil {
		return 0, 0, fmt.Errorf("job %s: %w", id, err)
	}
	var patched time.Time
	for _, r := range b.Sim.Requests() {
		if r.UserID == u.ID && r.Method == "PATCH" && r.Status == 200 {
			patched = r.Time.Add(r.Duration)
		}
	}
	return patched.Sub(start), stored.Sub(start), nil
}

func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 { return s[min(len(s)-1, int(q*float64(len(s))))].Seconds() }
	return Percentiles{N: len(s), P50: at(0.5), P99: at(0.99), Max: s[len(s)-1].Seconds()}
}
