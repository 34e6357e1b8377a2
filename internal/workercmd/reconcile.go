package workercmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/internal/reconcile"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget/genesysbudget"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// reconcileFlags are the flags of `worker reconcile` beyond the worker's own.
type reconcileFlags struct {
	HR          string
	InputFormat string
	Enqueue     bool
	Share       string
	Format      string
	Timeout     time.Duration
}

// reconcileMain is `worker reconcile --hr FILE`: the HR termination list against Genesys and
// the audit stream (issue 18). It runs as the worker, with the worker's flags and environment
// (the Genesys client, its secret file, the fleet budget, NATS): genesysctl holds no Genesys
// credentials, and an operator's tool must not link the Genesys client (internal/layering).
// Exit status: 0 the report is complete; 1 NATS or a lookup failed (rows of class "error"); 2
// bad flags or a bad HR file, in which case nothing was read or published.
func reconcileMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg Config
	var rf reconcileFlags
	fs := newFlagSet(&cfg, stderr)
	fs.Usage = func() { reconcileUsage(fs, stderr) }
	fs.StringVar(&rf.HR, "hr", "", "the HR termination list: CSV with a header, or JSON lines; - for stdin. Each row names the user as enqueue's --file does (id or user_id, external_id, user_name or email) and its terminated_at (RFC 3339 or a date)")
	fs.StringVar(&rf.InputFormat, "hr-format", enqueue.FormatAuto, "the list's format: auto (by extension, else by the first byte), csv or jsonl")
	fs.BoolVar(&rf.Enqueue, "enqueue", false, "publish a deactivation job for each person still active, with an id derived from the HR row (a second run publishes nothing new); requested_by \"reconcile\", the reason names the termination time")
	fs.StringVar(&rf.Share, "share", "10%", "the share of --rate-per-minute the reconciliation may use, as a percentage (10%) or a fraction (0.1); its calls also pass the fleet budget")
	fs.StringVar(&rf.Format, "format", reconcile.FormatCSV, "the report's format: csv (the summary goes to stderr), json (JSON lines, then {\"summary\":…}) or md")
	fs.DurationVar(&rf.Timeout, "timeout", 0, "stop after this long (0: no limit; at 10% of 300 requests a minute, 10,000 rows looked up by id take about 5.5 hours)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "worker reconcile: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fail := func(err error) int { fmt.Fprintf(stderr, "worker reconcile: %v\n", err); return 2 }
	if cfg.Dev {
		return fail(errors.New("--dev runs a whole deployment; run reconcile against a running one"))
	}
	if rf.HR == "" {
		return fail(errors.New("set --hr FILE"))
	}
	share, err := drift.ParseShare(rf.Share)
	if err != nil {
		return fail(fmt.Errorf("--share %q: %w", rf.Share, err))
	}
	out, err := reconcile.NewWriter(rf.Format, stdout, stderr)
	if err != nil {
		return fail(err)
	}
	switch rf.InputFormat {
	case enqueue.FormatAuto, enqueue.FormatCSV, enqueue.FormatJSONL:
	default:
		return fail(fmt.Errorf("--hr-format %q: want auto, csv or jsonl", rf.InputFormat))
	}
	if err := cfg.validate(); err != nil {
		return fail(err)
	}
	list, err := enqueue.ReadHR(rf.HR, rf.InputFormat, os.Stdin)
	if err != nil {
		return fail(fmt.Errorf("--hr: %w", err))
	}
	if bad := hrProblems(list); len(bad) > 0 {
		name := rf.HR
		if name == "-" {
			name = "stdin"
		}
		for _, line := range bad {
			fmt.Fprintf(stderr, "%s: %s\n", name, line)
		}
		return fail(fmt.Errorf("%s: %d invalid %s; nothing was read or published", name, len(bad), plural(len(bad), "row", "rows")))
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return fail(err)
	}
	defer log.Sync() //nolint:errcheck
	if rf.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rf.Timeout)
		defer cancel()
	}
	s, err := runReconcile(ctx, cfg, rf, share, list, out, log)
	if err != nil {
		fmt.Fprintf(stderr, "worker reconcile: %v\n", err)
		return 1
	}
	if s.Classes[reconcile.Failed] > 0 {
		return 1
	}
	return 0
}

