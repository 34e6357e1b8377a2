package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
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
	// WorkerCPUPerJob is the worker's CPU time (user and system) per job, in
	// milliseconds: less sensitive to a busy machine than the rate.
	WorkerCPUPerJob float64 `json:"worker_cpu_ms_per_job"`
	// ServerCPUPerJob is the CPU time per job of this process (NATS server
	// and simulator) while the worker ran.
	ServerCPUPerJob float64 `json:"nats_and_sim_cpu_ms_per_job"`
	// NATSInPerJob and NATSOutPerJob count the messages the NATS server
	// received and sent per job while the worker ran (client traffic,
	// JetStream API and acks).
	NATSInPerJob  float64 `json:"nats_msgs_in_per_job"`
	NATSOutPerJob float64 `json:"nats_msgs_out_per_job"`
}

// OverheadResult is the whole benchmark.
type OverheadResult struct {
	Runs           []OverheadRun `json:"runs"`
	BareJobsPerSec float64       `json:"bare_publish_fetch_ack_per_sec"`
}

// Overhead runs the full path twice in a worker child process (budget on
// KV, budget in memory) and a bare JetStream loop on the same server.
// BENCH_CPUPROFILE and BENCH_MEMPROFILE name files for profiles: the
// worker child's go to <BENCH_CPUPROFILE>.kv and .mem, the parent's (NATS
// server and simulator while that worker ran) to .parent.kv and .parent.mem.
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
	targets := b.ActiveUsers(cfg.Jobs)
	if len(targets) < cfg.Jobs {
		return OverheadRun{}, fmt.Errorf("only %d active users", len(targets))
	}
	ids, err := b.enqueue(ctx, targets, "ovh", jobs.PriorityNormal)
	if err != nil {
		return OverheadRun{}, err
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "worker-child")
	cmd.Env = append(os.Environ(), "BENCH_NATS_URL="+b.Server.ClientURL(), "BENCH_SIM_URL="+b.SimURL,
		"BENCH_STORE="+store, "BENCH_LIMIT="+strconv.Itoa(cfg.Limit), "BENCH_CONCURRENCY="+strconv.Itoa(cfg.Concurrency))
	cmd.Stderr = os.Stderr
	var out bytes.Buffer
	cmd.Stdout = &out
	stopProfile, err := startCPUProfile(".parent." + store)
	if err != nil {
		return OverheadRun{}, err
	}
	defer stopProfile()
	v0, err := b.Server.Varz(nil)
	if err != nil {
		return OverheadRun{}, err
	}
	start, startCPU := time.Now(), selfCPU()
	if err := cmd.Start(); err != nil {
		return OverheadRun{}, err
	}
	watched, err := b.waitDone(ctx, ids, 10*time.Minute)
	took, serverCPU := time.Since(start), selfCPU()-startCPU
	stopProfile()
	v1, verr := b.Server.Varz(nil)
	if err == nil && verr != nil {
		err = verr
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if werr := cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("worker child: %w", werr)
	}
	if err != nil {
		return OverheadRun{}, err
	}
	r := OverheadRun{Store: store, JobsPerSec: float64(len(targets)) / took.Seconds()}
	// The child reports its own peak RSS (see peakRSSKiB): the rusage of a
	// waited child would count the parent's RSS at the fork.
	for line := range strings.Lines(out.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), peakRSSLine+" "); ok {
			if kib, err := strconv.ParseFloat(v, 64); err == nil {
				r.PeakRSSMiB = kib / 1024
			}
		}
	}
	perJob := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(len(targets)) }
	r.WorkerCPUPerJob = perJob(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime())
	r.ServerCPUPerJob = perJob(serverCPU)
	r.NATSInPerJob = float64(v1.InMsgs-v0.InMsgs) / float64(len(targets))
	r.NATSOutPerJob = float64(v1.OutMsgs-v0.OutMsgs-int64(watched)) / float64(len(targets)) // not what the bench watched
	if r.PeakRSSMiB == 0 {
		return r, fmt.Errorf("the worker child did not report its peak RSS")
	}
	c := b.Sim.Counters()
	r.Calls, r.TooMany = c.Total, c.ByStatus[429]
	if *bare == 0 {
		*bare, err = bareLoop(ctx, b, cfg.Jobs)
	}
	return r, err
}

// startCPUProfile starts this process's CPU profile into
// <BENCH_CPUPROFILE><suffix> when BENCH_CPUPROFILE is set. stop may be
// called more than once.
func startCPUProfile(suffix string) (stop func(), err error) {
	path := os.Getenv("BENCH_CPUPROFILE")
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path + suffix)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return sync.OnceFunc(func() { pprof.StopCPUProfile(); f.Close() }), nil
}

// selfCPU is the CPU time (user and system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// bareLoop publishes, fetches and acks n messages one at a time on a
// work-queue stream of the same server: the least a job can cost.
func bareLoop(ctx context.Context, b *bed, n int) (float64, error) {
	s, err := b.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "BARE", Subjects: []string{"bare.>"},
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
		if _, err := b.JS.Publish(ctx, "bare.job", payload); err != nil {
			return 0, err
		}
		batch, err := c.Fetch(1)
		if err != nil {
			return 0, err
		}
		for m := range batch.Messages() {
			if err := m.Ack(); err != nil {
				return 0, err
			}
		}
		if err := batch.Error(); err != nil {
			return 0, fmt.Errorf("fetch %d: %w", i, err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
