package testbed

// Everything the bed knows about the worker (package worker) is in this file.

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// The bed's defaults, for every test and benchmark; a caller that needs another value sets it.
// They make failures and retries fast without making a loaded machine (2 cores, -race) look like
// a stalled worker:
const (
	// defaultAckWait is long enough that a slow handler is not redelivered by accident on a
	// loaded machine, short enough that a crashed worker's job comes back within a test.
	defaultAckWait = 5 * time.Second
	// defaultPollWait: a worker notices a stop, a released lane or an urgent job within 50 ms.
	defaultPollWait = 50 * time.Millisecond
	// defaultBackoff between attempts: a retried job is retried at once, not after production's
	// seconds.
	defaultBackoff = 20 * time.Millisecond
	// defaultMaxElapsedTime bounds one Genesys call's retries of 5xx and network errors: room for
	// a transient fault to pass, but a permanently failing route costs 2 s, not production's 30 s.
	defaultMaxElapsedTime = 2 * time.Second
)

// NewClient returns a Genesys client for the simulator at simURL with the simulator's default
// credentials, no client-side rate limit (1,000,000 requests/s) and the bed's retry bound; opts
// come after these and win.
func NewClient(simURL string, opts ...genesys.Option) (*genesys.Client, error) {
	return genesys.NewClient(simURL, append([]genesys.Option{
		genesys.WithCredentials(genesyssim.DefaultClientID, genesyssim.DefaultClientSecret),
		genesys.WithLimiter(genesys.NewRateLimiter(1_000_000, time.Second)),
		genesys.WithMaxElapsedTime(defaultMaxElapsedTime),
	}, opts...)...)
}

// WorkerConfig is the worker's configuration, as the bed passes it on.
type WorkerConfig = worker.Config

// Worker is a worker that Runs until Stop.
type Worker struct {
	*worker.Worker
	cancel context.CancelFunc
	done   chan error
	closed func() // after Run: closes what StartWorker opened
	once   sync.Once
	err    error
}

// Setup changes a worker after it is built and before it runs (a test's fixed clock, say).
type Setup func(*worker.Worker)

// RunWorker starts a worker with cfg, whose JetStream and Genesys must be set; the bed's
// defaults fill the other zero fields, and setup runs before Run. The worker runs until Stop,
// not until ctx ends (ctx only bounds its start), so that a test's cleanup can still stop it.
func RunWorker(ctx context.Context, cfg WorkerConfig, setup ...Setup) (*Worker, error) {
	if cfg.Backoff == nil {
		cfg.Backoff = func(int) time.Duration { return defaultBackoff }
	}
	cfg.AckWait = cmp.Or(cfg.AckWait, defaultAckWait)
	cfg.PollWait = cmp.Or(cfg.PollWait, defaultPollWait)
	cfg.Logger = cmp.Or(cfg.Logger, zap.NewNop())
	w, err := worker.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, f := range setup {
		f(w)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rw := &Worker{Worker: w, cancel: cancel, done: make(chan error, 1)}
	go func() { rw.done <- w.Run(runCtx) }()
	return rw, nil
}

// Stop ends the worker and waits until Run has returned; it returns Run's error, each time it is
// called.
func (w *Worker) Stop() error {
	w.once.Do(func() {
		w.cancel()
		w.err = <-w.done
		if w.closed != nil {
			w.closed()
		}
	})
	return w.err
}

// StartWorker runs a worker on the bed. When cfg's JetStream is nil the worker gets a NATS
// connection of its own (as a worker process has; Stop closes it) and the bed's Names; when its
// Genesys is nil, a client from NewClient. Then RunWorker's defaults apply.
func (b *Bed) StartWorker(ctx context.Context, cfg WorkerConfig, setup ...Setup) (*Worker, error) {
	if cfg.Genesys == nil {
		c, err := NewClient(b.SimURL)
		if err != nil {
			return nil, err
		}
		cfg.Genesys = c
	}
	cfg.Observer = pauseObserver{next: cfg.Observer, changed: b.pauses}
	var nc *nats.Conn
	if cfg.JetStream == nil {
		var err error
		if nc, err = nats.Connect(b.URL, nats.Name("testbed-worker")); err != nil {
			return nil, fmt.Errorf("testbed: connect worker: %w", err)
		}
		if cfg.JetStream, err = jetstream.New(nc); err != nil {
			nc.Close()
			return nil, err
		}
		cfg.Names = b.Names
	}
	w, err := RunWorker(ctx, cfg, setup...)
	if nc == nil {
		return w, err
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	w.closed = nc.Close
	return w, nil
}

// pauseObserver tells PauseChanges when a worker paused or resumed the fleet, after passing it
// on to the observer the caller gave, if any.
type pauseObserver struct {
	next    worker.Observer
	changed *broadcast
}

func (o pauseObserver) JobFinished(outcome audit.Outcome, p jobs.Priority, took, sincePublish time.Duration) {
	if o.next != nil {
		o.next.JobFinished(outcome, p, took, sincePublish)
	}
}

func (o pauseObserver) Deactivated(p jobs.Priority, sincePublish time.Duration) {
	if o.next != nil {
		o.next.Deactivated(p, sincePublish)
	}
}

func (o pauseObserver) AttemptFailed() {
	if o.next != nil {
		o.next.AttemptFailed()
	}
}

func (o pauseObserver) Paused(paused bool) {
	if o.next != nil {
		o.next.Paused(paused)
	}
	o.changed.notify()
}

// Fired and Revoked pass a worker's scheduled-job metrics on (worker.ScheduleObserver), when the
// caller's observer hears them.
func (o pauseObserver) Fired(lag time.Duration) {
	if so, ok := o.next.(worker.ScheduleObserver); ok {
		so.Fired(lag)
	}
}

func (o pauseObserver) Revoked(p jobs.Priority, sinceEffective time.Duration) {
	if so, ok := o.next.(worker.ScheduleObserver); ok {
		so.Revoked(p, sinceEffective)
	}
}

// Verified passes a read-back round on to the observer the caller gave, when it hears them.
func (o pauseObserver) Verified(ok bool, failed []string) {
	if v, is := o.next.(worker.VerifyObserver); is {
		v.Verified(ok, failed)
	}
}

// PauseChanges signals at once, when a worker of the bed pauses or resumes the fleet, and when
// the jobs consumers are paused or resumed on the server, until ctx ends: the events that change
// what Worker.Paused reports.
func (b *Bed) PauseChanges(ctx context.Context) (<-chan struct{}, error) {
	ch, err := b.subscribe(ctx, "$JS.EVENT.ADVISORY.CONSUMER.PAUSE."+b.Names.JobsStream()+".*", func(*nats.Msg) bool { return true })
	if err != nil {
		return nil, err
	}
	b.pauses.add(ctx, ch)
	return ch, nil
}
