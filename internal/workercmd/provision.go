package workercmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// The --provision modes of a worker. In both, a worker runs only on a topology jobs.Verify
// accepts: the worker's NATS user needs no right to change a stream (review D6), and a weakened
// audit stream stops the fleet instead of silently losing evidence.
const (
	// provisionAuto verifies, and provisions only when something is missing or different; when
	// the NATS user may not (deploy/nats-accounts.conf), the worker stops naming what differs.
	// Dev mode, docker-compose and tests on servers without accounts need no extra step.
	provisionAuto = "auto"
	// provisionVerify only verifies: for production, where `worker provision` runs as the
	// provisioning user at install and upgrade.
	provisionVerify = "verify"
)

// topoFlags are the flags that decide the topology; the worker and `worker provision` share them,
// with the same environment variables, so that both compute the same topology.
type topoFlags struct {
	Prefix   string
	Replicas int
	AckWait  time.Duration
}

func (t *topoFlags) register(fs *flag.FlagSet) { registerTopo(fs, &t.Prefix, &t.Replicas, &t.AckWait) }

func registerTopo(fs *flag.FlagSet, prefix *string, replicas *int, ackWait *time.Duration) {
	fs.StringVar(prefix, "prefix", envdefault.String("GENESYS_PREFIX", audit.DefaultPrefix), "subject prefix of every stream, subject and bucket (env GENESYS_PREFIX)")
	fs.IntVar(replicas, "replicas", envdefault.Int("GENESYS_REPLICAS", 1), "replicas of the streams and buckets: 1 for one NATS server, 3 for a cluster (env GENESYS_REPLICAS)")
	fs.DurationVar(ackWait, "ack-wait", envdefault.Duration("GENESYS_ACK_WAIT", 30*time.Second), "JetStream AckWait of the job consumers (env GENESYS_ACK_WAIT)")
}

func (t topoFlags) topology() jobs.TopologyConfig {
	return jobs.TopologyConfig{Names: jobs.Names{Prefix: t.Prefix}, Replicas: t.Replicas, AckWait: t.AckWait}
}

// fixCommand is the command that brings the topology to what t needs, for error messages.
func (t topoFlags) fixCommand() string {
	return fmt.Sprintf("`worker provision --prefix %s --replicas %d --ack-wait %s` as the provisioning NATS user (provisioner in deploy/nats-accounts.conf)",
		t.Prefix, t.Replicas, t.AckWait)
}

// violations keeps the permission violations the server reports on a connection: a refused
// JetStream call only times out, so the refusal is what tells a worker to stop trying.
type violations struct {
	mu   sync.Mutex
	last string
	ch   chan struct{} // closed and replaced at each report
}

func newViolations() *violations { return &violations{ch: make(chan struct{})} }

// handler is the connection's error handler.
func (v *violations) handler(log *zap.Logger) nats.ErrHandler {
	return func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if !errors.Is(err, nats.ErrPermissionViolation) {
			log.Warn("NATS error", zap.Error(err))
			return
		}
		log.Warn("NATS refused an operation", zap.Error(err))
		v.mu.Lock()
		v.last = err.Error()
		close(v.ch)
		v.ch = make(chan struct{})
		v.mu.Unlock()
	}
}

// next returns a channel closed at the next report.
func (v *violations) next() <-chan struct{} {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ch
}

func (v *violations) lastReport() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last
}

// ensureTopology runs a worker only on a topology that jobs.Verify accepts, provisioning it first
// in auto mode when something is missing or different.
func ensureTopology(ctx context.Context, js jetstream.JetStream, t topoFlags, mode, natsUser string, v *violations, log *zap.Logger) error {
	topo := t.topology()
	err := jobs.Verify(ctx, js, topo)
	if err == nil || !errors.Is(err, jobs.ErrTopology) {
		return err
	}
	if mode == provisionVerify {
		return fmt.Errorf("%w; run %s", err, t.fixCommand())
	}
	log.Info("provisioning the NATS topology", zap.String("why", err.Error()))
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	refused := v.next()
	go func() {
		select {
		case <-refused:
			cancel() // a refusal is final: no point retrying for a minute
		case <-pctx.Done():
		}
	}()
	if perr := jobs.Provision(pctx, js, topo); perr != nil {
		if why := v.lastReport(); why != "" && ctx.Err() == nil {
			return fmt.Errorf("%w; NATS user %s may not provision (%s): run %s", err, natsUser, why, t.fixCommand())
		}
		return fmt.Errorf("%w; provisioning failed: %w", err, perr)
	}
	if err := jobs.Verify(ctx, js, topo); err != nil {
		return fmt.Errorf("after provisioning: %w", err)
	}
	return nil
}

// provisionMain is `worker provision`: provision the topology, verify it and exit (with --check,
// verify only). An admin runs it with the provisioning NATS user at install and upgrade; it needs
// no Genesys credentials.
func provisionMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		t     topoFlags
		nopts natsconn.Options
		check bool
	)
	fs := flag.NewFlagSet("worker provision", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: worker provision [flags]

Creates or updates the streams, consumers and buckets the workers need, checks them and exits.
Run it as the provisioning NATS user (provisioner in deploy/nats-accounts.conf) at install and
upgrade, with the --prefix, --replicas and --ack-wait the workers use (same environment
variables). Workers verify the topology at start and refuse to run on a different one.

Flags:
`)
		fs.PrintDefaults()
	}
	nopts.RegisterFlags(fs)
	t.register(fs)
	fs.BoolVar(&check, "check", false, "only check the topology; exit 1 naming every difference")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "worker provision: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := errors.Join(nopts.Validate(), jobs.Names{Prefix: t.Prefix}.Validate()); err != nil {
		fmt.Fprintf(stderr, "worker provision: %v\n", err)
		return 2
	}
	nopts.Name = "genesys-deactivator provision"
	nc, err := nopts.Connect()
	if err != nil {
		fmt.Fprintf(stderr, "worker provision: %v\n", err)
		return 1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fmt.Fprintf(stderr, "worker provision: jetstream: %v\n", err)
		return 1
	}
	topo := t.topology()
	if !check {
		if err := jobs.Provision(ctx, js, topo); err != nil {
			fmt.Fprintf(stderr, "worker provision: %v\n", err)
			return 1
		}
	}
	if err := jobs.Verify(ctx, js, topo); err != nil {
		if check {
			err = fmt.Errorf("%w; run %s", err, t.fixCommand())
		}
		fmt.Fprintf(stderr, "worker provision: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "topology of prefix %s is as required (replicas %d, ack wait %s)\n", t.Prefix, t.Replicas, t.AckWait)
	return 0
}
