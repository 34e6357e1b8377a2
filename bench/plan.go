package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// PlanConfig sizes the plan benchmark: the contact-center plan on the real budget.
type PlanConfig struct {
	Limit         int
	Window        time.Duration
	Steps         []string      // the workers' optional steps (worker --steps)
	CostUsers     int           // agents offboarded one after another on an idle fleet, to count calls per user
	Backlog       int           // leavers queued (normal) before the urgent samples
	UrgentSamples int           // urgent leavers published behind the backlog
	UrgentEvery   time.Duration // spacing of the urgent leavers
	Verify        bool          // the read-back after each access cut (worker --verify)
	VerifyDelay   time.Duration // and its delay (worker --verify-delay)
}

// PlanResult is the plan benchmark's result.
type PlanResult struct {
	Steps []string `json:"steps"`
	// Verify and VerifyDelay are the read-back's settings (worker --verify, --verify-delay).
	Verify      bool   `json:"verify"`
	VerifyDelay string `json:"verify_delay"`
	// CallsPerUser is the Genesys calls of one leaver's whole offboarding (deactivation job and
	// cleanup job), measured on CostUsers agents of the seeded org: median and max.
	CallsPerUserMedian float64 `json:"calls_per_user_median"`
	CallsPerUserMax    int     `json:"calls_per_user_max"`
	// UsersPerMinute is what the budget allows at the median: Limit per Window over the calls.
	UsersPerMinute float64 `json:"users_per_minute_at_budget"`
	// UrgentToRevoked is publish → the token revocation's answer of each urgent leaver queued
	// behind the backlog; UrgentToAudit is publish → its stored audit event.
	UrgentToRevoked Percentiles `json:"urgent_behind_backlog_publish_to_tokens_revoked"`
	UrgentToAudit   Percentiles `json:"urgent_behind_backlog_publish_to_audit"`
	// BudgetUsed is the share of the budget the fleet spent while the urgent leavers arrived:
	// requests the simulator accepted over what Limit per Window allows in that time.
	BudgetUsed float64 `json:"budget_used_during_urgent_phase"`
	// Throttled is how many requests the simulator answered 429 in the whole run.
	Throttled int `json:"throttled_429"`
}

