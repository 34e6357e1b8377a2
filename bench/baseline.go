package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// BaselineConfig sizes the baseline benchmark.
type BaselineConfig struct {
	Users   int
	Limit   int
	Window  time.Duration
	Threads int
}

// Side is one contender's result.
type Side struct {
	Done    int     `json:"users_done"`
	Failed  int     `json:"users_failed"`
	TooMany int     `json:"status_429"`
	Calls   int     `json:"api_calls"`
	Seconds float64 `json:"seconds"`
}

// BaselineResult puts the tutorial's pattern beside ours.
type BaselineResult struct {
	Tutorial Side `json:"tutorial"`
	Ours     Side `json:"ours"`
}

// Baseline runs the original tutorial's pattern (roles, SCIM read, PATCH,
// token delete; three threads; a 429 fails the user; no shared budget) and
// then two of our workers against fresh simulators with the same limit.
func Baseline(ctx context.Context, cfg BaselineConfig, log *zap.Logger) (BaselineResult, error) {
	var res BaselineResult
	simCfg := genesyssim.Config{Users: cfg.Users * 12 / 10, RateLimit: cfg.Limit, RateWindow: cfg.Window, Seed: 11}
	b, err := newBed(ctx, simCfg)
	if err != nil {
		return res, err
	}
	res.Tutorial, err = tutorial(b, b.ActiveUsers(cfg.Users), cfg.Threads)
	b.Close()
	if err != nil {
		return res, err
	}
	if b, err = newBed(ctx, simCfg); err != nil {
		return res, err
	}
	defer b.Close()
	targets := b.ActiveUsers(cfg.Users)
	start := time.Now()
	ids, err := b.enqueue(ctx, targets, "base", jobs.PriorityNormal)
	if err != nil {
		return res, err
	}
	for i := range 2 {
		stop, err := b.startWorker(ctx, workerConfig{id: fmt.Sprintf("w%d", i), concurrency: 4, log: log,
			budget: budget.Config{Limit: cfg.Limit, Window: cfg.Window, MaxClockSkew: cfg.Window / 60, MaxSendJitter: 5 * time.Millisecond}})
		if err != nil {
			return res, err
		}
		defer stop()
	}
	if _, err := b.waitDone(ctx, ids, 3*time.Duration(cfg.Users)*cfg.Window/time.Duration(cfg.Limit)+time.Minute); err != nil {
		return res, err
	}
	res.Ours.Seconds = time.Since(start).Seconds()
	c := b.Sim.Counters()
	res.Ours.Calls, res.Ours.TooMany = c.Total, c.ByStatus[429]
	for _, u := range targets {
		if after, ok := b.Sim.User(u.ID); ok && !after.Active && after.Tokens == 0 {
			res.Ours.Done++
		} else {
			res.Ours.Failed++
		}
	}
	return res, nil
}

// tutorial is the original script's loop in Go: each of threads workers
// takes users off a shared list and makes the four calls; any non-2xx fails
// the user (its retry never fires).
func tutorial(b *bed, users []genesyssim.User, threads int) (Side, error) {
	tok, err := b.Sim.Token("sim-client")
	if err != nil {
		return Side{}, err
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	call := func(method, path, body string) bool {
		req, _ := http.NewRequest(method, b.simURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/scim+json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode < 300
	}
	const patch = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`
	var mu sync.Mutex
	var side Side
	next := make(chan genesyssim.User)
	var wg sync.WaitGroup
	start := time.Now()
	for range threads {
		wg.Go(func() {
			for u := range next {
				ok := call("GET", "/api/v2/users/"+u.ID+"/roles", "") &&
					call("GET", "/api/v2/scim/v2/users/"+u.ID, "") &&
					call("PATCH", "/api/v2/scim/v2/users/"+u.ID, patch) &&
					call("DELETE", "/api/v2/tokens/"+u.ID, "")
				mu.Lock()
				if ok {
					side.Done++
				} else {
					side.Failed++
				}
				mu.Unlock()
			}
		})
	}
	for _, u := range users {
		next <- u
	}
	close(next)
	wg.Wait()
	side.Seconds = time.Since(start).Seconds()
	c := b.Sim.Counters()
	side.Calls, side.TooMany = c.Total, c.ByStatus[429]
	return side, nil
}
