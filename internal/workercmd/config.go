package workercmd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// Config is everything the worker process is told, by flags or by the
// environment variable named in each flag's usage. Secrets may also come
// from files.
type Config struct {
	Dev           bool
	DevNATSListen string
	DevSimListen  string
	DevDataDir    string
	// DevIngressListen is where --dev serves the ingress (plain HTTP, loopback).
	DevIngressListen string

	NATS      natsconn.Options
	Prefix    string
	Replicas  int
	Provision string // provisionAuto or provisionVerify

	Region           string
	BaseURL          string
	TokenURL         string
	InsecureHTTP     bool
	GrantTimeout     time.Duration
	ClientID         string
	ClientSecret     string
	ClientSecretFile string
	RatePerMinute    int
	MaxFleet         int

	WorkerID        string
	Concurrency     int
	MaxAttempts     int
	AckWait         time.Duration
	ShutdownTimeout time.Duration
	ProbeInterval   time.Duration
	ScheduledKeep   time.Duration
	ProtectRoles    string
	ProtectUsers    string
	SkipSelfCheck   bool
	GuardLimit      int
	GuardUrgent     int
	GuardWindow     time.Duration
	GuardReactivate int
	RemoveGrants    bool
	SnapshotGrants  bool
	SnapshotQueues  bool
	Steps           string
	OAuthClients    string

	HTTPListen string
	LogFormat  string
	LogLevel   string

	deleteFlags     // --delete-after, --delete-method, --guard-delete-limit (delete.go)
	verifyFlags     // --verify, --verify-delay, --on-unverified (verify.go)
	driftFlags      // --drift-watch, --drift-days, --drift-share, --drift-policy (drift.go)
	checkpointFlags // --audit-checkpoint-key, -every, -interval (checkpoint.go)
}

