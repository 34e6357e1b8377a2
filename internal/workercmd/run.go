// Package workercmd is the worker process: configuration, start-up checks,
// health and metrics endpoints, dev mode, and graceful shutdown around
// worker.Worker. cmd/worker only calls Main.
package workercmd

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/offboard-dev/genesys-deactivator/internal/ingresscmd"
	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/internal/relaycmd"
	"github.com/offboard-dev/genesys-deactivator/internal/zaplog"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget/genesysbudget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// Main runs the worker command with args (without the program name) and
// returns its exit status: 0 after a clean shutdown, 1 when the worker
// could not start or stopped on an error, 2 for bad flags or configuration.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "provision" {
		return provisionMain(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "reconcile" {
		return reconcileMain(ctx, args[1:], stdout, stderr) // reconcile.go
	}
	var cfg Config
	fs := newFlagSet(&cfg, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "worker: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "worker: %v\n", err)
		return 2
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "worker: %v\n", err)
		return 2
	}
	defer log.Sync() //nolint:errcheck
	if err := run(ctx, cfg, log, stdout, newMetrics()); err != nil {
		log.Error("worker stopped", zap.Error(err))
		return 1
	}
	return 0
}

func newLogger(cfg Config, w io.Writer) (*zap.Logger, error) {
	if _, err := zapcore.ParseLevel(cfg.LogLevel); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", cfg.LogLevel)
	}
	format := cfg.LogFormat
	if format == "" {
		format = map[bool]string{true: "console", false: "json"}[cfg.Dev]
	}
	return zaplog.New(w, format, cfg.LogLevel), nil
}

// run starts everything, works until ctx ends, and shuts down in order:
// stop taking jobs, let jobs in flight finish, close the endpoints, drain
// NATS.
func run(ctx context.Context, cfg Config, log *zap.Logger, stdout io.Writer, m *metrics) error {
	if cfg.Dev {
		dev, err := startDev(&cfg, log)
		if err != nil {
			return err
		}
		defer dev.close()
	}
	var running atomic.Pointer[worker.Worker]
	var conn atomic.Pointer[nats.Conn]
	var gc atomic.Pointer[genesys.Client]
	stopHTTP, err := startHTTP(cfg.HTTPListen, m, log, func(ctx context.Context) error { return ready(ctx, &running, &conn, &gc) })
	if err != nil {
		return err
	}
	defer stopHTTP()

	refused := newViolations()
	closer := natsconn.NewCloser()
	nc, err := cfg.NATS.Connect(
		nats.ErrorHandler(refused.handler(log)),
		closer.Option(),
		// While disconnected, a publish fails at once instead of waiting in a buffer to be sent,
		// late, on reconnect, after another worker may have taken the job over.
		nats.ReconnectBufSize(-1),
		natsconn.ReconnectLogs(log),
	)
	if err != nil {
		return err
	}
	defer closer.DrainAndWait(nc)
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	names := jobs.Names{Prefix: cfg.Prefix}
	if err := ensureTopology(ctx, js, cfg.topo(), cfg.Provision, cfg.NATS.UserName(), refused, log); err != nil {
		return err
	}
	m.reg.MustRegister(newConsumerCollector(js, names), newUnstorableGauge(&running),
		newReadyGauge(&running, &conn, &gc), newStreamCollector(js, names), newGuardCollector(js, names)) // fleet_metrics.go
	sched, err := jobs.NewScheduler(js, names, 0)
	if err != nil {
		return err
	}
	m.reg.MustRegister(newPendingCollector(sched))
	sinkURL, ingressText := "", ""
	if cfg.Dev {
		// The relay delivers every audit event, signed, to a sink that verifies and prints it.
		relay, err := relaycmd.StartDev(ctx, relaycmd.DevConfig{JetStream: js, Prefix: cfg.Prefix, Out: stdout, Logger: log.Named("relay")})
		if err != nil {
			return fmt.Errorf("dev relay: %w", err)
		}
		defer relay.Stop()
		sinkURL = relay.URL
		// The ingress takes webhooks on loopback, with dev fixtures as secrets.
		in, err := ingresscmd.StartDev(ctx, ingresscmd.DevConfig{JetStream: js, Prefix: cfg.Prefix, Listen: cfg.DevIngressListen, Logger: log.Named("ingress")})
		if err != nil {
			return fmt.Errorf("dev ingress: %w", err)
		}
		defer in.Stop()
		ingressText = in.Describe()
	}

	// One rate budget per OAuth client, shared by the whole fleet through NATS KV.
	kv, err := js.KeyValue(ctx, names.BudgetBucket())
	if err != nil {
		return fmt.Errorf("open bucket %s: %w", names.BudgetBucket(), err)
	}
	budgetMetrics, err := budget.NewMetrics(m.reg)
	if err != nil {
		return err
	}
	fleet, err := budget.New(budget.Config{KV: kv, Key: cfg.ClientID, WorkerID: cfg.WorkerID, Limit: cfg.RatePerMinute,
		Window: time.Minute, MaxFleet: cfg.MaxFleet, Logger: log.Named("budget"), Metrics: budgetMetrics})
	if err != nil {
		return err
	}
	defer fleet.Close()
	client, err := newGenesysClient(cfg, m, log, genesysbudget.New(fleet))
	if err != nil {
		return err
	}
	gc.Store(client)
	if !cfg.SkipSelfCheck {
		if err := selfCheck(ctx, client, cfg.checkedSteps(), log); err != nil {
			return err
		}
	}
	wc := cfg.workerConfig()
	wc.Names, wc.JetStream, wc.Genesys, wc.Logger, wc.Observer = names, js, client, log, observer{m}
	w, err := worker.New(ctx, wc)
	if err != nil {
		return err
	}
	stopDrift, err := startDrift(ctx, cfg, names, js, client, m, log) // --drift-watch (drift.go)
	if err != nil {
		return err
	}
	defer stopDrift()
	stopCheckpointer, err := startCheckpointer(ctx, cfg, names, js, m, log) // --audit-checkpoint-key (checkpoint.go)
	if err != nil {
		return err
	}
	defer stopCheckpointer()
	running.Store(w)
	conn.Store(nc)
	log.Info("worker started", zap.String("nats", nc.ConnectedUrlRedacted()), zap.String("genesys", client.BaseURL()),
		zap.Int("concurrency", cfg.Concurrency), zap.String("prefix", names.Prefix))
	if cfg.Dev {
		startedDev(stdout, cfg, sinkURL, ingressText)
	}
	err = w.Run(ctx)
	log.Info("worker stopped taking jobs; jobs in flight are finished or handed back")
	return err
}

