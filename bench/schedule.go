package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// ScheduleConfig sizes the schedule benchmark: many jobs scheduled for the same instant.
type ScheduleConfig struct {
	Limit  int
	Window time.Duration
	Steps  []string      // the workers' optional steps (worker --steps); nil: none
	Jobs   int           // jobs scheduled for the same instant
	Ahead  time.Duration // how far ahead of the first publish that instant is
}

// ScheduleResult is the schedule benchmark's result.
type ScheduleResult struct {
	Jobs  int      `json:"jobs"`
	Steps []string `json:"steps"`
	// ScheduledWithin is the time from the first publish to every job pending in the scheduled
	// stream (published to the intake, taken by a worker, stored as a schedule).
	ScheduledWithin float64 `json:"all_scheduled_within_s"`
	// ToLane is not_before → the fired copy's arrival in its lane (the lane message's stream
	// timestamp, as the workers' genesys_scheduled_fire_lag_seconds sees it).
	ToLane Percentiles `json:"not_before_to_lane"`
	// ToRevoked is not_before → the answer to the user's token revocation (simulator log).
	ToRevoked Percentiles `json:"not_before_to_tokens_revoked"`
	// CallsPerUser is the Genesys requests the simulator accepted per job, and BudgetBound the
	// earliest the budget lets the last of them go after not_before: a rolling window allows
	// Limit at once, then Limit per Window, so (Jobs × CallsPerUser − Limit) / Limit × Window.
	// The last revocation cannot come earlier than that. BudgetPace is the time of all the calls at
	// Limit per Window, without the first window's burst: Jobs × CallsPerUser / Limit × Window.
	CallsPerUser float64 `json:"calls_per_user"`
	BudgetBound  float64 `json:"budget_bound_s"`
	BudgetPace   float64 `json:"budget_pace_s"`
	// What shows each job ran exactly once: lane arrivals (first deliveries of fired copies, as
	// the workers' observer counted them), fired copies kept in the scheduled stream (and the
	// most on one job's subject), terminal audit events (and the most for one job id),
	// deactivating PATCHes (and the most for one user), and the schedules left pending.
	LaneArrivals      int  `json:"lane_arrivals"`
	FiredCopies       int  `json:"fired_copies"`
	MaxCopiesPerJob   int  `json:"max_fired_copies_per_job"`
	AuditEvents       int  `json:"audit_events"`
	MaxEventsPerJob   int  `json:"max_audit_events_per_job"`
	Patches           int  `json:"patches"`
	MaxPatchesPerUser int  `json:"max_patches_per_user"`
	PendingLeft       int  `json:"pending_left"`
	ExactlyOnce       bool `json:"every_job_fired_and_ran_exactly_once"`
	Throttled         int  `json:"throttled_429"`
}

// fireRecorder records the fire lags a worker reports (worker.ScheduleObserver).
type fireRecorder struct {
	mu   sync.Mutex
	lags []time.Duration
}

func (o *fireRecorder) JobFinished(audit.Outcome, jobs.Priority, time.Duration, time.Duration) {}
func (o *fireRecorder) Deactivated(jobs.Priority, time.Duration)                               {}
func (o *fireRecorder) AttemptFailed()                                                         {}
func (o *fireRecorder) Paused(bool)                                                            {}
func (o *fireRecorder) Revoked(jobs.Priority, time.Duration)                                   {}

func (o *fireRecorder) Fired(lag time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lags = append(o.lags, lag)
}

var _ worker.ScheduleObserver = (*fireRecorder)(nil)

