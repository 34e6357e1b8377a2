package bench

import (
	"context"
	"errors"
	"os"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
)

// WorkerChild runs one worker for the overhead benchmark in its own process,
// so that its peak RSS is its own; the parent passes the addresses in the
// environment and ends it with SIGTERM.
func WorkerChild(ctx context.Context) error {
	natsURL, simURL := os.Getenv("BENCH_NATS_URL"), os.Getenv("BENCH_SIM_URL")
	if natsURL == "" || simURL == "" {
		return errors.New("worker-child is started by the overhead benchmark")
	}
	limit, _ := strconv.Atoi(os.Getenv("BENCH_LIMIT"))
	conc, _ := strconv.Atoi(os.Getenv("BENCH_CONCURRENCY"))
	b := childBed(natsURL, simURL)
	wc := workerConfig{id: "child", concurrency: conc, log: zap.NewNop(),
		budget: budget.Config{Limit: limit, Window: time.Second, MaxClockSkew: time.Millisecond,
			MaxSendJitter: 50 * time.Millisecond, Burst: min(1000, limit/2)}}
	if os.Getenv("BENCH_STORE") == "mem" {
		wc.memStore = budget.NewMemStore()
	}
	stop, err := b.startWorker(ctx, wc)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop()
	return nil
}
