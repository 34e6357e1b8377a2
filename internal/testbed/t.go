package testbed

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// T is a bed for one test: its methods fail the test instead of returning errors, and its waits
// end after Timeout. New closes it when the test ends.
type T struct {
	*Bed
	TB testing.TB // the test the bed belongs to
}

// New starts a bed for the test t.
func New(t testing.TB, cfg Config) *T {
	t.Helper()
	b, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	t.Cleanup(b.Close)
	return &T{Bed: b, TB: t}
}

// ctx is the test's context, ended after Timeout.
func (b *T) ctx() context.Context {
	ctx, cancel := context.WithTimeoutCause(b.TB.Context(), Timeout, fmt.Errorf("testbed: gave up after %s", Timeout))
	b.TB.Cleanup(cancel)
	return ctx
}

func (b *T) check(err error) {
	b.TB.Helper()
	if err != nil {
		b.TB.Fatal(err)
	}
}

// Client is NewClient for the bed's simulator.
func (b *T) Client(opts ...genesys.Option) *genesys.Client {
	b.TB.Helper()
	c, err := NewClient(b.SimURL, opts...)
	b.check(err)
	return c
}

// Worker is StartWorker with the test's logger; the test's cleanup stops the worker and fails
// the test if Run returned an error.
func (b *T) Worker(cfg WorkerConfig, setup ...Setup) *Worker {
	b.TB.Helper()
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(b.TB)
	}
	w, err := b.StartWorker(b.TB.Context(), cfg, setup...)
	b.check(err)
	b.TB.Cleanup(func() {
		if err := w.Stop(); err != nil {
			b.TB.Errorf("worker Run: %v", err)
		}
	})
	return w
}

// Enqueue publishes a deactivation job for each user reference, with an id made of its index
// and the test's name, and returns the ids. edit, when set, changes each job before it goes.
func (b *T) Enqueue(refs []jobs.UserRef, edit func(*jobs.Job)) []string {
	b.TB.Helper()
	ids := make([]string, 0, len(refs))
	for i, ref := range refs {
		j := jobs.Job{ID: fmt.Sprintf("job-%d-%s", i, strings.ReplaceAll(b.TB.Name(), "/", "_")), Action: jobs.ActionDeactivate,
			User: ref, RequestedBy: "hr-system", Reason: "left the company", Ticket: "HR-1"}
		if edit != nil {
			edit(&j)
		}
		if _, err := b.Pub.Enqueue(b.TB.Context(), j); err != nil {
			b.TB.Fatalf("enqueue %+v: %v", ref, err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

// WaitDone waits until every job of ids has a done status and returns their statuses.
func (b *T) WaitDone(ids ...string) map[string]jobs.Status {
	b.TB.Helper()
	out, err := b.Bed.WaitDone(b.ctx(), ids...)
	b.check(err)
	return out
}

// SimChanges signals at once and after each request the simulator answers, until the test ends.
func (b *T) SimChanges() <-chan struct{} { return b.Bed.SimChanges(b.TB.Context()) }

// Watch follows keys of a bucket (all when none is given) until the test ends.
func (b *T) Watch(bucket string, keys ...string) <-chan jetstream.KeyValueEntry {
	b.TB.Helper()
	ch, err := b.Bed.Watch(b.TB.Context(), bucket, keys...)
	b.check(err)
	return ch
}

// Subscribe signals at once and after each NATS message on subject, until the test ends.
func (b *T) Subscribe(subject string) <-chan struct{} {
	b.TB.Helper()
	ch, err := b.Bed.Subscribe(b.TB.Context(), subject)
	b.check(err)
	return ch
}

// WaitUntil waits, at most Timeout, until cond holds, asking it again after each event of
// Activity (see there for what cond may do).
func (b *T) WaitUntil(what string, cond func() bool) {
	b.TB.Helper()
	ctx, cancel := context.WithCancel(b.TB.Context())
	defer cancel()
	ch, err := b.Bed.Activity(ctx)
	b.check(err)
	WaitFor(b.TB, what, ch, Until[struct{}](cond))
}

// WaitPaused waits, at most Timeout, until cond holds, asking it again after each event of
// PauseChanges. cond is where a test asks workers whether they are paused.
func (b *T) WaitPaused(what string, cond func() bool) {
	b.TB.Helper()
	ctx, cancel := context.WithCancel(b.TB.Context())
	defer cancel()
	ch, err := b.Bed.PauseChanges(ctx)
	b.check(err)
	WaitFor(b.TB, what, ch, Until[struct{}](cond))
}

// Messages follows a stream's messages on subjects (all when none is given) until the test ends.
func (b *T) Messages(stream string, subjects ...string) <-chan jetstream.Msg {
	b.TB.Helper()
	ch, err := b.Bed.Messages(b.TB.Context(), stream, subjects...)
	b.check(err)
	return ch
}

// WaitFor waits, at most Timeout, until done accepts an event of events; what names the wait in
// the failure. See Await.
func WaitFor[E any](t testing.TB, what string, events <-chan E, done func(E) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	if err := Await(ctx, events, done); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Until adapts a condition to WaitFor: it ignores the event and asks cond.
func Until[E any](cond func() bool) func(E) bool { return func(E) bool { return cond() } }

// RestartNATS is Bed.RestartNATS, failing the test on an error.
func (b *T) RestartNATS() {
	b.TB.Helper()
	b.check(b.Bed.RestartNATS())
}
