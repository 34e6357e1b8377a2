package ingresscmd

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/internal/zaplog"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/ingress"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// runConfig is `ingress run`.
type runConfig struct {
	NATS            natsconn.Options
	Config          string
	Prefix          string
	Source          string
	Listen          string
	TLSCertFile     string
	TLSKeyFile      string
	InsecureHTTP    bool
	AdminListen     string
	ShutdownTimeout time.Duration
	PublishTimeout  time.Duration
	LogFormat       string
	LogLevel        string
}

func newRunFlags(c *runConfig, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ingress run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: ingress run --config ingress.json [flags]\n\nServes /v1/sources/<name> for the sources of the config file until SIGINT or SIGTERM.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	c.NATS.RegisterFlags(fs)
	fs.StringVar(&c.Config, "config", envdefault.String("GENESYS_INGRESS_CONFIG", ""), "JSON file of sources; secrets come from the files it names (env GENESYS_INGRESS_CONFIG)")
	fs.StringVar(&c.Prefix, "prefix", envdefault.String("GENESYS_PREFIX", audit.DefaultPrefix), "subject prefix of the deployment, unless the config file sets one: jobs on <prefix>.jobs.* (env GENESYS_PREFIX)")
	fs.StringVar(&c.Source, "source", envdefault.String("GENESYS_SOURCE", audit.DefaultSource), "CloudEvents source of the ingress's ops events; use the workers' (env GENESYS_SOURCE)")
	fs.StringVar(&c.Listen, "listen", envdefault.String("GENESYS_INGRESS_LISTEN", ":8443"), "address of the webhook endpoint (env GENESYS_INGRESS_LISTEN)")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", envdefault.String("GENESYS_INGRESS_TLS_CERT_FILE", ""), "PEM certificate chain served on --listen (env GENESYS_INGRESS_TLS_CERT_FILE)")
	fs.StringVar(&c.TLSKeyFile, "tls-key-file", envdefault.String("GENESYS_INGRESS_TLS_KEY_FILE", ""), "PEM private key of --tls-cert-file (env GENESYS_INGRESS_TLS_KEY_FILE)")
	fs.BoolVar(&c.InsecureHTTP, "insecure-http", envdefault.Bool("GENESYS_INGRESS_INSECURE_HTTP"), "serve plain HTTP on --listen, for a TLS-terminating load balancer in front (env GENESYS_INGRESS_INSECURE_HTTP)")
	fs.StringVar(&c.AdminListen, "admin-listen", envdefault.String("GENESYS_INGRESS_ADMIN_LISTEN", ":8081"), "address of /healthz, /readyz and /metrics; empty to disable (env GENESYS_INGRESS_ADMIN_LISTEN)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", envdefault.Duration("GENESYS_INGRESS_SHUTDOWN_TIMEOUT", 20*time.Second), "on SIGTERM, how long requests in flight may finish (env GENESYS_INGRESS_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.PublishTimeout, "publish-timeout", envdefault.Duration("GENESYS_INGRESS_PUBLISH_TIMEOUT", ingress.DefaultPublishTimeout), "how long one request may wait for its jobs' PubAcks before answering 503 (env GENESYS_INGRESS_PUBLISH_TIMEOUT)")
	fs.StringVar(&c.LogFormat, "log-format", envdefault.String("GENESYS_LOG_FORMAT", "json"), "json or console (env GENESYS_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", envdefault.String("GENESYS_LOG_LEVEL", "info"), "debug, info, warn or error (env GENESYS_LOG_LEVEL)")
	return fs
}

// load validates the flags and reads the config file; its errors never carry a secret.
func (c *runConfig) load(args []string) (ingress.Config, error) {
	var errs []error
	if len(args) > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", args))
	}
	if err := c.NATS.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		errs = append(errs, fmt.Errorf("--log-format %q: want json or console", c.LogFormat))
	}
	if _, err := zapcore.ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	switch {
	case c.InsecureHTTP && (c.TLSCertFile != "" || c.TLSKeyFile != ""):
		errs = append(errs, errors.New("--insecure-http and --tls-cert-file/--tls-key-file exclude each other"))
	case !c.InsecureHTTP && (c.TLSCertFile == "" || c.TLSKeyFile == ""):
		errs = append(errs, errors.New("set --tls-cert-file and --tls-key-file, or --insecure-http behind a TLS-terminating load balancer"))
	case !c.InsecureHTTP:
		if _, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile); err != nil {
			errs = append(errs, fmt.Errorf("--tls-cert-file/--tls-key-file: %w", err))
		}
	}
	if c.Listen == "" {
		errs = append(errs, errors.New("--listen: empty"))
	}
	if c.ShutdownTimeout <= 0 || c.PublishTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-timeout and --publish-timeout must be positive"))
	}
	var cfg ingress.Config
	if c.Config == "" {
		errs = append(errs, errors.New("set --config"))
	} else {
		var err error
		if cfg, err = ingress.LoadConfig(c.Config); err != nil {
			errs = append(errs, err)
		}
	}
	for _, sc := range cfg.Sources { // read now, so that a bad file fails before connecting
		for _, f := range sc.SecretFiles {
			if _, err := ingress.ReadSecretFile(f); err != nil {
				errs = append(errs, fmt.Errorf("source %s: %w", sc.Name, err))
			}
		}
	}
	if cfg.Prefix == "" {
		cfg.Prefix = c.Prefix
	}
	if err := (jobs.Names{Prefix: cfg.Prefix}).Validate(); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

