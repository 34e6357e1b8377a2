package auditchain

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/lease"
)

// LeaderKey is the checkpointer's lease (package lease) in the locks bucket.
const LeaderKey = "audit.checkpointer"

// Defaults of CheckpointerConfig.
const (
	DefaultEvery    = 100
	DefaultInterval = time.Minute
	DefaultLeaseTTL = 30 * time.Second
)

// CheckpointerConfig configures a Checkpointer.
type CheckpointerConfig struct {
	JetStream jetstream.JetStream
	Stream    string             // the audit stream
	Prefix    string             // the deployment's subject prefix
	Locks     jetstream.KeyValue // the locks bucket
	Key       ed25519.PrivateKey
	// Every is how many events (other than checkpoints) a checkpoint covers at most; 1..MaxSpan-1.
	Every int
	// Interval is the longest time an event waits for its checkpoint.
	Interval time.Duration
	Instance string
	LeaseTTL time.Duration
	Now      func() time.Time
	Logger   *zap.Logger
	// Published, when set, is called after each checkpoint is stored (tests, metrics).
	Published func(*Checkpoint)
}

// Checkpointer chains the audit stream and publishes signed checkpoints, in one process of the
// fleet at a time (the lease LeaderKey).
type Checkpointer struct {
	cfg    CheckpointerConfig
	stream jetstream.Stream
	pub    *audit.Publisher
	cpSubj string
	log    *zap.Logger
}

