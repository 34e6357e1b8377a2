package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// Run runs the benchmark named by args[0] (fleet, overhead, latency, plan, schedule, drift,
// reconcile, report, ingress, baseline) with the flags that follow, and prints its result as one line
// of JSON on stdout.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: bench fleet|overhead|latency|plan|schedule|drift|reconcile|report|ingress|baseline [flags]")
	}
	if args[0] == "worker-child" {
		return WorkerChild(ctx)
	}
	if args[0] == "report-child" {
		return ReportChild(ctx)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("limit", 100, "budget and simulator limit per window")
	window := fs.Duration("window", time.Second, "budget and simulator window")
	sizes := fs.String("sizes", "1,2,4,8", "fleet: fleet sizes")
	windows := fs.Int("windows", 4, "fleet: full windows measured after the first")
	n := fs.Int("jobs", 20000, "overhead, schedule: jobs; ingress: events per run")
	ahead := fs.Duration("ahead", 20*time.Second, "schedule: how far ahead the jobs are scheduled, all for the same instant")
	conc := fs.Int("concurrency", 4, "jobs per worker")
	users := fs.Int("users", 1000, "baseline: users")
	idle := fs.Int("idle", 30, "latency: idle samples")
	backlog := fs.Int("backlog", 10000, "latency: normal jobs queued behind which urgent ones are timed (0: skip)")
	urgent := fs.Int("urgent", 100, "latency: urgent samples")
	every := fs.Duration("urgent-every", 3*time.Second, "latency, plan: spacing of urgent jobs")
	steps := fs.String("steps", "all", "plan, schedule: the workers' optional steps, comma-separated, all or none")
	costUsers := fs.Int("cost-users", 20, "plan: agents offboarded one at a time to count the calls per user")
	verify := fs.Bool("verify", true, "plan: the read-back after each access cut (worker --verify)")
	verifyDelay := fs.Duration("verify-delay", 2*time.Second, "plan: the read-back's delay (worker --verify-delay)")
	watched := fs.Int("watched", 10000, "drift: users on the watch list")
	share := fs.Float64("share", 0.05, "drift: the watch's share of the budget")
	measure := fs.Duration("measure", 4*time.Minute, "drift, reconcile: how long the call rate is measured")
	rows := fs.Int("rows", 10000, "reconcile: people on the HR list")
	events := fs.Int("events", 1_000_000, "report: audit events generated")
	runs := fs.Int("runs", 2, "report: reports over them, each in its own process; ingress: runs of each kind")
	batchSize := fs.Int("batch", 50, "ingress: events per JSON-lines request")
	ingressBin := fs.String("ingress-bin", "", "ingress: an ingress binary to run (default: go build ./cmd/ingress)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	log := zap.NewNop()
	var out any
	var err error
	switch args[0] {
	case "fleet":
		var ns []int
		for _, s := range strings.Split(*sizes, ",") {
			v, perr := strconv.Atoi(strings.TrimSpace(s))
			if perr != nil {
				return perr
			}
			ns = append(ns, v)
		}
		// Skew and jitter allowances scaled like the window (1 s and 50 ms at 60 s), at least 1 ms.
		scale := func(d time.Duration) time.Duration { return max(time.Millisecond, d*(*window)/time.Minute) }
		out, err = Fleet(ctx, FleetConfig{Sizes: ns, Limit: *limit, Window: *window, Windows: *windows,
			MaxClockSkew: scale(time.Second), Jitter: max(10*time.Millisecond, scale(50*time.Millisecond)), Concurrency: *conc}, log)
	case "overhead":
		out, err = Overhead(ctx, OverheadConfig{Jobs: *n, Concurrency: *conc, Limit: *limit})
	case "latency":
		out, err = Latency(ctx, LatencyConfig{Limit: *limit, Window: *window, IdleSamples: *idle, Backlog: *backlog,
			UrgentSamples: *urgent, UrgentEvery: *every}, log)
	case "plan":
		names := strings.Split(*steps, ",")
		if *steps == "all" {
			names = nil
			for _, s := range worker.OptionalSteps() {
				names = append(names, s.Name)
			}
		}
		out, err = Plan(ctx, PlanConfig{Limit: *limit, Window: *window, Steps: names, CostUsers: *costUsers, Backlog: *backlog,
			UrgentSamples: *urgent, UrgentEvery: *every, Verify: *verify, VerifyDelay: *verifyDelay}, log)
	case "schedule":
		var names []string
		switch *steps {
		case "none":
		case "all":
			for _, s := range worker.OptionalSteps() {
				names = append(names, s.Name)
			}
		default:
			names = strings.Split(*steps, ",")
		}
		out, err = Schedule(ctx, ScheduleConfig{Limit: *limit, Window: *window, Steps: names, Jobs: *n, Ahead: *ahead}, log)
	case "drift":
		out, err = Drift(ctx, DriftConfig{Watched: *watched, Limit: *limit, Window: *window, Share: *share, Measure: *measure,
			LeaverEvery: *every}, log)
	case "reconcile":
		out, err = Reconcile(ctx, ReconcileConfig{Rows: *rows, Limit: *limit, Window: *window, Share: *share, Measure: *measure,
			LeaverEvery: *every}, log)
	case "report":
		out, err = Report(ctx, ReportConfig{Events: *events, Runs: *runs})
	case "ingress":
		out, err = Ingress(ctx, IngressConfig{Events: *n, Batch: *batchSize, Concurrency: *conc, Runs: *runs, Binary: *ingressBin})
	case "baseline":
		out, err = Baseline(ctx, BaselineConfig{Users: *users, Limit: *limit, Window: *window, Threads: 3}, log)
	default:
		return fmt.Errorf("unknown benchmark %q", args[0])
	}
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	line, _ := json.Marshal(map[string]any{"bench": args[0], "args": args[1:], "result": out,
		"machine": fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		"at":      time.Now().UTC().Format(time.RFC3339)})
	_, err = fmt.Fprintln(stdout, string(line))
	return err
}
