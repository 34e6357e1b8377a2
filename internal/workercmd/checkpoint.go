package workercmd

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/pkg/auditchain"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// checkpointFlags are the flags of the audit checkpointer (issue 18): a worker with a key signs
// the audit chain; one of the fleet at a time (a lease in the locks bucket), the others stand by.
// It runs in the worker, not the relay: the relay is optional and reads a mirror, while every
// deployment runs workers, which already publish ops events, hold leases in the locks bucket and
// may get audit messages by sequence; the checkpointer needs no permission they lack.
type checkpointFlags struct {
	AuditCheckpointKey      string
	AuditCheckpointEvery    int
	AuditCheckpointInterval time.Duration
	checkpointKey           ed25519.PrivateKey
}

func (c *checkpointFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&c.AuditCheckpointKey, "audit-checkpoint-key", envdefault.String("GENESYS_AUDIT_CHECKPOINT_KEY", ""), "also sign the audit chain: the Ed25519 private key file (PEM PKCS#8: openssl genpkey -algorithm ed25519); one worker of the fleet signs at a time (a lease), publishing ops events audit_checkpoint; empty: off (env GENESYS_AUDIT_CHECKPOINT_KEY)")
	fs.IntVar(&c.AuditCheckpointEvery, "audit-checkpoint-every", envdefault.Int("GENESYS_AUDIT_CHECKPOINT_EVERY", auditchain.DefaultEvery), fmt.Sprintf("audit checkpointer: a checkpoint at least every N audit events, 1..%d (env GENESYS_AUDIT_CHECKPOINT_EVERY)", auditchain.MaxSpan-1))
	fs.DurationVar(&c.AuditCheckpointInterval, "audit-checkpoint-interval", envdefault.Duration("GENESYS_AUDIT_CHECKPOINT_INTERVAL", auditchain.DefaultInterval), "audit checkpointer: and at most this long after an event (env GENESYS_AUDIT_CHECKPOINT_INTERVAL)")
}

func (c *checkpointFlags) validate() []error {
	var errs []error
	if c.AuditCheckpointEvery < 1 || c.AuditCheckpointEvery >= auditchain.MaxSpan {
		errs = append(errs, fmt.Errorf("--audit-checkpoint-every %d: want 1..%d", c.AuditCheckpointEvery, auditchain.MaxSpan-1))
	}
	if c.AuditCheckpointInterval <= 0 {
		errs = append(errs, errors.New("--audit-checkpoint-interval must be positive"))
	}
	if c.AuditCheckpointKey != "" {
		k, err := auditchain.LoadPrivateKey(c.AuditCheckpointKey) // errors name the file, never the key
		if err != nil {
			errs = append(errs, fmt.Errorf("--audit-checkpoint-key: %w", err))
		}
		c.checkpointKey = k
	}
	return errs
}

// startCheckpointer runs the audit checkpointer when --audit-checkpoint-key is set, until ctx
// ends or the returned func is called, which stops it and waits.
func startCheckpointer(ctx context.Context, cfg Config, names jobs.Names, js jetstream.JetStream, m *metrics, log *zap.Logger) (func(), error) {
	if cfg.checkpointKey == nil {
		return func() {}, nil
	}
	count := prometheus.NewCounter(prometheus.CounterOpts{Name: "genesys_audit_checkpoints_total",
		Help: "Audit chain checkpoints this instance signed and published."})
	sealed := prometheus.NewGauge(prometheus.GaugeOpts{Name: "genesys_audit_checkpoint_sealed_seq",
		Help: "The last audit stream sequence a checkpoint of this instance covers (0: none yet)."})
	for _, c := range []prometheus.Collector{count, sealed} {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	locks, err := js.KeyValue(ctx, names.LocksBucket())
	if err != nil {
		return nil, fmt.Errorf("audit checkpointer: open %s: %w", names.LocksBucket(), err)
	}
	c, err := auditchain.NewCheckpointer(ctx, auditchain.CheckpointerConfig{JetStream: js, Stream: names.AuditStream(),
		Prefix: names.EffectivePrefix(), Locks: locks, Key: cfg.checkpointKey, Every: cfg.AuditCheckpointEvery,
		Interval: cfg.AuditCheckpointInterval, Instance: cfg.WorkerID, Logger: log,
		Published: func(cp *auditchain.Checkpoint) { count.Inc(); sealed.Set(float64(cp.Seq)) }})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := c.Run(ctx); err != nil {
			log.Error("audit checkpointer stopped", zap.Error(err))
		}
	})
	log.Info("audit checkpointer standing by", zap.String("key_id", auditchain.KeyID(cfg.checkpointKey.Public().(ed25519.PublicKey))),
		zap.Int("every", cfg.AuditCheckpointEvery), zap.Duration("interval", cfg.AuditCheckpointInterval))
	return func() { cancel(); wg.Wait() }, nil
}