// ready reports why the worker should not get traffic, or nil.
func ready(ctx context.Context, w *atomic.Pointer[worker.Worker], c *atomic.Pointer[nats.Conn], gc *atomic.Pointer[genesys.Client]) error {
	cur, nc := w.Load(), c.Load()
	if cur == nil || nc == nil {
		return errors.New("starting")
	}
	if !nc.IsConnected() {
		return errors.New("NATS is not connected")
	}
	if err := grantHealth(gc.Load()); err != nil {
		return err
	}
	if paused, why := cur.Paused(ctx); paused {
		return fmt.Errorf("paused: %s", why)
	}
	if err := cur.ResultsUnstorable(); err != nil {
		return fmt.Errorf("results cannot be stored: %w", err)
	}
	return nil
}

// grantHealth fails while the latest token grant failed or timed out: no
// request can succeed then (review D10).
func grantHealth(c *genesys.Client) error {
	if c == nil {
		return nil
	}
	if g := c.LastGrant(); g.Err != nil {
		return fmt.Errorf("the OAuth token grant fails (latest grant %s): %w", g.At.UTC().Format(time.RFC3339), g.Err)
	}
	return nil
}

func newGenesysClient(cfg Config, m *metrics, log *zap.Logger, limiter genesys.Limiter) (*genesys.Client, error) {
	target := cfg.BaseURL
	if target == "" {
		target = cfg.Region
	}
	opts := []genesys.Option{
		genesys.WithCredentials(cfg.ClientID, cfg.ClientSecret),
		genesys.WithLimiter(limiter),
		genesys.WithGrantObserver(m.observeGrant),
		genesys.WithGrantTimeout(cmp.Or(cfg.GrantTimeout, genesys.DefaultGrantTimeout)),
		// Each job in flight (Concurrency, and the slot kept for urgent jobs) sends one request at a time.
		genesys.WithHTTPClient(&http.Client{Transport: countingTransport{next: genesys.NewTransport(cfg.Concurrency + 1), m: m}}),
	}
	if cfg.TokenURL != "" {
		opts = append(opts, genesys.WithTokenURL(cfg.TokenURL))
	}
	if cfg.InsecureHTTP {
		opts = append(opts, genesys.WithInsecureHTTP())
		log.Warn("--insecure-http: the Genesys client secret and tokens may cross the network in clear text")
	}
	c, err := genesys.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("genesys client: %w", err)
	}
	return c, nil
}
