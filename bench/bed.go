// Package bench measures the fleet rate budget and the worker against the
// Genesys simulator: fleet utilisation, overhead, latency, and the original
// tutorial's pattern as a baseline. Each benchmark prints one line of JSON.
// It is run by cmd/bench (make bench), not by go test.
package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget/genesysbudget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// bed is an in-process NATS server with the topology provisioned and a
// simulator on loopback. Close it.
type bed struct {
	srv   *server.Server
	dir   string
	nc    *nats.Conn
	js    jetstream.JetStream
	sim   *genesyssim.Server
	http  *httptest.Server
	names jobs.Names
	pub   *jobs.Publisher
	// natsURL and simURL are what workers connect to.
	natsURL, simURL string
}

// childBed is the part of a bed a worker in another process needs.
func childBed(natsURL, simURL string) *bed { return &bed{natsURL: natsURL, simURL: simURL} }

func newBed(ctx context.Context, simCfg genesyssim.Config) (*bed, error) {
	dir, err := os.MkdirTemp("", "bench-nats-")
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir,
		JetStreamMaxMemory: 512 << 20, JetStreamMaxStore: 1 << 30, NoLog: true, NoSigs: true})
	if err != nil {
		return nil, err
	}
	srv.Start()
	b := &bed{srv: srv, dir: dir}
	if !srv.ReadyForConnections(10 * time.Second) {
		b.Close()
		return nil, fmt.Errorf("nats server not ready")
	}
	if b.nc, err = nats.Connect(srv.ClientURL()); err != nil {
		b.Close()
		return nil, err
	}
	b.js, _ = jetstream.New(b.nc)
	if err := jobs.Provision(ctx, b.js, jobs.TopologyConfig{Storage: jetstream.FileStorage, AckWait: 30 * time.Second,
		MaxAckPending: 1000}); err != nil {
		b.Close()
		return nil, err
	}
	if b.pub, err = jobs.NewPublisher(b.js, b.names); err != nil {
		b.Close()
		return nil, err
	}
	if b.sim, err = genesyssim.New(simCfg); err != nil {
		b.Close()
		return nil, err
	}
	b.http = httptest.NewServer(b.sim)
	b.natsURL, b.simURL = srv.ClientURL(), b.http.URL
	return b, nil
}

func (b *bed) Close() {
	if b.http != nil {
		b.http.Close()
	}
	if b.nc != nil {
		b.nc.Close()
	}
	b.srv.Shutdown()
	b.srv.WaitForShutdown()
	os.RemoveAll(b.dir)
}

// activeUsers returns up to n users that a job would deactivate.
func (b *bed) activeUsers(n int) []genesyssim.User {
	us := slices.DeleteFunc(b.sim.Users(), func(u genesyssim.User) bool { return !u.Active || u.Deleted })
	return us[:min(n, len(us))]
}

// enqueue publishes one deactivation job per user and returns the job ids.
func (b *bed) enqueue(ctx context.Context, users []genesyssim.User, prefix string, p jobs.Priority) ([]string, error) {
	ids := make([]string, 0, len(users))
	for i, u := range users {
		j := jobs.Job{ID: fmt.Sprintf("%s-%d", prefix, i), Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID},
			RequestedBy: "bench", Reason: "benchmark", Priority: p}
		if _, err := b.pub.Enqueue(ctx, j); err != nil {
			return nil, err
		}
		ids = append(ids, j.ID)
	}
	return ids, nil
}

// waitDrained waits until the jobs stream is empty and the audit stream
// holds at least n events.
func (b *bed) waitDrained(ctx context.Context, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		js, err1 := b.streamMsgs(ctx, b.names.JobsStream())
		as, err2 := b.streamMsgs(ctx, b.names.AuditStream())
		if err1 == nil && err2 == nil && js == 0 && as >= uint64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not drained within %v: %d jobs left, %d audit events of %d", within, js, as, n)
		}
		// Each look is two JetStream API calls on the measured server: often
		// enough to stop the clock within 1 % of a 5 s run, rarely enough not
		// to weigh on it.
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *bed) streamMsgs(ctx context.Context, name string) (uint64, error) {
	s, err := b.js.Stream(ctx, name)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// redelivered is how many deliveries of the jobs consumers were redeliveries,
// once n jobs have been delivered and acked.
func (b *bed) redelivered(ctx context.Context, n int) (int, error) {
	var delivered uint64
	for _, name := range []string{b.names.UrgentConsumer(), b.names.NormalConsumer()} {
		c, err := b.js.Consumer(ctx, b.names.JobsStream(), name)
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
	log         *zap.Logger
	reg         *prometheus.Registry // receives the budget's metrics when set
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
	} else if bc.KV, err = js.KeyValue(ctx, b.names.BudgetBucket()); err != nil {
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
	c, err := genesys.NewClient(b.simURL, genesys.WithCredentials("sim-client", "sim-secret"),
		genesys.WithLimiter(genesysbudget.New(bud)),
		genesys.WithHTTPClient(&http.Client{Transport: genesys.NewTransport(wc.concurrency + 1)}))
	if err == nil {
		var w *worker.Worker
		w, err = worker.New(ctx, worker.Config{JetStream: js, Genesys: c, ID: wc.id, Logger: wc.log,
			Concurrency: wc.concurrency, AckWait: 30 * time.Second, PollWait: 100 * time.Millisecond})
		if err == nil {
			wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			done := make(chan struct{})
			go func() { defer close(done); _ = w.Run(wctx) }()
			return func() { cancel(); <-done; bud.Close(); nc.Close() }, nil
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
