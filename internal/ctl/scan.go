package ctl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// scanBatch is how many messages one pull request asks for.
const scanBatch = 256

// scanned is one stored message as a scan delivers it.
type scanned struct {
	Seq     uint64
	Subject string
	Time    time.Time // when the stream stored it
	Data    []byte
}

// openScan creates the one ephemeral, ack-less consumer a scan reads through: on stream's subjects
// matching filter, from the first message stored at or after start (zero: from the first), in
// memory, removed by the server after a minute unused. closeScan deletes it (best effort).
func (s *session) openScan(ctx context.Context, description, stream, filter string, start time.Time) (cons jetstream.Consumer, closeScan func(), err error) {
	cfg := jetstream.ConsumerConfig{
		Description:       description,
		FilterSubject:     filter,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
		Replicas:          1,
	}
	if !start.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	cons, err = s.js.CreateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s (%s): %w", stream, filter, err)
	}
	return cons, func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = s.js.DeleteConsumer(dctx, stream, cons.CachedInfo().Name) // best effort: it expires anyway
	}, nil
}

// scan reads the messages of stream on subjects matching filter, stored at or after start (zero:
// from the first), in stream order, and calls fn for each until fn returns false. It stops at
// the last matching message stored when the scan began.
//
// It reads through one ephemeral, ack-less consumer that it deletes when done (the server also
// removes it after a minute unused). That is what jetstream's OrderedConsumer does too, but the
// OrderedConsumer re-creates its consumer on every Fetch, retries a refused creation with
// back-off and deletes the old ones from a goroutine of its own; one consumer gives the CLI one
// request to be refused, with a clear error, and nothing running after it returns.
func (s *session) scan(ctx context.Context, stream, filter string, start time.Time, fn func(scanned) bool) error {
	cons, closeScan, err := s.openScan(ctx, "genesysctl scan", stream, filter, start)
	if err != nil {
		return err
	}
	defer closeScan()
	pending := cons.CachedInfo().NumPending
	for pending > 0 {
		batch, err := cons.Fetch(int(min(pending, scanBatch)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			pending = meta.NumPending
			if !fn(scanned{Seq: meta.Sequence.Stream, Subject: msg.Subject(), Time: meta.Timestamp, Data: msg.Data()}) {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && n == 0 {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		if n == 0 {
			return fmt.Errorf("read %s: %d messages pending but none arrived", stream, pending)
		}
	}
	return ctx.Err()
}
