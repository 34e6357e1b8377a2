package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Await receives events until done accepts one, and fails when ctx ends or events closes first.
// Every event source of this package replays the current state before what happens next (a KV
// watch its current values, a stream its stored messages, SimChanges one event at once), so
// done sees the world as it is now and as it changes, without polling.
func Await[E any](ctx context.Context, events <-chan E, done func(E) bool) error {
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case e, ok := <-events:
			if !ok {
				return errors.New("testbed: the event source closed")
			}
			if done(e) {
				return nil
			}
		}
	}
}

// broadcast tells each subscriber that something changed. A subscriber's channel holds at most
// one pending signal: a signal it has not yet received already stands for later changes.
type broadcast struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
}

func newBroadcast() *broadcast { return &broadcast{subs: map[chan struct{}]struct{}{}} }

func (b *broadcast) notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		signal(ch)
	}
}

// subscribe returns a channel that signals at once and after each change, until ctx ends.
func (b *broadcast) subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	signal(ch)
	b.add(ctx, ch)
	return ch
}

// add signals ch after each change until ctx ends.
func (b *broadcast) add(ctx context.Context, ch chan struct{}) {
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	})
}

// SimChanges signals once at once and again after the simulator has answered each request
// (its request log and counters then include it), until ctx ends.
func (b *Bed) SimChanges(ctx context.Context) <-chan struct{} { return b.simChanges.subscribe(ctx) }

// Subscribe signals at once and after each NATS message on subject, until ctx ends. (A core
// subscription has no history: the first signal lets the waiter look at the state as it is.)
func (b *Bed) Subscribe(ctx context.Context, subject string) (<-chan struct{}, error) {
	return b.subscribe(ctx, subject, func(*nats.Msg) bool { return true })
}

// Activity signals at once and after each NATS message of anyone but the bed itself (jobs,
// acks, deliveries, KV updates, advisories) and each simulator request, until ctx ends. It is
// the event source for a condition on state that only such messages change, such as a
// consumer's delivered count or a worker's view of the fleet. The condition must not send
// messages of its own except over the bed's connection (NC, JS, Status), or it wakes itself.
func (b *Bed) Activity(ctx context.Context) (<-chan struct{}, error) {
	ch, err := b.subscribe(ctx, ">", func(m *nats.Msg) bool {
		return !strings.HasPrefix(m.Subject, bedInbox) && !strings.HasPrefix(m.Reply, bedInbox)
	})
	if err != nil {
		return nil, err
	}
	b.simChanges.add(ctx, ch)
	return ch, nil
}

func (b *Bed) subscribe(ctx context.Context, subject string, counts func(*nats.Msg) bool) (chan struct{}, error) {
	ch := make(chan struct{}, 1)
	sub, err := b.NC.Subscribe(subject, func(m *nats.Msg) {
		if counts(m) {
			signal(ch)
		}
	})
	if err == nil {
		err = b.NC.Flush() // the subscription is in place before the first look
	}
	if err != nil {
		return nil, fmt.Errorf("testbed: subscribe %s: %w", subject, err)
	}
	context.AfterFunc(ctx, func() { _ = sub.Unsubscribe() })
	signal(ch)
	return ch, nil
}

// signal sends on a channel of capacity one unless a signal is already pending.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Watch follows keys of a KV bucket (all keys when none is given): the current values first,
// then every update, until ctx ends. Deletes and purges arrive as entries too.
func (b *Bed) Watch(ctx context.Context, bucket string, keys ...string) (<-chan jetstream.KeyValueEntry, error) {
	kv, err := b.JS.KeyValue(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("testbed: open bucket %s: %w", bucket, err)
	}
	// WatchFiltered turns the keys it is given into subjects in place: give it a copy.
	filter := append([]string(nil), keys...)
	if len(filter) == 0 {
		filter = []string{">"}
	}
	w, err := kv.WatchFiltered(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("testbed: watch %s: %w", bucket, err)
	}
	out := make(chan jetstream.KeyValueEntry)
	go func() {
		defer close(out)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue // the end of the current values
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// Messages follows a stream's messages on subjects (all when none is given): the stored ones
// first, then each new one, until ctx ends.
func (b *Bed) Messages(ctx context.Context, stream string, subjects ...string) (<-chan jetstream.Msg, error) {
	c, err := b.JS.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: subjects})
	if err != nil {
		return nil, fmt.Errorf("testbed: follow %s: %w", stream, err)
	}
	out := make(chan jetstream.Msg)
	cc, err := c.Consume(func(m jetstream.Msg) {
		select {
		case out <- m:
		case <-ctx.Done():
		}
	})
	if err != nil {
		return nil, fmt.Errorf("testbed: follow %s: %w", stream, err)
	}
	context.AfterFunc(ctx, cc.Stop)
	return out, nil
}

// WaitDone waits until every job of ids has a done status, watching the status bucket, and
// returns their statuses by job id.
func (b *Bed) WaitDone(ctx context.Context, ids ...string) (map[string]jobs.Status, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	keys := ids
	if len(keys) > 64 {
		keys = nil // a consumer with thousands of filter subjects costs more than the updates it skips
	}
	entries, err := b.Watch(ctx, b.Names.StatusBucket(), keys...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]jobs.Status, len(want))
	var decodeErr error
	err = Await(ctx, entries, func(e jetstream.KeyValueEntry) bool {
		var st jobs.Status
		key := e.Key()
		if e.Operation() != jetstream.KeyValuePut || !want[key] {
			return false
		}
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			decodeErr = fmt.Errorf("testbed: status of %s: %w", key, err)
			return true
		}
		if st.State == jobs.StateDone {
			out[key] = st
		}
		return len(out) == len(want)
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return out, fmt.Errorf("testbed: %d of %d jobs done: %w", len(out), len(want), err)
	}
	return out, nil
}
