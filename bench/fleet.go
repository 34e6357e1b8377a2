package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// FleetConfig sizes the fleet benchmark.
type FleetConfig struct {
	Sizes        []int         // fleet sizes to run
	Limit        int           // budget and simulator limit per window
	Window       time.Duration // budget and simulator window
	Windows      int           // full windows measured after the first
	MaxClockSkew time.Duration // the budget's allowance, scaled with the window
	Jitter       time.Duration // the budget's send-jitter allowance
	Concurrency  int           // jobs per worker
}

// FleetRun is the result for one fleet size.
type FleetRun struct {
	Workers      int     `json:"workers"`
	Utilisation  float64 `json:"utilisation"`
	MaxInWindow  int     `json:"max_in_window"`
	Limit        int     `json:"limit"`
	TooMany      int     `json:"status_429"`
	Redelivered  int     `json:"redelivered"`
	CallsPerUser float64 `json:"calls_per_user"`
	Users        int     `json:"users"`
	Seconds      float64 `json:"seconds"`
	// Budget sums the workers' budget counters: grants, CAS conflicts, stale grants dropped.
	Budget map[string]float64 `json:"budget_counters"`
}

// Fleet drains a backlog with each fleet size in turn, on a fresh server and
// simulator each time, and measures what reached the simulator.
func Fleet(ctx context.Context, cfg FleetConfig, log *zap.Logger) ([]FleetRun, error) {
	var out []FleetRun
	for _, n := range cfg.Sizes {
		r, err := fleetRun(ctx, cfg, n, log)
		if err != nil {
			return out, fmt.Errorf("fleet of %d: %w", n, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func fleetRun(ctx context.Context, cfg FleetConfig, n int, log *zap.Logger) (FleetRun, error) {
	// Enough users to keep the budget busy for the measured windows and one more.
	users := cfg.Limit * (cfg.Windows + 2) / 3
	b, err := newBed(ctx, genesyssim.Config{Users: users * 12 / 10, RateLimit: cfg.Limit, RateWindow: cfg.Window, Seed: 7})
	if err != nil {
		return FleetRun{}, err
	}
	defer b.Close()
	targets := b.ActiveUsers(users)
	ids, err := b.enqueue(ctx, targets, "fleet", jobs.PriorityNormal)
	if err != nil {
		return FleetRun{}, err
	}
	start := time.Now()
	var stops []func()
	defer func() {
		for _, s := range stops {
			s()
		}
	}()
	var regs []*prometheus.Registry
	for i := range n {
		regs = append(regs, prometheus.NewRegistry())
		stop, err := b.startWorker(ctx, workerConfig{id: fmt.Sprintf("w%d", i), concurrency: cfg.Concurrency, log: log, reg: regs[i],
			budget: budget.Config{Limit: cfg.Limit, Window: cfg.Window, MaxClockSkew: cfg.MaxClockSkew, MaxSendJitter: cfg.Jitter}})
		if err != nil {
			return FleetRun{}, err
		}
		stops = append(stops, stop)
	}
	if _, err := b.waitDone(ctx, ids, time.Duration(cfg.Windows+30)*cfg.Window+time.Minute); err != nil {
		return FleetRun{}, err
	}
	r := FleetRun{Workers: n, Limit: cfg.Limit, Users: len(targets), Seconds: time.Since(start).Seconds(), Budget: counters(regs)}
	if r.Redelivered, err = b.redelivered(ctx, len(targets)); err != nil {
		return r, err
	}
	var times []time.Time
	perUser := map[string]int{}
	for _, q := range b.Sim.Requests() {
		if !strings.Contains(q.Route, " /api/") {
			continue
		}
		times = append(times, q.Time)
		if q.Status == 429 {
			r.TooMany++
		}
		if q.UserID != "" {
			perUser[q.UserID]++
		}
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	if len(times) == 0 {
		return r, fmt.Errorf("no API request reached the simulator")
	}
	from, to := times[0].Add(cfg.Window), times[0].Add(time.Duration(cfg.Windows+1)*cfg.Window)
	if times[len(times)-1].Before(to) {
		return r, fmt.Errorf("the backlog ran out before %d windows after the first", cfg.Windows)
	}
	inSpan := 0
	for _, t := range times {
		if !t.Before(from) && t.Before(to) {
			inSpan++
		}
	}
	r.Utilisation = float64(inSpan) / float64(cfg.Windows*cfg.Limit)
	r.MaxInWindow = maxInWindow(times, cfg.Window)
	calls := 0
	for _, u := range targets {
		calls += perUser[u.ID]
	}
	r.CallsPerUser = float64(calls) / float64(len(targets))
	return r, nil
}

// maxInWindow is the most sorted times in any half-open window of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}