// newFlagSet declares every flag, with its environment variable and default.
func newFlagSet(c *Config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(fs, stderr) }

	fs.BoolVar(&c.Dev, "dev", envdefault.Bool("GENESYS_DEV"), "run everything on this machine: an embedded NATS server, the Genesys simulator with a seeded org, and the worker (env GENESYS_DEV)")
	fs.StringVar(&c.DevNATSListen, "dev-nats-listen", envdefault.String("GENESYS_DEV_NATS_LISTEN", "127.0.0.1:4222"), "--dev: address of the embedded NATS server; port 0 picks a free one (env GENESYS_DEV_NATS_LISTEN)")
	fs.StringVar(&c.DevSimListen, "dev-sim-listen", envdefault.String("GENESYS_DEV_SIM_LISTEN", "127.0.0.1:8089"), "--dev: address of the Genesys simulator; port 0 picks a free one (env GENESYS_DEV_SIM_LISTEN)")
	fs.StringVar(&c.DevIngressListen, "dev-ingress-listen", envdefault.String("GENESYS_DEV_INGRESS_LISTEN", "127.0.0.1:8088"), "--dev: loopback address of the ingress (plain HTTP, dev secrets); port 0 picks a free one (env GENESYS_DEV_INGRESS_LISTEN)")
	fs.StringVar(&c.DevDataDir, "dev-data-dir", envdefault.String("GENESYS_DEV_DATA_DIR", ".dev"), "--dev: folder for the embedded NATS server's JetStream data (env GENESYS_DEV_DATA_DIR)")

	c.NATS.RegisterFlags(fs)
	registerTopo(fs, &c.Prefix, &c.Replicas, &c.AckWait)
	fs.StringVar(&c.Provision, "provision", envdefault.String("GENESYS_PROVISION", provisionAuto), "at start, verify the streams, consumers and buckets and refuse to run on a different topology; auto: first provision what is missing or different when the NATS user may (else stop, naming the difference); verify: never provision (run `worker provision` as the provisioning user) (env GENESYS_PROVISION)")

	fs.StringVar(&c.Region, "region", envdefault.String("GENESYS_REGION", ""), "Genesys Cloud region, by AWS name (us-east-1) or host (mypurecloud.com) (env GENESYS_REGION)")
	fs.StringVar(&c.BaseURL, "base-url", envdefault.String("GENESYS_BASE_URL", ""), "explicit Genesys API base URL instead of a region, e.g. a proxy or the simulator (env GENESYS_BASE_URL)")
	fs.StringVar(&c.TokenURL, "token-url", envdefault.String("GENESYS_TOKEN_URL", ""), "explicit OAuth token URL; defaults to the region's or base URL's login host (env GENESYS_TOKEN_URL)")
	fs.BoolVar(&c.InsecureHTTP, "insecure-http", envdefault.Bool("GENESYS_INSECURE_HTTP"), "allow plain http to a non-loopback Genesys base URL (a simulator in a container network); logs a warning (env GENESYS_INSECURE_HTTP)")
	fs.DurationVar(&c.GrantTimeout, "grant-timeout", envdefault.Duration("GENESYS_GRANT_TIMEOUT", genesys.DefaultGrantTimeout), "bound on one OAuth token grant: a login host that does not answer in time fails the grant (transient) and /readyz reports it (env GENESYS_GRANT_TIMEOUT)")
	fs.StringVar(&c.ClientID, "client-id", envdefault.String("GENESYS_CLIENT_ID", ""), "OAuth client id of the Genesys client-credentials client (env GENESYS_CLIENT_ID)")
	// The secret's environment value is set after registration, so that it is
	// never shown as a default in the usage text.
	fs.StringVar(&c.ClientSecret, "client-secret", "", "OAuth client secret; prefer --client-secret-file (env GENESYS_CLIENT_SECRET)")
	c.ClientSecret = os.Getenv("GENESYS_CLIENT_SECRET")
	fs.StringVar(&c.ClientSecretFile, "client-secret-file", envdefault.String("GENESYS_CLIENT_SECRET_FILE", ""), "file holding the OAuth client secret (env GENESYS_CLIENT_SECRET_FILE)")
	fs.IntVar(&c.RatePerMinute, "rate-per-minute", envdefault.Int("GENESYS_RATE_PER_MINUTE", 300), "Genesys API requests per minute the whole fleet may send with this OAuth client: one budget shared through NATS KV; every worker must set the same value (env GENESYS_RATE_PER_MINUTE)")
	fs.IntVar(&c.MaxFleet, "max-fleet", envdefault.Int("GENESYS_MAX_FLEET", 8), "most workers that ever share the budget: while NATS KV is unreachable each worker sends at most rate-per-minute / max-fleet (env GENESYS_MAX_FLEET)")

	fs.StringVar(&c.WorkerID, "worker-id", envdefault.String("GENESYS_WORKER_ID", ""), "name of this worker in job status records; defaults to host name and pid (env GENESYS_WORKER_ID)")
	fs.IntVar(&c.Concurrency, "concurrency", envdefault.Int("GENESYS_CONCURRENCY", 4), "jobs this worker holds and works on at once (env GENESYS_CONCURRENCY)")
	fs.IntVar(&c.MaxAttempts, "max-attempts", envdefault.Int("GENESYS_MAX_ATTEMPTS", 5), "transient failures a job may have before it ends exhausted (env GENESYS_MAX_ATTEMPTS)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", envdefault.Duration("GENESYS_SHUTDOWN_TIMEOUT", 20*time.Second), "on SIGTERM, how long jobs in flight may finish before the rest are handed back (env GENESYS_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.ScheduledKeep, "scheduled-keep", envdefault.Duration("GENESYS_SCHEDULED_KEEP", 400*24*time.Hour), "how long GENESYS_SCHEDULED keeps the fired copy of a scheduled job, which makes a later job with its id a duplicate; the same on every worker (env GENESYS_SCHEDULED_KEEP)")
	fs.DurationVar(&c.ProbeInterval, "probe-interval", envdefault.Duration("GENESYS_PROBE_INTERVAL", 15*time.Second), "while Genesys refuses our credentials, how often to check again (env GENESYS_PROBE_INTERVAL)")
	fs.StringVar(&c.ProtectRoles, "protect-roles", envdefault.String("GENESYS_PROTECT_ROLES", "Master Admin"), "comma-separated role names whose holders are never deactivated; quote a name holding a comma as in CSV: 'Admin, \"Billing, EMEA\"'; empty for none (env GENESYS_PROTECT_ROLES)")
	fs.StringVar(&c.ProtectUsers, "protect-users", envdefault.String("GENESYS_PROTECT_USERS", ""), "comma-separated user ids, user names or external ids never deactivated, quoted as in CSV when one holds a comma (env GENESYS_PROTECT_USERS)")
	fs.IntVar(&c.GuardLimit, "guard-limit", envdefault.Int("GENESYS_GUARD_LIMIT", 50), "mass-deactivation guard: deactivations the fleet may make per --guard-window before normal jobs are held for an operator; 0 disables (env GENESYS_GUARD_LIMIT)")
	fs.IntVar(&c.GuardUrgent, "guard-urgent-limit", envdefault.Int("GENESYS_GUARD_URGENT_LIMIT", 10), "mass-deactivation guard: urgent deactivations per --guard-window before urgent jobs are held too (env GENESYS_GUARD_URGENT_LIMIT)")
	fs.IntVar(&c.GuardReactivate, "guard-reactivate-limit", envdefault.Int("GENESYS_GUARD_REACTIVATE_LIMIT", 10), "reactivation guard: reactivations the fleet may make per --guard-window before reactivations are held for an operator (genesysctl guard ... --reactivations); 0 disables (env GENESYS_GUARD_REACTIVATE_LIMIT)")
	fs.DurationVar(&c.GuardWindow, "guard-window", envdefault.Duration("GENESYS_GUARD_WINDOW", time.Hour), "mass-deactivation guard: the rolling window (env GENESYS_GUARD_WINDOW)")
	fs.BoolVar(&c.RemoveGrants, "remove-grants-on-conflict", envdefault.Bool("GENESYS_REMOVE_GRANTS_ON_CONFLICT"), "when Genesys refuses a deactivation with a conflict that is not about the version, remove the user's grants (recorded in the audit event) and try once more; needs authorization:grant:view and authorization:grant:delete (env GENESYS_REMOVE_GRANTS_ON_CONFLICT)")
	fs.BoolVar(&c.SnapshotGrants, "snapshot-grants", envdefault.Bool("GENESYS_SNAPSHOT_GRANTS"), "before each deactivation, read the user's grants with their divisions (one more call) and record them in the audit event, so that a reactivation restores them where they were; needs authorization:grant:view (env GENESYS_SNAPSHOT_GRANTS)")
	fs.BoolVar(&c.SnapshotQueues, "snapshot-queues", envdefault.Bool("GENESYS_SNAPSHOT_QUEUES"), "before each deactivation, read the queues the user has joined (one more call) and record them in the audit event; needs routing:queue:view (env GENESYS_SNAPSHOT_QUEUES)")
	fs.StringVar(&c.Steps, "steps", envdefault.String("GENESYS_STEPS", stepsDefault), stepsHelp())
	fs.StringVar(&c.OAuthClients, "oauth-clients-policy", envdefault.String("GENESYS_OAUTH_CLIENTS_POLICY", worker.OAuthClientsReport), "what the oauth_clients step does with the OAuth clients a leaver created: report (record them in the audit event) or disable (also set each active one to Disabled; a reactivation sets those back to Active) (env GENESYS_OAUTH_CLIENTS_POLICY)")
	fs.BoolVar(&c.SkipSelfCheck, "skip-self-check", envdefault.Bool("GENESYS_SKIP_SELF_CHECK"), "do not check the Genesys credentials and permissions at start (env GENESYS_SKIP_SELF_CHECK)")

	fs.StringVar(&c.HTTPListen, "http", envdefault.String("GENESYS_HTTP", "127.0.0.1:8080"), "address of /healthz, /readyz and /metrics; empty to disable (env GENESYS_HTTP)")
	fs.StringVar(&c.LogFormat, "log-format", envdefault.String("GENESYS_LOG_FORMAT", ""), "json or console; defaults to json, console with --dev (env GENESYS_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", envdefault.String("GENESYS_LOG_LEVEL", "info"), "debug, info, warn or error (env GENESYS_LOG_LEVEL)")
	c.deleteFlags.declare(fs)
	c.verifyFlags.declare(fs)
	c.driftFlags.declare(fs)
	c.checkpointFlags.declare(fs)
	return fs
}

