// Package bench measures the fleet rate budget and the worker against the
// Genesys simulator: fleet utilisation, overhead, latency, and the original
// tutorial's pattern as a baseline. Each benchmark prints one line of JSON.
// It is run by cmd/bench (make bench), not by go test.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget/genesysbudget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// bed is an internal/testbed bed on disk, as the benchmarks measure it. Close it.
type bed struct {
	*testbed.Bed
	// natsURL and simURL are what workers connect to.
	natsURL, simURL string
}

// childBed is the part of a bed a worker in another process needs.
func childBed(natsURL, simURL string) *bed { return &bed{natsURL: natsURL, simURL: simURL} }

func newBed(ctx context.Context, simCfg genesyssim.Config) (*bed, error) {
	tb, err := testbed.Start(ctx, testbed.Config{Sim: simCfg, FileStorage: true,
		Topology: jobs.TopologyConfig{AckWait: 30 * time.Second, MaxAckPending: 1000}})
	if err != nil {
		return nil, err
	}
	return &bed{Bed: tb, natsURL: tb.URL, simURL: tb.SimURL}, nil
}

// enqueue publishes one deactivation job per user and returns the job ids.
func (b *bed) enqueue(ctx context.Context, users []genesyssim.User, prefix string, p jobs.Priority) ([]string, error) {
	ids := make([]string, 0, len(users))
	for i, u := range users {
		j := jobs.Job{ID: fmt.Sprintf("%s-%d", prefix, i), Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID},
			RequestedBy: "bench", Reason: "benchmark", Priority: p}
		if _, err := b.Pub.Enqueue(ctx, j); err != nil {
			return nil, err
		}
		ids = append(ids, j.ID)
	}
	return ids, nil
}

// waitDone waits, at most within, until every job of ids is done, watching the status bucket. It
// returns how many status updates the watch received: messages the server sent for the
// measurement, not for the jobs.
func (b *bed) waitDone(ctx context.Context, ids []string, within time.Duration) (watched uint64, err error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	updates, err := b.Watch(ctx, b.Names.StatusBucket())
	if err != nil {
		return 0, err
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	done := map[string]bool{}
	err = testbed.Await(ctx, updates, func(e jetstream.KeyValueEntry) bool {
		watched++
		var st jobs.Status
		if want[e.Key()] && json.Unmarshal(e.Value(), &st) == nil && st.State == jobs.StateDone {
			done[e.Key()] = true
		}
		return len(done) == len(want)
	})
	if err != nil {
		return watched, fmt.Errorf("%d of %d jobs done within %v: %w", len(done), len(want), within, err)
	}
	return watched, nil
}

// redelivered is how many deliveries of the jobs consumers were redeliveries,
// once n jobs have been delivered and acked.
func (b *bed) redelivered(ctx context.Context, n int) (int, error) {
	var delivered uint64
	for _, name := range []string{b.Names.UrgentConsumer(), b.Names.NormalConsumer(), b.Names.CleanupConsumer()} {
		c, err := b.JS.Consumer(ctx, b.Names.JobsStream(), name)
		if err != nil {
			return 0, err
		}
		info, err := c.Info(ctx)
		if err != nil {
			return 0, err
		}
		delivered += info.Delivered.Consumer
	}
	return int(delivered) - n, nil
}

// workerConfig is what one in-process worker runs with.
type workerConfig struct {
	id          string
	budget      budget.Config // KV, Key, WorkerID and Logger are filled in
	memStore    *budget.MemStore
	concurrency int
	steps       []string // the worker's optional steps (worker --steps); nil: none
	log         *zap.Logger
	reg         *prometheus.Registry // receives the budget's metrics when set
	observer    worker.Observer      // hears the worker when set
	verify      bool                 // the read-back after each access cut (worker --verify)
	verifyDelay time.Duration        // its delay
}

// startWorker runs a worker with its own NATS connection, budget and
// Genesys client until the returned stop is called.
func (b *bed) startWorker(ctx context.Context, wc workerConfig) (stop func(), err error) {
	nc, err := nats.Connect(b.natsURL)
	if err != nil {
		return nil, err
	}
	js, _ := jetstream.New(nc)
	bc := wc.budget
	if wc.memStore != nil {
		bc.Store = wc.memStore
	} else if bc.KV, err = js.KeyValue(ctx, jobs.Names{}.BudgetBucket()); err != nil {
		nc.Close()
		return nil, err
	}
	bc.Key, bc.WorkerID, bc.Logger = "sim-client", wc.id, wc.log
	if wc.reg != nil {
		if bc.Metrics, err = budget.NewMetrics(wc.reg); err != nil {
			nc.Close()
			return nil, err
		}
	}
	bud, err := budget.New(bc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c, err := testbed.NewClient(b.simURL, genesys.WithLimiter(genesysbudget.New(bud)),
		genesys.WithHTTPClient(&http.Client{Transport: genesys.NewTransport(wc.concurrency + 1)}))
	if err == nil {
		var w *testbed.Worker
		w, err = testbed.RunWorker(ctx, testbed.WorkerConfig{JetStream: js, Genesys: c, ID: wc.id, Logger: wc.log,
			Concurrency: wc.concurrency, AckWait: 30 * time.Second, PollWait: 100 * time.Millisecond, Steps: wc.steps,
			Observer: wc.observer, Verify: wc.verify, VerifyDelay: wc.verifyDelay})
		if err == nil {
			return func() { _ = w.Stop(); bud.Close(); nc.Close() }, nil
		}
	}
	bud.Close()
	nc.Close()
	return nil, err
}

// counters sums the budget's counters over the workers' registries, by
// metric name without the genesys_budget_ prefix and _total suffix.
func counters(regs []*prometheus.Registry) map[string]float64 {
	out := map[string]float64{}
	for _, r := range regs {
		mfs, err := r.Gather()
		if err != nil {
			continue
		}
		for _, mf := range mfs {
			name := strings.TrimSuffix(strings.TrimPrefix(mf.GetName(), "genesys_budget_"), "_total")
			for _, m := range mf.GetMetric() {
				if c := m.GetCounter(); c != nil {
					out[name] += c.GetValue()
				}
			}
		}
	}
	return out
}
