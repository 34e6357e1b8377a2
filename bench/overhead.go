package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// OverheadConfig sizes the overhead benchmark.
type OverheadConfig struct {
	Jobs        int
	Concurrency int
	Limit       int // per second; high enough never to be the bottleneck
}

// OverheadRun is one measured path.
type OverheadRun struct {
	Store      string  `json:"budget_store"` // kv, or mem (KV bypassed)
	JobsPerSec float64 `json:"jobs_per_sec"`
	PeakRSSMiB float64 `json:"worker_peak_rss_mib"`
	Calls      int     `json:"api_calls"`
	TooMany    int     `json:"status_429"`
	Ratio      float64 `json:"ratio_to_bare_jetstream"`
}

// OverheadResult is the whole benchmark.
type OverheadResult struct {
	Runs           []OverheadRun `json:"runs"`
	BareJobsPerSec float64       `json:"bare_publish_fetch_ack_per_sec"`
}

// Overhead runs the full path twice in a worker child process (budget on
// KV, budget in memory) and a bare JetStream loop on the same server.
func Overhead(ctx context.Context, cfg OverheadConfig) (OverheadResult, error) {
	var res OverheadResult
	for _, store := range []string{"kv", "mem"} {
		r, err := overheadRun(ctx, cfg, store, &res.BareJobsPerSec)
		if err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, r)
	}
	for i := range res.Runs {
		res.Runs[i].Ratio = res.Runs[i].JobsPerSec / res.BareJobsPerSec
	}
	return res, nil
}

func overheadRun(ctx context.Context, cfg OverheadConfig, store string, bare *float64) (OverheadRun, error) {
	b, err := newBed(ctx, genesyssim.Config{Users: cfg.Jobs * 12 / 10, RateLimit: cfg.Limit, RateWindow: time.Second, LogSize: 1000})
	if err != nil {
		return OverheadRun{}, err
	}
	defer b.Close()
	targets := b.activeUsers(cfg.Jobs)
	if len(targets) < cfg.Jobs {
		return OverheadRun{}, fmt.Errorf("only %d active users", len(targets))
	}
	if _, err := b.enqueue(ctx, targets, "ovh", jobs.PriorityNormal); err != nil {
		return OverheadRun{}, err
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "worker-child")
	cmd.Env = append(os.Environ(), "BENCH_NATS_URL="+b.srv.ClientURL(), "BENCH_SIM_URL="+b.http.URL,
		"BENCH_STORE="+store, "BENCH_LIMIT="+strconv.Itoa(cfg.Limit), "BENCH_CONCURRENCY="+strconv.Itoa(cfg.Concurrency))
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return OverheadRun{}, err
	}
	err = b.waitDrained(ctx, len(targets), 10*time.Minute)
	took := time.Since(start)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if werr := cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("worker child: %w", werr)
	}
	if err != nil {
		return OverheadRun{}, err
	}
	r := OverheadRun{Store: store, JobsPerSec: float64(len(targets)) / took.Seconds()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSSMiB = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	c := b.sim.Counters()
	r.Calls, r.TooMany = c.Total, c.ByStatus[429]
	if *bare == 0 {
		*bare, err = bareLoop(ctx, b, cfg.Jobs)
	}
	return r, err
}

// bareLoop publishes, fetches and double-acks n messages one at a time on a
// work-queue stream of the same server: the least a job can cost.
func bareLoop(ctx context.Context, b *bed, n int) (float64, error) {
	s, err := b.js.CreateStream(ctx, jetstream.StreamConfig{Name: "BARE", Subjects: []string{"bare.>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage})
	if err != nil {
		return 0, err
	}
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "bare", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return 0, err
	}
	payload := make([]byte, 400)
	start := time.Now()
	for i := range n {
		if _, err := b.js.Publish(ctx, "bare.job", payload); err != nil {
			return 0, err
		}
		batch, err := c.Fetch(1)
		if err != nil {
			return 0, err
		}
		for m := range batch.Messages() {
			if err := m.DoubleAck(ctx); err != nil {
				return 0, err
			}
		}
		if err := batch.Error(); err != nil {
			return 0, fmt.Errorf("fetch %d: %w", i, err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