// Schedule measures Jobs deactivations scheduled for the same instant, Ahead after the first
// publish, through the real path: the publisher routes each to the intake, two workers of
// concurrency 4 store them as message schedules, the server fires them all at that instant and
// the jobs stream sources them into the lane, where the same workers run them on the budget
// against a simulator answering in 50–150 ms. It reports not_before → lane arrival and
// not_before → tokens revoked, and checks that every job fired and ran exactly once.
func Schedule(ctx context.Context, cfg ScheduleConfig, log *zap.Logger) (ScheduleResult, error) {
	res := ScheduleResult{Jobs: cfg.Jobs, Steps: cfg.Steps}
	b, err := newBed(ctx, genesyssim.Config{Users: cfg.Jobs*12/10 + 10, RateLimit: cfg.Limit, RateWindow: cfg.Window, Seed: 5,
		Faults: genesyssim.Faults{LatencyMin: 50 * time.Millisecond, LatencyMax: 150 * time.Millisecond}})
	if err != nil {
		return res, err
	}
	defer b.Close()
	rec := &fireRecorder{}
	for i := range 2 {
		stop, err := b.startWorker(ctx, workerConfig{id: fmt.Sprintf("w%d", i), concurrency: 4, log: log, steps: cfg.Steps,
			budget: budget.Config{Limit: cfg.Limit, Window: cfg.Window}, observer: rec})
		if err != nil {
			return res, err
		}
		defer stop()
	}
	users := slices.DeleteFunc(b.ActiveUsers(-1), func(u genesyssim.User) bool { return slices.Contains(u.Roles(), "Master Admin") })
	if len(users) < cfg.Jobs {
		return res, fmt.Errorf("the seeded org has %d active users that are not protected, want %d", len(users), cfg.Jobs)
	}
	users = users[:cfg.Jobs]
	sched, err := jobs.NewScheduler(b.JS, b.Names, 0)
	if err != nil {
		return res, err
	}

	start := time.Now()
	at := start.Add(cfg.Ahead)
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = fmt.Sprintf("at-%d", i)
		r, err := b.Pub.Enqueue(ctx, jobs.Job{ID: ids[i], Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID},
			RequestedBy: "bench", Reason: "benchmark", NotBefore: at})
		if err != nil {
			return res, err
		}
		if !r.Scheduled {
			return res, fmt.Errorf("job %s went to its lane, not to the intake: %v was not ahead enough", ids[i], cfg.Ahead)
		}
	}
	// Every job must be a schedule before the instant, or the benchmark measures the intake.
	for {
		n, err := sched.CountPending(ctx)
		if err == nil && n == cfg.Jobs {
			break
		}
		if time.Now().After(at) {
			return res, fmt.Errorf("%d of %d jobs scheduled (%v) when they were due: raise -ahead", n, cfg.Jobs, err)
		}
		time.Sleep(50 * time.Millisecond) // polling the count: no event says "all scheduled"
	}
	res.ScheduledWithin = time.Since(start).Seconds()

	calls := 3 + len(cfg.Steps)*3 // generous: the wait below is a limit, not a measurement
	within := cfg.Ahead + time.Duration(2*cfg.Jobs*calls)*cfg.Window/time.Duration(cfg.Limit) + time.Minute
	if _, err := b.waitDone(ctx, ids, within); err != nil {
		return res, err
	}
	return res, b.checkSchedule(ctx, &res, cfg, rec, users, ids, at, sched)
}

// checkSchedule fills in the measurements and the exactly-once evidence once every job is done.
func (b *bed) checkSchedule(ctx context.Context, res *ScheduleResult, cfg ScheduleConfig, rec *fireRecorder,
	users []genesyssim.User, ids []string, at time.Time, sched *jobs.Scheduler) error {
	rec.mu.Lock()
	res.ToLane, res.LaneArrivals = percentiles(rec.lags), len(rec.lags)
	rec.mu.Unlock()

	byUser := map[string]time.Time{}
	patches := map[string]int{}
	accepted := 0
	for _, r := range b.Sim.Requests() {
		if r.Status == 429 {
			res.Throttled++
			continue
		}
		if !strings.HasPrefix(r.Path, "/api/") || r.Status/100 != 2 {
			continue
		}
		accepted++
		switch {
		case r.Method == "DELETE" && strings.HasPrefix(r.Path, "/api/v2/tokens/"):
			byUser[r.UserID] = r.Time.Add(r.Duration)
		case r.Method == "PATCH" && strings.HasPrefix(r.Path, "/api/v2/scim/"):
			patches[r.UserID]++
		}
	}
	var toRevoked []time.Duration
	for _, u := range users {
		if t, ok := byUser[u.ID]; ok {
			toRevoked = append(toRevoked, t.Sub(at))
		}
		res.Patches += patches[u.ID]
		res.MaxPatchesPerUser = max(res.MaxPatchesPerUser, patches[u.ID])
	}
	res.ToRevoked = percentiles(toRevoked)
	res.CallsPerUser = float64(accepted) / float64(cfg.Jobs)
	res.BudgetBound = max(0, float64(accepted-cfg.Limit)) / float64(cfg.Limit) * cfg.Window.Seconds()
	res.BudgetPace = float64(accepted) / float64(cfg.Limit) * cfg.Window.Seconds()

	str, err := b.JS.Stream(ctx, b.Names.ScheduledStream())
	if err != nil {
		return err
	}
	info, err := str.Info(ctx, jetstream.WithSubjectFilter(b.Names.FiredCopiesFilter()))
	if err != nil {
		return err
	}
	for _, n := range info.State.Subjects {
		res.FiredCopies += int(n)
		res.MaxCopiesPerJob = max(res.MaxCopiesPerJob, int(n))
	}
	if res.PendingLeft, err = sched.CountPending(ctx); err != nil {
		return err
	}

	msgs, err := b.StreamMsgs(ctx, b.Names.AuditStream())
	if err != nil {
		return err
	}
	events := map[string]int{}
	for _, m := range msgs {
		if !strings.Contains(m.Subject, ".audit.user.") {
			continue
		}
		var ev struct {
			Data audit.AccountChange `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			return fmt.Errorf("audit event on %s: %w", m.Subject, err)
		}
		events[ev.Data.Unmapped.JobID]++
	}
	for _, id := range ids {
		res.AuditEvents += events[id]
		res.MaxEventsPerJob = max(res.MaxEventsPerJob, events[id])
	}
	n := cfg.Jobs
	res.ExactlyOnce = res.LaneArrivals == n && res.FiredCopies == n && res.MaxCopiesPerJob == 1 &&
		res.AuditEvents == n && res.MaxEventsPerJob == 1 && res.Patches == n && res.MaxPatchesPerUser == 1 &&
		res.PendingLeft == 0 && len(toRevoked) == n
	return nil
}