// Plan measures the contact-center plan at the budget with two workers of concurrency 4 and a
// simulator answering in 50–150 ms: (a) the calls per leaver, offboarding CostUsers agents one at a
// time (each deactivation and its cleanup job) on an idle fleet; (b) Backlog leavers queued, then
// UrgentSamples urgent leavers UrgentEvery apart: publish → tokens revoked for those, and the
// share of the budget the fleet spends meanwhile. The backlog is not waited for.
func Plan(ctx context.Context, cfg PlanConfig, log *zap.Logger) (PlanResult, error) {
	res := PlanResult{Steps: cfg.Steps, Verify: cfg.Verify, VerifyDelay: cfg.VerifyDelay.String()}
	users := cfg.CostUsers + cfg.Backlog + cfg.UrgentSamples
	b, err := newBed(ctx, genesyssim.Config{Users: users*13/10 + 20, RateLimit: cfg.Limit, RateWindow: cfg.Window, Seed: 5,
		Faults: genesyssim.Faults{LatencyMin: 50 * time.Millisecond, LatencyMax: 150 * time.Millisecond}})
	if err != nil {
		return res, err
	}
	defer b.Close()
	for i := range 2 {
		stop, err := b.startWorker(ctx, workerConfig{id: fmt.Sprintf("w%d", i), concurrency: 4, log: log, steps: cfg.Steps,
			budget: budget.Config{Limit: cfg.Limit, Window: cfg.Window},
			verify: cfg.Verify, verifyDelay: cfg.VerifyDelay})
		if err != nil {
			return res, err
		}
		defer stop()
	}
	// Agents: active users with a routing state, i.e. the contact-center staff of the seeded org.
	agents := slices.DeleteFunc(b.ActiveUsers(-1), func(u genesyssim.User) bool {
		a, ok := b.Sim.Agent(u.ID)
		return !ok || len(a.Queues) == 0
	})
	if len(agents) < users {
		return res, fmt.Errorf("the seeded org has %d active agents with queues, want %d", len(agents), users)
	}

	// (a) calls per leaver, one at a time.
	var costs []int
	for i, u := range agents[:cfg.CostUsers] {
		from := lastSeq(b.Sim.Requests())
		ids, err := b.enqueue(ctx, []genesyssim.User{u}, fmt.Sprintf("cost-%d", i), jobs.PriorityNormal)
		if err != nil {
			return res, err
		}
		if _, err := b.waitDone(ctx, []string{ids[0], jobs.CleanupID(ids[0])}, 5*time.Minute); err != nil {
			return res, err
		}
		n := 0
		for _, r := range b.Sim.RequestsSince(from) {
			if strings.HasPrefix(r.Path, "/api/") && r.Status != 429 {
				n++
			}
		}
		costs = append(costs, n)
	}
	slices.Sort(costs)
	if len(costs) > 0 {
		res.CallsPerUserMedian = float64(costs[len(costs)/2])
		if len(costs)%2 == 0 {
			res.CallsPerUserMedian = float64(costs[len(costs)/2-1]+costs[len(costs)/2]) / 2
		}
		res.CallsPerUserMax = costs[len(costs)-1]
		res.UsersPerMinute = float64(cfg.Limit) * float64(time.Minute) / float64(cfg.Window) / res.CallsPerUserMedian
	}

	// (b) urgent leavers behind a backlog of full-plan leavers.
	rest := agents[cfg.CostUsers:]
	if _, err := b.enqueue(ctx, rest[:cfg.Backlog], "backlog", jobs.PriorityNormal); err != nil {
		return res, err
	}
	// Let the fleet reach its pace on the backlog before the first urgent leaver: part of the
	// workload, not a wait for something.
	time.Sleep(cfg.Window / 4)
	phaseStart := time.Now()
	var toRevoked, toAudit []time.Duration
	for i, u := range rest[cfg.Backlog : cfg.Backlog+cfg.UrgentSamples] {
		time.Sleep(cfg.UrgentEvery) // the urgent leavers' cadence: part of the workload
		start := time.Now()
		_, a, err := b.timeJob(ctx, u, fmt.Sprintf("urgent-%d", i), jobs.PriorityUrgent)
		if err != nil {
			return res, err
		}
		revoked, ok := b.revokedAt(u.ID, start)
		if !ok {
			return res, fmt.Errorf("urgent-%d: no token revocation in the simulator's log", i)
		}
		toRevoked, toAudit = append(toRevoked, revoked), append(toAudit, a)
	}
	phaseEnd := time.Now()
	res.UrgentToRevoked, res.UrgentToAudit = percentiles(toRevoked), percentiles(toAudit)
	accepted := 0
	for _, r := range b.Sim.Requests() {
		if r.Status == 429 {
			res.Throttled++
		}
		if strings.HasPrefix(r.Path, "/api/") && r.Status != 429 && !r.Time.Before(phaseStart) && r.Time.Before(phaseEnd) {
			accepted++
		}
	}
	capacity := float64(cfg.Limit) * float64(phaseEnd.Sub(phaseStart)) / float64(cfg.Window)
	res.BudgetUsed = float64(accepted) / capacity
	return res, nil
}

// revokedAt is the time from start to the answer to the user's token revocation (the last one in
// the simulator's log).
func (b *bed) revokedAt(userID string, start time.Time) (time.Duration, bool) {
	var at time.Time
	for _, r := range b.Sim.Requests() {
		if r.UserID == userID && r.Method == "DELETE" && strings.HasPrefix(r.Path, "/api/v2/tokens/") && r.Status/100 == 2 {
			at = r.Time.Add(r.Duration)
		}
	}
	if at.IsZero() {
		return 0, false
	}
	return at.Sub(start), true
}

// lastSeq is the sequence number of the last request in the log, 0 for none.
func lastSeq(rs []genesyssim.Request) uint64 {
	if len(rs) == 0 {
		return 0
	}
	return rs[len(rs)-1].Seq
}

// leaversDuring offboards users one at a time as ordinary normal-priority leavers, one every
// `every`, from start until measure has passed (users for which skip says true are left alone), and
// returns each one's publish → tokens revoked. It returns when measure has passed: the leavers are
// the workload that shares the budget with what a benchmark measures.
func (b *bed) leaversDuring(ctx context.Context, users []genesyssim.User, start time.Time, measure, every time.Duration,
	skip func(genesyssim.User) bool) ([]time.Duration, error) {
	var toRevoked []time.Duration
	for i, u := range users {
		if time.Since(start) >= measure {
			break
		}
		if skip != nil && skip(u) {
			continue
		}
		t0 := time.Now()
		if _, _, err := b.timeJob(ctx, u, fmt.Sprintf("leaver-%d", i), jobs.PriorityNormal); err != nil {
			return nil, err
		}
		revoked, ok := b.revokedAt(u.ID, t0)
		if !ok {
			return nil, fmt.Errorf("leaver-%d: no token revocation in the simulator's log", i)
		}
		toRevoked = append(toRevoked, revoked)
		if rest := every - time.Since(t0); rest > 0 {
			time.Sleep(rest) // the leavers' cadence: part of the workload
		}
	}
	if rest := measure - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	return toRevoked, nil
}
