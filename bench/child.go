package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
)

// WorkerChild runs one worker for the overhead benchmark in its own process,
// so that its peak RSS is its own; the parent passes the addresses in the
// environment and ends it with SIGTERM. BENCH_CPUPROFILE and
// BENCH_MEMPROFILE, when set, name files that receive the worker's CPU
// profile and its allocation profile at exit (suffixed .kv or .mem).
func WorkerChild(ctx context.Context) error {
	natsURL, simURL := os.Getenv("BENCH_NATS_URL"), os.Getenv("BENCH_SIM_URL")
	if natsURL == "" || simURL == "" {
		return errors.New("worker-child is started by the overhead benchmark")
	}
	store := os.Getenv("BENCH_STORE")
	stopProfile, err := startCPUProfile("." + store)
	if err != nil {
		return err
	}
	defer stopProfile()
	if path := os.Getenv("BENCH_MEMPROFILE"); path != "" {
		defer func() {
			if f, err := os.Create(path + "." + store); err == nil {
				runtime.GC()
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	limit, _ := strconv.Atoi(os.Getenv("BENCH_LIMIT"))
	conc, _ := strconv.Atoi(os.Getenv("BENCH_CONCURRENCY"))
	b := childBed(natsURL, simURL)
	wc := workerConfig{id: "child", concurrency: conc, log: zap.NewNop(),
		budget: budget.Config{Limit: limit, Window: time.Second, MaxClockSkew: time.Millisecond,
			MaxSendJitter: 50 * time.Millisecond, Burst: min(1000, limit/2)}}
	if store == "mem" {
		wc.memStore = budget.NewMemStore()
	}
	stop, err := b.startWorker(ctx, wc)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop()
	if kib, ok := peakRSSKiB(); ok {
		fmt.Printf("%s %d\n", peakRSSLine, kib)
	}
	return nil
}

// peakRSSLine starts the line on which the worker child reports its peak
// RSS to the parent.
const peakRSSLine = "worker-peak-rss-kib"

// peakRSSKiB is this process's own peak RSS: VmHWM, the high-water mark of
// the address space it got at exec. (The rusage the parent reads after wait
// is no good: Linux starts a child's ru_maxrss with the RSS of the address
// space exec replaced, which for a vforked Go child is the parent's, NATS
// server and simulator included.)
func peakRSSKiB() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