// hrProblems lists each problem of the list's invalid rows as "line N: field: problem".
func hrProblems(list enqueue.HRList) []string {
	var out []string
	for _, r := range list.Rows {
		for _, p := range r.Problems {
			if p.Field == "" {
				out = append(out, fmt.Sprintf("line %d: %s", r.Line, p.Message))
			} else {
				out = append(out, fmt.Sprintf("line %d: %s: %s", r.Line, p.Field, p.Message))
			}
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// runReconcile connects to NATS, builds the Genesys client behind the share limiter and the
// fleet budget, and writes the report.
func runReconcile(ctx context.Context, cfg Config, rf reconcileFlags, share float64, list enqueue.HRList, out *reconcile.Writer, log *zap.Logger) (reconcile.Summary, error) {
	closer := natsconn.NewCloser()
	nc, err := cfg.NATS.Connect(closer.Option())
	if err != nil {
		return reconcile.Summary{}, err
	}
	defer closer.DrainAndWait(nc)
	js, err := jetstream.New(nc)
	if err != nil {
		return reconcile.Summary{}, fmt.Errorf("jetstream: %w", err)
	}
	names := jobs.Names{Prefix: cfg.Prefix}
	kv, err := js.KeyValue(ctx, names.BudgetBucket())
	if err != nil {
		return reconcile.Summary{}, fmt.Errorf("open bucket %s: %w", names.BudgetBucket(), err)
	}
	if cfg.WorkerID == "" {
		host, _ := os.Hostname()
		cfg.WorkerID = fmt.Sprintf("reconcile-%s-%d", host, os.Getpid())
	}
	fleet, err := budget.New(budget.Config{KV: kv, Key: cfg.ClientID, WorkerID: cfg.WorkerID, Limit: cfg.RatePerMinute,
		Window: time.Minute, MaxFleet: cfg.MaxFleet, Logger: log.Named("budget")})
	if err != nil {
		return reconcile.Summary{}, err
	}
	defer fleet.Close()
	limiter := reconcile.NewShareLimiter(cfg.RatePerMinute, share, genesysbudget.New(fleet))
	client, err := newGenesysClient(cfg, newMetrics(), log, limiter)
	if err != nil {
		return reconcile.Summary{}, err
	}
	r, err := reconcile.New(ctx, reconcile.Config{Names: names, JetStream: js, Genesys: client.WithPriority(priority.Normal),
		Enqueue: rf.Enqueue, Calls: limiter.Calls})
	if err != nil {
		return reconcile.Summary{}, err
	}
	log.Info("reconciling the HR termination list", zap.Int("rows", len(list.Rows)), zap.Float64("calls_per_minute", limiter.PerMinute()),
		zap.Bool("enqueue", rf.Enqueue))
	s, err := r.Run(ctx, list, out.Row)
	if err != nil {
		return s, err
	}
	return s, out.Summary(s)
}

func reconcileUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, `Usage: worker reconcile --hr FILE [--enqueue] [--share 10%] [--format csv|json|md] [worker flags]

Checks an HR termination list against Genesys Cloud and the audit stream, and reports each
person: deactivated_by_us (with the audit event), inactive_not_by_us, still_active (a finding),
not_found, or error. It runs with the worker's configuration (the same flags and environment:
Genesys client and secret file, rate budget); its Genesys calls take --share of the fleet's
--rate-per-minute and pass the fleet budget. Connect to NATS as the operator user: it reads the
audit stream's user events and, with --enqueue, publishes a normal deactivation job for each
person still active, which the worker user may not.

Example:

  worker reconcile --hr terminations.csv --format md \
         --region eu-central-1 --client-id ID --client-secret-file /run/secrets/genesys \
         --nats-url nats://nats:4222 --nats-creds ~/.nats/operator.creds

Flags (the reconcile flags first; the worker's flags apply as for the worker):
`)
	own := map[string]bool{"hr": true, "hr-format": true, "enqueue": true, "share": true, "format": true, "timeout": true}
	fs.VisitAll(func(f *flag.Flag) {
		if own[f.Name] {
			fmt.Fprintf(w, "  --%s\n      %s\n", f.Name, strings.ReplaceAll(f.Usage, "\n", "\n      "))
		}
	})
	fmt.Fprint(w, "\nExit status: 0 the report is complete; 1 NATS or a lookup failed; 2 bad flags or a bad HR file (nothing read or published).\n")
}