// NewCheckpointer checks cfg and opens the stream.
func NewCheckpointer(ctx context.Context, cfg CheckpointerConfig) (*Checkpointer, error) {
	if cfg.JetStream == nil || cfg.Locks == nil || cfg.Key == nil || cfg.Stream == "" {
		return nil, errors.New("auditchain: checkpointer needs JetStream, Locks, Key and Stream")
	}
	if cfg.Every == 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.Every < 1 || cfg.Every >= MaxSpan {
		return nil, fmt.Errorf("auditchain: checkpoint every %d events: want 1..%d", cfg.Every, MaxSpan-1)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Prefix == "" {
		cfg.Prefix = audit.DefaultPrefix
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s, err := cfg.JetStream.Stream(ctx, cfg.Stream)
	if err != nil {
		return nil, fmt.Errorf("auditchain: open %s: %w", cfg.Stream, err)
	}
	p, err := audit.NewPublisher(cfg.JetStream, audit.PublisherConfig{Prefix: cfg.Prefix, Stream: cfg.Stream})
	if err != nil {
		return nil, err
	}
	return &Checkpointer{cfg: cfg, stream: s, pub: p, cpSubj: audit.OpsSubject(cfg.Prefix, Kind), log: log}, nil
}

// Run stands by and, while this instance holds the lease, checkpoints; nil when ctx ends.
func (c *Checkpointer) Run(ctx context.Context) error {
	lc := lease.Config{KV: c.cfg.Locks, Key: LeaderKey, Instance: c.cfg.Instance, TTL: c.cfg.LeaseTTL, Now: c.cfg.Now,
		Lost: func() { c.log.Warn("audit checkpointer lost its lease", zap.String("instance", c.cfg.Instance)) }}
	return lease.Run(ctx, lc, func(err error) { c.log.Warn("cannot take the audit checkpointer's lease", zap.Error(err)) },
		func(ctx context.Context, l *lease.Held) {
			c.log.Info("audit checkpointer active", zap.String("instance", c.cfg.Instance))
			err := c.lead(ctx, l)
			switch {
			case err == nil || ctx.Err() != nil || errors.Is(err, errLeaseLapsed):
			case errors.Is(err, ErrBroken):
				// another instance would find the same: keep the lease, sign nothing, say so
				c.log.Error("audit checkpointer stopped: it signs nothing until the stream is looked at", zap.Error(err))
				<-ctx.Done()
			default: // give the lease up; the next try (this instance or another) resumes
				c.log.Warn("audit checkpointer failed; standing by", zap.Error(err))
			}
		})
}

// resume returns where the chain goes on: after the last checkpoint that verifies with our key,
// or at the stream's start when there is none. It never starts anywhere else.
func (c *Checkpointer) resume(ctx context.Context) (Link, uint64, error) {
	pub := c.cfg.Key.Public().(ed25519.PublicKey)
	m, err := c.stream.GetLastMsgForSubject(ctx, c.cpSubj)
	if err == nil {
		if cp, ok, perr := ParseEvent(m.Data); ok && perr == nil && cp.Verify(pub) == nil {
			return cp.Link, cp.Seq + 1, nil
		}
		// the last one is not ours or not good: the last good one, if any
		best, err := lastCheckpointAtOrBefore(ctx, VerifyConfig{Stream: c.stream, CheckpointSubject: c.cpSubj, PublicKey: pub}, ^uint64(0))
		if err != nil {
			return Zero, 0, err
		}
		if best != nil {
			return best.Link, best.Seq + 1, nil
		}
	} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return Zero, 0, err
	}
	info, err := c.stream.Info(ctx)
	if err != nil {
		return Zero, 0, err
	}
	if info.State.Msgs > 0 && info.State.FirstSeq > 1 {
		return Zero, 0, fmt.Errorf("%w: no checkpoint of key %s and the stream starts at %d, not 1", ErrBroken, KeyID(pub), info.State.FirstSeq)
	}
	return Zero, 1, nil
}

// lead chains and checkpoints until ctx ends or the lease lapses. It reads the stream message by
// message (STREAM.MSG.GET, which a worker may already do: no consumer on the audit stream) and
// looks for new messages every poll.
func (c *Checkpointer) lead(ctx context.Context, l *lease.Held) error {
	link, next, err := c.resume(ctx)
	if err != nil {
		return err
	}
	cur := &cursor{h: NewHasher(), link: link, next: next, from: next, links: make([]byte, 0, MaxSpan*prefixLen)}
	poll := min(max(c.cfg.Interval/10, 10*time.Millisecond), time.Second)
	for {
		info, err := c.stream.Info(ctx)
		if err != nil {
			return ignoreEnd(ctx, err)
		}
		if err := c.readTo(ctx, l, cur, info.State.LastSeq); err != nil {
			return err
		}
		if cur.count > 0 && !c.cfg.Now().Before(cur.since.Add(c.cfg.Interval)) {
			if err := c.seal(ctx, l, cur, cur.next-1); err != nil {
				return err
			}
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// cursor is where the checkpointer is: the chain so far and the span not yet checkpointed.
type cursor struct {
	h     *Hasher
	link  Link      // link_{next-1}
	next  uint64    // the next sequence to chain
	from  uint64    // the first sequence not yet checkpointed
	count int       // events (not checkpoints) since from
	links []byte    // the link prefixes of from..next-1
	since time.Time // when the first of those events was chained
}

// readTo chains the messages up to last, checkpointing every Every events.
func (c *Checkpointer) readTo(ctx context.Context, l *lease.Held, cur *cursor, last uint64) error {
	for ; cur.next <= last; cur.next++ {
		m, err := c.stream.GetMsg(ctx, cur.next)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("%w: sequence %d is missing from %s (deleted or aged out before it was chained)", ErrBroken, cur.next, c.cfg.Stream)
		}
		if err != nil {
			return ignoreEnd(ctx, err)
		}
		cur.link = cur.h.Next(cur.link, cur.next, m.Subject, m.Data)
		cur.links = append(cur.links, cur.link[:prefixLen]...)
		if m.Subject != c.cpSubj {
			if cur.count == 0 {
				cur.since = c.cfg.Now()
			}
			cur.count++
		}
		if cur.count >= c.cfg.Every || int(cur.next-cur.from+1) >= MaxSpan {
			if err := c.seal(ctx, l, cur, cur.next); err != nil {
				return err
			}
		}
	}
	return nil
}

// seal checkpoints cur.from..to (to: the last sequence chained) and starts the next span.
func (c *Checkpointer) seal(ctx context.Context, l *lease.Held, cur *cursor, to uint64) error {
	if err := c.checkpoint(ctx, l, cur.from, to, cur.link, cur.links); err != nil {
		return err
	}
	cur.from, cur.count, cur.links = to+1, 0, cur.links[:0]
	return nil
}

func ignoreEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// checkpoint signs and publishes the checkpoint of from..seq, while the lease is valid.
func (c *Checkpointer) checkpoint(ctx context.Context, l *lease.Held, from, seq uint64, link Link, links []byte) error {
	now := c.cfg.Now()
	if !now.Before(l.Valid()) {
		return errLeaseLapsed
	}
	cp := &Checkpoint{From: from, Seq: seq, Link: link, Time: now.UTC().Truncate(time.Second), Links: append([]byte(nil), links...)}
	cp.Sign(c.cfg.Key)
	ev, err := audit.Origin{}.OpsEvent(audit.Ops{Kind: Kind, Time: now,
		Message: fmt.Sprintf("audit chain checkpoint: sequences %d..%d signed by key %s", from, seq, cp.KeyID),
		Fields:  cp.Fields(), Key: cp.KeyID + "/" + strconv.FormatUint(seq, 10)})
	if err != nil {
		return err
	}
	if _, err := c.pub.Publish(ctx, ev); err != nil {
		return fmt.Errorf("publish checkpoint %d: %w", seq, err)
	}
	if c.cfg.Published != nil {
		c.cfg.Published(cp)
	}
	return nil
}

// ErrBroken reports a stream the checkpointer cannot chain: a sequence is missing, or there is
// no checkpoint of its key to start from and the stream does not start at 1. It signs nothing
// then: it never signs a chain it did not compute from the start or a checkpoint it verified.
var ErrBroken = errors.New("auditchain: the chain cannot go on")

var errLeaseLapsed = errors.New("auditchain: the lease lapsed")
