package relay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// handle delivers one message and settles it. What happens follows from the attempt:
//
//	2xx                   Ack (the event is delivered)
//	410 Gone              the endpoint is disabled (state, consumer paused, ops event); Nak, so
//	                      the event stays first in line for when it is enabled again
//	3xx, other 4xx, 5xx,  the attempt is recorded in the state bucket; NakWithDelay(the schedule's
//	timeout, network,     next delay with jitter, or Retry-After when longer); after the last
//	egress refused        attempt the event goes to the relay dead letters with every attempt
//	relay shutting down   Nak without recording an attempt
//
// A stored message that is not a usable event goes to the dead letters at once.
func (er *endpointRunner) handle(ctx context.Context, msg jetstream.Msg) {
	defer func() {
		if p := recover(); p != nil {
			er.log.Error("delivery panicked; the event will be retried", zap.Any("panic", p))
			_ = msg.NakWithDelay(time.Minute)
		}
	}()
	md, err := msg.Metadata()
	if err != nil {
		er.log.Error("message without metadata", zap.Error(err))
		_ = msg.Nak()
		return
	}
	seq := md.Sequence.Stream
	d, err := prepareDelivery(msg.Data(), seq, msg.Subject())
	if err != nil {
		er.deadLetter(ctx, msg, md, nil, err.Error())
		return
	}
	var history []Attempt
	if md.NumDelivered > 1 { // only a redelivered event can have attempts
		if history, err = er.r.admin.loadAttempts(ctx, er.ep.Name, seq); err != nil {
			er.log.Warn("cannot read attempts; counting deliveries instead", zap.Uint64("seq", seq), zap.Error(err))
			history = make([]Attempt, int(md.NumDelivered)-1)
		}
	}
	if len(history) > len(er.ep.Schedule) { // exhausted before, but the dead letter was not stored
		er.deadLetter(ctx, msg, md, history, "every attempt failed")
		return
	}
	a := er.send.send(ctx, d, er.r.now())
	if a.aborted {
		_ = msg.Nak()
		return
	}
	er.r.cfg.Observer.Attempted(er.ep.Name, a.Label(), time.Duration(a.DurationMS)*time.Millisecond)
	switch {
	case a.ok():
		er.ack(ctx, msg, md, len(history) > 0)
	case a.Result == "gone":
		history = append(history, a)
		er.saveAttempts(ctx, seq, history)
		if st, err := er.r.admin.State(ctx, er.ep.Name); err != nil || st.Enabled { // once, also with several in flight
			er.log.Warn("endpoint answered 410 Gone; disabling it", zap.Uint64("seq", seq))
			err := er.r.admin.set(ctx, er.ep.Name, EndpointState{Enabled: false, Reason: "endpoint answered 410 Gone", Status: a.Status, ChangedBy: "relay"})
			if err != nil {
				er.log.Error("disable endpoint", zap.Error(err))
			}
		}
		_ = msg.Nak()
	default:
		history = append(history, a)
		if len(history) > len(er.ep.Schedule) {
			er.deadLetter(ctx, msg, md, history, "every attempt failed")
			return
		}
		er.saveAttempts(ctx, seq, history)
		delay := er.retryDelay(len(history), a.retryAfter)
		er.r.cfg.Observer.Retried(er.ep.Name)
		er.log.Info("delivery failed; will retry", zap.Uint64("seq", seq), zap.String("result", a.Result),
			zap.Int("status", a.Status), zap.String("error", a.Error), zap.Int("attempt", len(history)), zap.Duration("retry_in", delay))
		_ = msg.NakWithDelay(delay)
	}
}

// ack acknowledges a delivered event and waits for the server to confirm, so that a lost ack
// shows in the log; the event would then be delivered again (receivers dedupe on webhook-id).
func (er *endpointRunner) ack(ctx context.Context, msg jetstream.Msg, md *jetstream.MsgMetadata, hadAttempts bool) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		er.log.Warn("ack not confirmed; the event may be delivered again", zap.Uint64("seq", md.Sequence.Stream), zap.Error(err))
	}
	er.r.cfg.Observer.Delivered(er.ep.Name, er.r.now().Sub(md.Timestamp))
	if hadAttempts {
		if err := er.r.admin.clearAttempts(actx, er.ep.Name, md.Sequence.Stream); err != nil {
			er.log.Warn("clear attempts", zap.Error(err))
		}
	}
}

func (er *endpointRunner) saveAttempts(ctx context.Context, seq uint64, history []Attempt) {
	if err := er.r.admin.saveAttempts(context.WithoutCancel(ctx), er.ep.Name, seq, history); err != nil {
		er.log.Warn("cannot record attempt; it may be repeated", zap.Uint64("seq", seq), zap.Error(err))
	}
}

// errNoDeadLetterStream explains a dead letter no stream captured.
var errNoDeadLetterStream = errors.New("no stream captures the relay dead-letter subject")

// deadLetter stores the relay dead letter of msg, waits for the stream's acknowledgement, and
// only then terminates the message. When the dead letter cannot be stored the message is retried
// later: an event leaves the endpoint's consumer only delivered or dead-lettered.
func (er *endpointRunner) deadLetter(ctx context.Context, msg jetstream.Msg, md *jetstream.MsgMetadata, history []Attempt, reason string) {
	seq := md.Sequence.Stream
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	dl := DeadLetter{
		Endpoint: er.ep.Name, URL: redactURL(er.ep.URL), Stream: er.r.cfg.AuditStream, StreamSeq: seq, Subject: msg.Subject(), // the mirror keeps the audit stream's sequences
		StoredAt: md.Timestamp.UTC(), DeadAt: er.r.now().UTC(), Reason: reason, Attempts: history,
	}
	dl.setEvent(msg.Data())
	if err := er.r.publishDeadLetter(dctx, dl); err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			err = fmt.Errorf("%w: %w", errNoDeadLetterStream, err)
		}
		er.log.Error("cannot store relay dead letter; retrying the event later", zap.Uint64("seq", seq), zap.Error(err))
		_ = msg.NakWithDelay(time.Minute)
		return
	}
	if err := msg.TermWithReason("relay: dead-lettered: " + reason); err != nil {
		er.log.Warn("terminate dead-lettered event", zap.Uint64("seq", seq), zap.Error(err))
	}
	if len(history) > 0 {
		_ = er.r.admin.clearAttempts(dctx, er.ep.Name, seq)
	}
	er.r.cfg.Observer.DeadLettered(er.ep.Name)
	er.log.Error("event dead-lettered", zap.Uint64("seq", seq), zap.String("reason", reason), zap.Int("attempts", len(history)),
		zap.String("subject", er.r.deadSubject(er.ep.Name)))
}