func (c *runConfig) logger(w io.Writer) *zap.Logger {
	return zaplog.New(w, c.LogFormat, c.LogLevel) // the level is checked by load
}

func runCommand(ctx context.Context, args []string, stderr io.Writer) int {
	var c runConfig
	fs := newRunFlags(&c, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, err := c.load(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "ingress run: %v\n", err)
		return 2
	}
	log := c.logger(stderr)
	defer log.Sync() //nolint:errcheck
	if err := run(ctx, c, cfg, log, nil); err != nil {
		log.Error("ingress stopped", zap.Error(err))
		var ce configError
		if errors.As(err, &ce) {
			return 2
		}
		return 1
	}
	return 0
}

// configError is a configuration problem found only once secrets are read.
type configError struct{ error }

func (e configError) Unwrap() error { return e.error }

// run serves until ctx ends, then stops accepting, lets requests in flight finish within the
// shutdown timeout and drains NATS. started, when set, hears the addresses once both listen.
func run(ctx context.Context, c runConfig, cfg ingress.Config, log *zap.Logger, started func(addr, admin string)) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
	srv, err := ingress.New(cfg, js, log, ingress.WithRegisterer(reg), ingress.WithOrigin(audit.Origin{Source: c.Source}),
		ingress.WithPublishTimeout(c.PublishTimeout))
	if err != nil {
		return configError{err}
	}
	adminAddr, stopAdmin, err := serveAdmin(c.AdminListen, srv, reg, log)
	if err != nil {
		return err
	}
	defer stopAdmin()
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", c.Listen, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30*time.Second + c.PublishTimeout, IdleTimeout: 2 * time.Minute,
		ErrorLog: zap.NewStdLog(log.Named("http"))}
	served := make(chan error, 1)
	if c.InsecureHTTP {
		log.Warn("--insecure-http: serving plain HTTP; only behind a load balancer that terminates TLS", zap.String("addr", ln.Addr().String()))
		go func() { served <- hs.Serve(ln) }()
	} else {
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		go func() { served <- hs.ServeTLS(ln, c.TLSCertFile, c.TLSKeyFile) }()
	}
	log.Info("ingress serving", zap.String("addr", ln.Addr().String()), zap.Bool("tls", !c.InsecureHTTP), zap.Int("sources", len(cfg.Sources)))
	if started != nil {
		started(ln.Addr().String(), adminAddr)
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", c.Listen, err)
	case <-ctx.Done():
	}
	log.Info("ingress stopping: finishing requests in flight", zap.Duration("timeout", c.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("shutdown: requests still in flight after %s: %w", c.ShutdownTimeout, err)
	}
	<-served
	return nil
}

// serveAdmin serves /healthz (the process is up), /readyz (NATS connected and the jobs stream
// answers) and /metrics on addr; "" serves nothing.
func serveAdmin(addr string, srv *ingress.Server, reg *prometheus.Registry, log *zap.Logger) (string, func(), error) {
	if addr == "" {
		return "", func() {}, nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := srv.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+strings.ReplaceAll(err.Error(), "\n", " "), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--admin-listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin http server", zap.Error(err))
		}
	}()
	log.Info("serving /healthz /readyz /metrics", zap.String("addr", ln.Addr().String()))
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		<-done
	}, nil
}
