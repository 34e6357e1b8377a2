package relaycmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
)

// getenv reads the environment variables the endpoint file names.
var getenv = os.Getenv

// adminConfig is `relay endpoints ...`.
type adminConfig struct {
	common
	Reason string
}

func newEndpointsFlags(c *adminConfig, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("relay endpoints", `Usage: relay endpoints list [flags]
       relay endpoints enable NAME [flags]
       relay endpoints disable NAME [--reason TEXT] [flags]

list shows each endpoint's state and backlog. disable stops deliveries to an endpoint on every
relay replica; its events wait in the audit stream. enable resumes from where it stopped, oldest
first. Both store an ops event (relay_endpoint_disabled, relay_endpoint_enabled).
`, stderr)
	c.common.register(fs)
	fs.StringVar(&c.Reason, "reason", envdefault.String("GENESYS_RELAY_REASON", "disabled by operator"), "disable: why, for the state and the ops event (env GENESYS_RELAY_REASON)")
	return fs
}

// connect opens NATS and the endpoint administration; close ends the connection.
func connect(ctx context.Context, c *common) (*relay.EndpointAdmin, jetstream.JetStream, func(), error) {
	nc, err := c.NATS.Connect()
	if err != nil {
		return nil, nil, nil, err
	}
	closeNC := func() { _ = nc.Drain() }
	js, err := jetstream.New(nc)
	if err != nil {
		closeNC()
		return nil, nil, nil, err
	}
	cfg := c.relayConfig()
	cfg.JetStream = js
	admin, err := relay.NewEndpointAdmin(ctx, cfg)
	if err != nil {
		closeNC()
		return nil, nil, nil, err
	}
	return admin, js, closeNC, nil
}

func endpointsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c adminConfig
	fs := newEndpointsFlags(&c, stderr)
	if len(args) == 0 {
		fs.Usage()
		return 2
	}
	verb := args[0]
	if code, ok := parse(fs, args[1:]); !ok {
		return code
	}
	var name string
	if fs.NArg() > 0 { // NAME, then more flags
		name = fs.Arg(0)
		if code, ok := parse(fs, fs.Args()[1:]); !ok {
			return code
		}
	}
	err := c.validate()
	switch {
	case err != nil:
	case verb != "list" && verb != "enable" && verb != "disable":
		err = fmt.Errorf("unknown verb %q: want list, enable or disable", verb)
	case verb == "list" && name != "", fs.NArg() > 0:
		err = errors.New("unexpected arguments")
	case verb != "list" && name == "":
		err = fmt.Errorf("%s needs an endpoint NAME", verb)
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay endpoints: %v\n", err)
		return 2
	}
	admin, _, closeNC, err := connect(ctx, &c.common)
	if err != nil {
		fmt.Fprintf(stderr, "relay endpoints: %v\n", err)
		return 1
	}
	defer closeNC()
	switch verb {
	case "enable":
		err = admin.Enable(ctx, name)
	case "disable":
		err = admin.Disable(ctx, name, c.Reason)
	default:
		err = list(ctx, admin, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay endpoints %s: %v\n", verb, err)
		return 1
	}
	if verb != "list" {
		fmt.Fprintf(stdout, "endpoint %s %sd\n", name, verb)
	}
	return 0
}

