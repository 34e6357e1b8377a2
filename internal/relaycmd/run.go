package relaycmd

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/internal/httpserve"
	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// runConfig is `relay run`.
type runConfig struct {
	common
	Config          string
	HTTPListen      string
	DeadStream      string
	Replicas        int
	MonitorInterval time.Duration
	ShutdownTimeout time.Duration
}

func newRunFlags(c *runConfig, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("relay run", "Usage: relay run --config relay.json [flags]\n\nDelivers audit events to the endpoints of the config file until SIGINT or SIGTERM.\n", stderr)
	c.common.register(fs)
	fs.StringVar(&c.Config, "config", envdefault.String("GENESYS_RELAY_CONFIG", ""), "JSON file of endpoints; secrets come from the files or variables it names (env GENESYS_RELAY_CONFIG)")
	fs.StringVar(&c.HTTPListen, "http", envdefault.String("GENESYS_RELAY_HTTP", "127.0.0.1:8081"), "address of /healthz and /metrics; empty to disable (env GENESYS_RELAY_HTTP)")
	fs.StringVar(&c.DeadStream, "dead-stream", envdefault.String("GENESYS_RELAY_DEAD_STREAM", ""), "stream relay dead letters must land in; defaults to the prefix's, GENESYS_DEAD (env GENESYS_RELAY_DEAD_STREAM)")
	fs.IntVar(&c.Replicas, "replicas", envdefault.Int("GENESYS_REPLICAS", 1), "replicas of the state bucket when the relay creates it (env GENESYS_REPLICAS)")
	fs.DurationVar(&c.MonitorInterval, "monitor-interval", envdefault.Duration("GENESYS_RELAY_MONITOR_INTERVAL", 30*time.Second), "how often to measure each endpoint's backlog (env GENESYS_RELAY_MONITOR_INTERVAL)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", envdefault.Duration("GENESYS_RELAY_SHUTDOWN_TIMEOUT", 20*time.Second), "on SIGTERM, how long deliveries in flight may finish (env GENESYS_RELAY_SHUTDOWN_TIMEOUT)")
	return fs
}

// load validates the flags and reads the endpoint file. Its errors never carry a secret.
func loadEndpoints(c *common, path string, getenv func(string) string) ([]relay.Endpoint, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("set --config")
	}
	eps, err := loadFile(path, getenv)
	if err != nil {
		return nil, err
	}
	return eps, relay.CheckEndpoints(c.Prefix, eps)
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c runConfig
	fs := newRunFlags(&c, stderr)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	eps, err := loadEndpoints(&c.common, c.Config, getenv)
	if err == nil && (fs.NArg() > 0 || c.Replicas < 1 || c.MonitorInterval <= 0 || c.ShutdownTimeout <= 0) {
		err = errors.New("unexpected arguments, or --replicas below 1, or a --monitor-interval or --shutdown-timeout that is not positive")
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay run: %v\n", err)
		return 2
	}
	log := c.logger(stderr)
	defer log.Sync() //nolint:errcheck
	if err := run(ctx, c, eps, log); err != nil {
		log.Error("relay stopped", zap.Error(err))
		return 1
	}
	return 0
}

func run(ctx context.Context, c runConfig, eps []relay.Endpoint, log *zap.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := NewMetrics(reg)
	stopHTTP, err := serveHTTP(c.HTTPListen, reg, log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	closer := natsconn.NewCloser()
	nc, err := c.NATS.Connect(
		closer.Option(),
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
	cfg := c.relayConfig()
	cfg.JetStream, cfg.Endpoints, cfg.Logger, cfg.Observer = js, eps, log, metrics
	cfg.DeadStream = cmp.Or(c.DeadStream, jobs.Names{Prefix: c.Prefix}.DeadStream())
	cfg.Replicas, cfg.MonitorInterval, cfg.ShutdownTimeout = c.Replicas, c.MonitorInterval, c.ShutdownTimeout
	r, err := newRelay(ctx, cfg, log)
	if err != nil {
		return err
	}
	for _, ep := range eps {
		if ep.AllowHTTP {
			log.Warn("allow_http: events and signatures to this endpoint cross the network unencrypted", zap.String("endpoint", ep.Name))
		}
	}
	return r.Run(ctx)
}

// newRelay builds the relay once the audit stream exists (the workers create it: a relay may
// start first), waiting meanwhile, and while JetStream answers that it is busy.
func newRelay(ctx context.Context, cfg relay.Config, log *zap.Logger) (*relay.Relay, error) {
	var logged time.Time
	for {
		_, err := cfg.JetStream.Stream(ctx, cfg.AuditStream)
		var r *relay.Relay
		if err == nil {
			r, err = relay.New(ctx, cfg)
		}
		if err == nil || ctx.Err() != nil || !(errors.Is(err, jetstream.ErrStreamNotFound) || jobs.RetryableJetStreamError(err)) {
			return r, err
		}
		if time.Since(logged) > 30*time.Second {
			log.Warn("waiting for the audit stream and JetStream (the workers create the stream)", zap.Error(err))
			logged = time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// serveHTTP serves /healthz and /metrics on addr; "" serves nothing. The returned function stops
// the server.
func serveHTTP(addr string, reg *prometheus.Registry, log *zap.Logger) (func(), error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return httpserve.Start(addr, mux, "/healthz and /metrics", log)
}
