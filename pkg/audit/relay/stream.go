package relay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The relay reads its own stream, a mirror of the audit stream, rather than the audit stream
// itself (review D8). NATS permissions match whole subject tokens, and a consumer's name is one
// token of $JS.API.CONSUMER.CREATE.<stream>.<name>, ...MSG.NEXT.<stream>.<name> and
// $JS.ACK.<stream>.<name>.>: a role that may read the audit stream through consumers of its own
// may therefore also fetch from, ack, update and delete any other consumer there. On a stream of
// its own the relay's consumers are out of every other role's reach: no other role has any
// permission on it, while the audit stream stays readable as before. A mirror keeps the audit
// stream's sequences and store times, so webhook-sequence, dead letters and replays name the
// same sequences as the audit stream.

// ensureRelayStream creates the relay stream when it is missing: a mirror of the audit stream
// with the audit stream's MaxAge and storage, whose messages cannot be deleted or purged.
func ensureRelayStream(ctx context.Context, cfg Config) error {
	_, err := cfg.JetStream.Stream(ctx, cfg.RelayStream)
	if err == nil {
		return nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("audit: relay stream %s: %w", cfg.RelayStream, err)
	}
	src, err := cfg.JetStream.Stream(ctx, cfg.AuditStream)
	if err != nil {
		return fmt.Errorf("audit: audit stream %s: %w", cfg.AuditStream, err)
	}
	ac := src.CachedInfo().Config
	_, err = cfg.JetStream.CreateStream(ctx, jetstream.StreamConfig{
		Name:        cfg.RelayStream,
		Description: "webhook relay: mirror of " + cfg.AuditStream + " that only the relay consumes",
		Mirror:      &jetstream.StreamSource{Name: cfg.AuditStream},
		Retention:   jetstream.LimitsPolicy, MaxAge: ac.MaxAge, Storage: ac.Storage, Replicas: cfg.Replicas,
		DenyDelete: true, DenyPurge: true,
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another relay may have won
		return fmt.Errorf("audit: create relay stream %s mirroring %s: %w", cfg.RelayStream, cfg.AuditStream, err)
	}
	return nil
}

// waitMirrored waits until the relay stream holds every message the audit stream held when it
// was called, so that a replay sees them, and returns the relay stream's last sequence then; it
// gives up after 30 s or when ctx ends.
func (r *Relay) waitMirrored(ctx context.Context) (uint64, error) {
	src, err := r.cfg.JetStream.Stream(ctx, r.cfg.AuditStream)
	if err != nil {
		return 0, fmt.Errorf("audit: audit stream %s: %w", r.cfg.AuditStream, err)
	}
	want := src.CachedInfo().State.LastSeq
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := r.cfg.JetStream.Stream(ctx, r.cfg.RelayStream)
		if err != nil {
			return 0, fmt.Errorf("audit: relay stream %s: %w", r.cfg.RelayStream, err)
		}
		if last := s.CachedInfo().State.LastSeq; last >= want {
			return last, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("audit: relay stream %s is at sequence %d, the audit stream at %d: the mirror is not catching up",
				r.cfg.RelayStream, s.CachedInfo().State.LastSeq, want)
		}
		if !sleepCtx(ctx, 20*time.Millisecond) {
			return 0, ctx.Err()
		}
	}
}