func list(ctx context.Context, admin *relay.EndpointAdmin, stdout io.Writer) error {
	all, err := admin.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT\tSTATE\tPENDING\tIN FLIGHT\tDELIVERED TO SEQ\tCHANGED\tBY\tREASON")
	for _, e := range all {
		state, changed := "enabled", "-"
		if !e.State.Enabled {
			state = "DISABLED"
		}
		if e.Consumer && e.Paused && e.State.Enabled {
			state = "enabled (consumer paused)"
		}
		if !e.Consumer {
			state += " (no consumer yet)"
		}
		if !e.State.ChangedAt.IsZero() {
			changed = e.State.ChangedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", e.Name, state, e.Pending, e.AckPending, e.Delivered,
			changed, dash(e.State.ChangedBy), dash(e.State.Reason))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// replayConfig is `relay replay`.
type replayConfig struct {
	common
	Config   string
	Endpoint string
	Since    string
	Until    string
	Attempts int
	Force    bool
}

func newReplayFlags(c *replayConfig, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("relay replay", `Usage: relay replay --config relay.json --endpoint NAME --since TIME [--until TIME] [flags]

Sends the events the audit stream stored in [since, until) to one endpoint again, in order,
signed as usual and with their original webhook-id (receivers that keep ids drop what they have).
It reads the stream directly; the endpoint's own queue and position are not touched.
`, stderr)
	c.common.register(fs)
	fs.StringVar(&c.Config, "config", envdefault.String("GENESYS_RELAY_CONFIG", ""), "JSON file of endpoints, as for relay run (env GENESYS_RELAY_CONFIG)")
	fs.StringVar(&c.Endpoint, "endpoint", envdefault.String("GENESYS_RELAY_ENDPOINT", ""), "name of the endpoint to replay to (env GENESYS_RELAY_ENDPOINT)")
	fs.StringVar(&c.Since, "since", envdefault.String("GENESYS_RELAY_SINCE", ""), "first store time to replay, inclusive: RFC 3339 or a duration ago such as 6h (env GENESYS_RELAY_SINCE)")
	fs.StringVar(&c.Until, "until", envdefault.String("GENESYS_RELAY_UNTIL", ""), "store time to stop before, RFC 3339 or a duration ago; defaults to now (env GENESYS_RELAY_UNTIL)")
	fs.IntVar(&c.Attempts, "attempts", envdefault.Int("GENESYS_RELAY_ATTEMPTS", 5), "tries per event before the replay stops (env GENESYS_RELAY_ATTEMPTS)")
	fs.BoolVar(&c.Force, "force", false, "replay to a disabled endpoint (env none: a deliberate act)")
	return fs
}

func replayCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c replayConfig
	fs := newReplayFlags(&c, stderr)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	now := time.Now()
	eps, err := loadEndpoints(&c.common, c.Config, getenv)
	since, serr := parseTime("--since", c.Since, now)
	until, uerr := parseTime("--until", c.Until, now)
	err = errors.Join(err, serr, uerr)
	switch {
	case err != nil:
	case fs.NArg() > 0:
		err = errors.New("unexpected arguments")
	case c.Endpoint == "" || since.IsZero():
		err = errors.New("set --endpoint and --since")
	case !until.IsZero() && !until.After(since):
		err = errors.New("--until must be after --since")
	case c.Attempts < 1:
		err = errors.New("--attempts must be at least 1")
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay replay: %v\n", err)
		return 2
	}
	_, js, closeNC, err := connect(ctx, &c.common)
	if err != nil {
		fmt.Fprintf(stderr, "relay replay: %v\n", err)
		return 1
	}
	defer closeNC()
	cfg := c.relayConfig()
	cfg.JetStream, cfg.Endpoints = js, eps
	r, err := relay.New(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "relay replay: %v\n", err)
		return 1
	}
	res, err := r.Replay(ctx, c.Endpoint, relay.ReplayOptions{Since: since, Until: until, Attempts: c.Attempts, Force: c.Force})
	if res.Delivered > 0 {
		fmt.Fprintf(stdout, "replayed %d events (sequences %d–%d) to %s\n", res.Delivered, res.FirstSeq, res.LastSeq, c.Endpoint)
	} else if err == nil {
		fmt.Fprintf(stdout, "no events stored in that window for %s\n", c.Endpoint)
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay replay: %v\n", err)
		if res.FailedSeq != 0 {
			fmt.Fprintf(stderr, "relay replay: resume with --since %s\n", res.FailedStoreTime.UTC().Format(time.RFC3339Nano))
		}
		return 1
	}
	return 0
}
