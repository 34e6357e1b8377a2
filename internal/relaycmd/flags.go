package relaycmd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/internal/zaplog"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// common are the settings every subcommand shares: where NATS is, which deployment (prefix,
// stream, bucket), and logging.
type common struct {
	NATS        natsconn.Options
	Prefix      string
	AuditStream string
	StateBucket string
	Source      string
	LogFormat   string
	LogLevel    string
}

func (c *common) register(fs *flag.FlagSet) {
	c.NATS.RegisterFlags(fs)
	fs.StringVar(&c.Prefix, "prefix", envdefault.String("GENESYS_PREFIX", audit.DefaultPrefix), "subject prefix of the deployment: ops events on <prefix>.audit.ops.*, dead letters on <prefix>.dead.relay.<endpoint> (env GENESYS_PREFIX)")
	fs.StringVar(&c.AuditStream, "audit-stream", envdefault.String("GENESYS_RELAY_AUDIT_STREAM", ""), "audit stream to read; defaults to the prefix's, GENESYS_AUDIT (env GENESYS_RELAY_AUDIT_STREAM)")
	fs.StringVar(&c.StateBucket, "state-bucket", envdefault.String("GENESYS_RELAY_STATE_BUCKET", ""), "KV bucket of endpoint states; defaults to <prefix>-relay, created when missing (env GENESYS_RELAY_STATE_BUCKET)")
	fs.StringVar(&c.Source, "source", envdefault.String("GENESYS_SOURCE", audit.DefaultSource), "CloudEvents source of the relay's ops events; use the workers' (env GENESYS_SOURCE)")
	fs.StringVar(&c.LogFormat, "log-format", envdefault.String("GENESYS_LOG_FORMAT", "json"), "json or console (env GENESYS_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", envdefault.String("GENESYS_LOG_LEVEL", "info"), "debug, info, warn or error (env GENESYS_LOG_LEVEL)")
}

// validate checks the shared settings without connecting; errors never carry a secret.
func (c *common) validate() error {
	var errs []error
	if err := c.NATS.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := (jobs.Names{Prefix: c.Prefix}).Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		errs = append(errs, fmt.Errorf("--log-format %q: want json or console", c.LogFormat))
	}
	if _, err := zapcore.ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// relayConfig is the part of relay.Config the shared settings give.
func (c *common) relayConfig() relay.Config {
	names := jobs.Names{Prefix: c.Prefix}
	stream := c.AuditStream
	if stream == "" {
		stream = names.AuditStream()
	}
	return relay.Config{
		Prefix: names.Prefix, AuditStream: stream, Subjects: []string{names.AuditSubjects()}, StateBucket: c.StateBucket,
		Origin: audit.Origin{Source: c.Source},
	}
}

func (c *common) logger(w io.Writer) *zap.Logger {
	return zaplog.New(w, c.LogFormat, c.LogLevel) // the level is checked by validate
}

// parseTime reads --since and --until: an RFC 3339 time, or a duration meaning that long ago.
func parseTime(flagName, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want an RFC 3339 time (2026-11-27T09:00:00Z) or a duration ago (2h)", flagName, v)
}

// parse parses args into fs. It returns (0, false) after --help, (2, false) on a bad flag and
// (0, true) to go on.
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// newFlagSet returns a flag set that reports to stderr with the given usage text.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, strings.TrimLeft(usage, "\n"))
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}
