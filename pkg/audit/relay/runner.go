package relay

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

	mu        sync.Mutex    // serializes ensureConsumer between the runner and the periodic check
	recreated chan struct{} // ensureConsumer recreated the consumer: the runner's fetches are stale
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

// run follows the endpoint's state until ctx ends: idle while disabled, consuming while enabled.
// cons is the consumer Run has just brought to state applied; any other state is applied here.
func (er *endpointRunner) run(ctx context.Context, cons jetstream.Consumer, applied EndpointState) {
	st := <-er.stateCh
	if st != applied { // the state changed since Run applied it
		cons = nil
	}
	for ctx.Err() == nil {
		er.r.cfg.Observer.EndpointEnabled(er.ep.Name, st.Enabled)
		c, err := cons, error(nil)
		cons = nil // every later state is applied afresh
		if c == nil {
			c, err = er.ensureConsumer(ctx, st)
			select {
			case <-er.recreated: // c is the recreated consumer already
			default:
			}
		}
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
		go func() { done <- er.consume(runCtx, c) }()
		select {
		case <-ctx.Done():
			stop()
			<-done
			return
		case st = <-er.stateCh:
			stop()
			<-done
		case <-er.recreated:
			// The periodic check replaced the consumer while this runner fetched from the old
			// one, whose pull requests may have vanished with it unanswered: fetch afresh.
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