// topo is the part of the configuration that decides the topology.
func (c *Config) topo() topoFlags {
	return topoFlags{Prefix: c.Prefix, Replicas: c.Replicas, AckWait: c.AckWait}
}

func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, `Usage: worker [flags]
       worker healthcheck [--url URL]
       worker provision [--check] [--nats-* flags] [--prefix P] [--replicas N] [--ack-wait D]

Takes deactivation jobs from NATS JetStream and carries them out in Genesys Cloud.
Every flag can also be set by the environment variable its text names.

  worker --dev                       everything on this machine, for trying it out
  worker --region eu-central-1 --client-id ID --client-secret-file /run/secrets/genesys \
         --nats-url nats://nats:4222 --nats-creds /run/secrets/worker.creds

Flags:
`)
	fs.PrintDefaults()
}

// validate checks the configuration and reads the secret file. Its errors
// never contain a secret.
func (c *Config) validate() error {
	var errs []error
	if !c.Dev {
		if c.Region == "" && c.BaseURL == "" {
			errs = append(errs, errors.New("set --region or --base-url"))
		}
		if c.Region != "" && c.BaseURL != "" {
			errs = append(errs, errors.New("set --region or --base-url, not both"))
		}
		if c.Region != "" {
			if _, ok := genesys.LookupRegion(c.Region); !ok {
				errs = append(errs, fmt.Errorf("--region %q is not a Genesys Cloud region", c.Region))
			}
		}
		if c.ClientID == "" {
			errs = append(errs, errors.New("set --client-id"))
		}
		if c.ClientSecret != "" && c.ClientSecretFile != "" {
			errs = append(errs, errors.New("set --client-secret or --client-secret-file, not both"))
		}
		if c.ClientSecretFile != "" {
			data, err := os.ReadFile(c.ClientSecretFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("--client-secret-file: cannot read %s: %v", c.ClientSecretFile, errors.Unwrap(err)))
			}
			c.ClientSecret = strings.TrimSpace(string(data))
		}
		if c.ClientSecret == "" && c.ClientSecretFile == "" {
			errs = append(errs, errors.New("set --client-secret-file (or --client-secret)"))
		}
		if err := c.NATS.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Concurrency < 1 || c.MaxAttempts < 1 || c.RatePerMinute < 4 || c.Replicas < 1 || c.MaxFleet < 1 {
		errs = append(errs, errors.New("--concurrency, --max-attempts, --max-fleet and --replicas must be at least 1, --rate-per-minute at least 4"))
	}
	if c.GuardLimit < 0 || c.GuardUrgent < 0 || c.GuardReactivate < 0 || c.GuardWindow <= 0 {
		errs = append(errs, errors.New("--guard-limit, --guard-urgent-limit and --guard-reactivate-limit must not be negative, --guard-window positive"))
	}
	if c.AckWait < time.Second || c.ShutdownTimeout <= 0 || c.ProbeInterval <= 0 || c.GrantTimeout <= 0 {
		errs = append(errs, errors.New("--ack-wait must be at least 1s, --shutdown-timeout, --probe-interval and --grant-timeout positive"))
	}
	if c.ScheduledKeep < time.Second {
		errs = append(errs, errors.New("--scheduled-keep must be at least 1s"))
	}
	if c.Provision != provisionAuto && c.Provision != provisionVerify {
		errs = append(errs, fmt.Errorf("--provision %q: want auto or verify", c.Provision))
	}
	if err := (jobs.Names{Prefix: c.Prefix}).Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.checkLists(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.steps(); err != nil {
		errs = append(errs, err)
	}
	if p := c.OAuthClients; p != worker.OAuthClientsReport && p != worker.OAuthClientsDisable {
		errs = append(errs, fmt.Errorf("--oauth-clients-policy %q: want %s or %s", p, worker.OAuthClientsReport, worker.OAuthClientsDisable))
	}
	errs = append(errs, c.deleteFlags.validate()...)
	errs = append(errs, c.verifyFlags.validate()...)
	errs = append(errs, c.driftFlags.validate()...)
	errs = append(errs, c.checkpointFlags.validate()...)
	switch c.LogFormat {
	case "", "json", "console":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want json or console", c.LogFormat))
	}
	return errors.Join(errs...)
}

// protection parses the protect flags, which validate has checked (splitList).
func (c *Config) protection() worker.Protection {
	roles, _ := splitList(c.ProtectRoles)
	users, _ := splitList(c.ProtectUsers)
	return worker.Protection{Roles: roles, UserIDs: users, UserNames: users, ExternalIDs: users}
}

// workerConfig is the part of the worker's configuration the flags decide.
func (c *Config) workerConfig() worker.Config {
	steps, _ := c.steps() // validate has checked them
	wc := worker.Config{
		ID: c.WorkerID, Concurrency: c.Concurrency, MaxAttempts: c.MaxAttempts, AckWait: c.AckWait,
		ShutdownTimeout: c.ShutdownTimeout, ProbeInterval: c.ProbeInterval, Protect: c.protection(),
		ScheduledKeep:          c.ScheduledKeep,
		Guard:                  jobs.GuardConfig{Limit: c.GuardLimit, UrgentLimit: c.GuardUrgent, Window: c.GuardWindow},
		ReactivateGuard:        jobs.GuardConfig{Limit: c.GuardReactivate, Window: c.GuardWindow},
		RemoveGrantsOnConflict: c.RemoveGrants,
		SnapshotGrants:         c.SnapshotGrants,
		SnapshotQueues:         c.SnapshotQueues,
		Steps:                  steps,
		OAuthClientPolicy:      c.OAuthClients,
		DeleteAfter:            c.DeleteAfter,
		DeleteMethod:           c.DeleteMethod,
		DeleteGuard:            jobs.GuardConfig{Limit: c.GuardDelete, Window: c.GuardWindow},
	}
	c.verifyFlags.apply(&wc)
	return wc
}
