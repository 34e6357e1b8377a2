package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// endpointRunner delivers to one endpoint: it follows the endpoint's state, and while enabled
// fetches from the endpoint's consumer and delivers with up to Concurrency deliveries in flight.
type endpointRunner struct {
	r       *Relay
	ep      Endpoint
	send    *sender
	stateCh chan EndpointState // latest state wins; only forwardStates and Run write
	log     *zap.Logger
}

// errShutdown cancels deliveries still in flight ShutdownTimeout after fetching stopped.
var errShutdown = errors.New("audit: relay shutting down")

// setState replaces any state the runner has not read yet with st.
func (er *endpointRunner) setState(st EndpointState) {
	select {
	case <-er.stateCh:
	default:
	}
	er.stateCh <- st
}

// consumerConfig is the endpoint's durable consumer. AckWait outlasts an attempt plus the
// bookkeeping after it; MaxDeliver is unlimited because the relay counts attempts itself (every
// Nak would count toward MaxDeliver, and BackOff applies only to AckWait timeouts);
// MaxAckPending = Concurrency, across every relay process, which is what keeps order at 1.
func (er *endpointRunner) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        ConsumerName(er.ep.Name),
		Description:    "webhook relay to endpoint " + er.ep.Name,
		FilterSubjects: er.ep.Subjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        max(30*time.Second, 2*er.ep.Timeout),
		MaxDeliver:     -1,
		MaxAckPending:  er.ep.Concurrency,
	}
}

// ensureConsumer creates the consumer or brings it to the configuration and to st: paused while
// disabled, running while enabled. An existing consumer keeps where it starts from.
func (er *endpointRunner) ensureConsumer(ctx context.Context, st EndpointState) (jetstream.Consumer, error) {
	cfg := er.consumerConfig()
	stream, cname := er.r.cfg.AuditStream, ConsumerName(er.ep.Name)
	existing, err := er.r.cfg.JetStream.Consumer(ctx, stream, cname)
	switch {
	case err == nil:
		have := existing.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = have.DeliverPolicy, have.OptStartSeq, have.OptStartTime
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		start, _ := er.ep.startTime()
		switch {
		case er.ep.StartAt == "all":
			cfg.DeliverPolicy = jetstream.DeliverAllPolicy
		case !start.IsZero():
			cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
		default:
			cfg.DeliverPolicy = jetstream.DeliverNewPolicy
		}
	default:
		return nil, fmt.Errorf("audit: endpoint %s: consumer %s: %w", er.ep.Name, cname, err)
	}
	if !st.Enabled {
		until := er.r.now().Add(pauseFor)
		cfg.PauseUntil = &until // an update without PauseUntil would resume the consumer
	}
	cons, err := er.r.cfg.JetStream.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: endpoint %s: create consumer %s on %s: %w", er.ep.Name, cname, stream, err)
	}
	return cons, nil
}

// run follows the endpoint's state until ctx ends: idle while disabled, consuming while enabled.
func (er *endpointRunner) run(ctx context.Context) {
	st := <-er.stateCh
	for ctx.Err() == nil {
		er.r.cfg.Observer.EndpointEnabled(er.ep.Name, st.Enabled)
		cons, err := er.ensureConsumer(ctx, st)
		if err != nil {
			er.log.Warn("endpoint consumer", zap.Error(err))
			if sleepCtx(ctx, 5*time.Second) {
				continue
			}
			return
		}
		if !st.Enabled {
			er.log.Warn("endpoint disabled; its events wait in the audit stream", zap.String("reason", st.Reason))
			select {
			case <-ctx.Done():
				return
			case st = <-er.stateCh:
				continue
			}
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- er.consume(runCtx, cons) }()
		select {
		case <-ctx.Done():
			stop()
			<-done
			return
		case st = <-er.stateCh:
			stop()
			<-done
		case err := <-done:
			stop()
			er.log.Warn("endpoint consumer stopped; reopening", zap.Error(err))
			sleepCtx(ctx, time.Second)
		}
	}
}

// consume fetches and delivers until ctx ends, then waits for deliveries in flight (for up to
// ShutdownTimeout, after which it cancels them). It returns an error when the consumer is gone.
func (er *endpointRunner) consume(ctx context.Context, cons jetstream.Consumer) error {
	n := er.ep.Concurrency
	iter, err := cons.Messages(jetstream.PullMaxMessages(n))
	if err != nil {
		return fmt.Errorf("audit: endpoint %s: open consumer: %w", er.ep.Name, err)
	}
	defer iter.Stop()
	workCtx, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(nil)
	sem, wg := make(chan struct{}, n), sync.WaitGroup{}
	var stopErr error
	for {
		msg, err := iter.Next(jetstream.NextContext(ctx))
		if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			if msg != nil {
				_ = msg.Nak()
			}
			break
		}
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
			stopErr = err
			break
		}
		if err != nil {
			er.log.Debug("next message", zap.Error(err))
			sleepCtx(ctx, 100*time.Millisecond)
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			er.handle(workCtx, msg)
		})
	}
	iter.Stop()
	t := time.AfterFunc(er.r.cfg.ShutdownTimeout, func() { cancelWork(errShutdown) })
	defer t.Stop()
	wg.Wait()
	return stopErr
}

// sleepCtx waits d or until ctx ends; it reports whether the full wait happened.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
