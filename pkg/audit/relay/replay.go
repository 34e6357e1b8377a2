package relay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/offboard-dev/genesys-deactivator/internal/ctxsleep"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// ReplayOptions select what [Relay.Replay] sends again.
type ReplayOptions struct {
	// Since is the earliest store time replayed, inclusive. Required.
	Since time.Time
	// Until is the store time replay stops before. Defaults to when Replay starts; events stored
	// later are not replayed (the endpoint's consumer delivers them).
	Until time.Time
	// Attempts is how often one event is tried before Replay gives up. Defaults to 5.
	Attempts int
	// RetryDelay is the wait after the first failed attempt, doubling after each. Defaults to 1 s.
	// A Retry-After answer of up to a minute is honoured.
	RetryDelay time.Duration
	// Force replays to a disabled endpoint. Default false.
	Force bool
	// Progress, when set, hears every attempt.
	Progress func(seq uint64, a Attempt)
}

// ReplayResult says what a replay delivered.
type ReplayResult struct {
	Delivered       int    // events the endpoint accepted
	FirstSeq        uint64 // stream sequence of the first one, 0 when none
	LastSeq         uint64 // and of the last one
	FailedSeq       uint64 // the event that could not be delivered, 0 when none
	FailedStoreTime time.Time
}

// ErrEndpointDisabled is returned by Replay for a disabled endpoint without Force.
var ErrEndpointDisabled = errors.New("audit: endpoint is disabled; enable it first or force the replay")

// Replay sends the events the endpoint takes (its subject filter) that the audit stream stored
// in [Since, Until) to the endpoint again, in stream order, shaped and signed as usual, with the
// same webhook-id as their first delivery: a receiver that keeps ids drops what it already has.
// It reads the relay stream (the audit stream's mirror) through its own ordered consumer, so the endpoint's durable consumer, its
// position and its backlog are untouched; it may run while the relay runs. It stops at the first
// event it cannot deliver after opt.Attempts tries and reports that event, so that a rerun with
// Since set to FailedStoreTime picks up there. Nothing it sends is dead-lettered.
func (r *Relay) Replay(ctx context.Context, endpoint string, opt ReplayOptions) (ReplayResult, error) {
	var res ReplayResult
	er := r.byName[endpoint]
	if er == nil {
		return res, fmt.Errorf("audit: replay: no endpoint %q is configured", audit.Clip(endpoint, 64))
	}
	if opt.Since.IsZero() {
		return res, errors.New("audit: replay: since is required")
	}
	opt.Until = cmp.Or(opt.Until, r.now())
	opt.Attempts, opt.RetryDelay = cmp.Or(opt.Attempts, 5), cmp.Or(opt.RetryDelay, time.Second)
	if st, err := r.admin.State(ctx, endpoint); err != nil {
		return res, err
	} else if !st.Enabled && !opt.Force {
		return res, fmt.Errorf("%w (%s: %s)", ErrEndpointDisabled, endpoint, st.Reason)
	}
	defer er.send.close()
	lastSeq, err := r.waitMirrored(ctx)
	if err != nil {
		return res, fmt.Errorf("audit: replay: %w", err)
	}
	since := opt.Since
	cons, err := r.cfg.JetStream.OrderedConsumer(ctx, r.cfg.RelayStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: er.ep.Subjects, DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since,
	})
	if err != nil {
		return res, fmt.Errorf("audit: replay: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil || info.NumPending == 0 {
		return res, err
	}
	iter, err := cons.Messages()
	if err != nil {
		return res, fmt.Errorf("audit: replay: %w", err)
	}
	defer iter.Stop()
	for {
		msg, err := iter.Next(jetstream.NextContext(ctx))
		if err != nil {
			return res, fmt.Errorf("audit: replay: %w", err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return res, fmt.Errorf("audit: replay: %w", err)
		}
		seq := md.Sequence.Stream
		if seq > lastSeq || !md.Timestamp.Before(opt.Until) {
			return res, nil
		}
		if err := r.replayOne(ctx, er, msg, seq, opt); err != nil {
			res.FailedSeq, res.FailedStoreTime = seq, md.Timestamp
			return res, err
		}
		res.Delivered++
		res.FirstSeq = cmp.Or(res.FirstSeq, seq)
		res.LastSeq = seq
		if md.NumPending == 0 {
			return res, nil
		}
	}
}

// replayOne tries one event up to opt.Attempts times.
func (r *Relay) replayOne(ctx context.Context, er *endpointRunner, msg jetstream.Msg, seq uint64, opt ReplayOptions) error {
	d, err := prepareDelivery(msg.Data(), seq, msg.Subject())
	if err != nil {
		return fmt.Errorf("audit: replay: sequence %d: %w", seq, err)
	}
	wait := opt.RetryDelay
	for i := 1; ; i++ {
		a := er.send.send(ctx, d, r.now())
		if a.aborted {
			return ctx.Err()
		}
		r.cfg.Observer.Attempted(er.ep.Name, a.Label(), time.Duration(a.DurationMS)*time.Millisecond)
		if opt.Progress != nil {
			opt.Progress(seq, a)
		}
		switch {
		case a.ok():
			return nil
		case a.Result == "gone":
			return fmt.Errorf("audit: replay: sequence %d: %s", seq, a.Error)
		case i >= opt.Attempts:
			return fmt.Errorf("audit: replay: sequence %d: %d attempts failed, last: %s", seq, i, a.Error)
		}
		if !ctxsleep.Sleep(ctx, max(wait, min(a.retryAfter, time.Minute))) {
			return ctx.Err()
		}
		wait *= 2
	}
}
