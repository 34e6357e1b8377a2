package budget

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// ErrClosed is returned by Wait once the Budget is closed.
var ErrClosed = errors.New("budget: closed")

// Budget is one worker's handle on the fleet-wide rate budget of one OAuth
// client. Wait blocks until the fleet may send one more request; Observe
// hears every response. Create it with New; it runs two goroutines until
// Close, which the owner calls once the Genesys client is no longer used.
// It is safe for concurrent use.
type Budget struct {
	cfg   Config
	p     params
	store Store
	cache *lastWrite // store, answering with this worker's last write; cache.Store reads past it (what an operator wrote)
	log   *zap.Logger
	m     *Metrics
	fb    *fallback

	mu       sync.Mutex
	queues   map[priority.Priority][]*waiter // FIFO per priority: Urgent and Normal
	pause    int64                           // the latest pause end this worker knows of (Unix ns)
	gen      uint64                          // the operators' resumes this worker has seen (state.Resumes)
	pauseGen uint64                          // gen when the pause was set: a resume counted later clears it
	checked  time.Time                       // when a local pause last looked for an operator's resume in KV
	last     state                           // the state as last read or written
	pending  pending                         // observations not yet stored
	closed   bool

	kick  chan struct{} // a waiter arrived
	flush chan struct{} // an observation is pending
	done  chan struct{}
	wg    sync.WaitGroup
}

type waiter struct {
	ch      chan struct{} // closed on grant
	granted bool
}

// New starts a Budget. The caller must Close it.
func New(cfg Config) (*Budget, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Budget{
		cfg: cfg, p: cfg.params(), store: cfg.Store, log: cfg.Logger.Named("budget"), m: cfg.Metrics,
		queues: map[priority.Priority][]*waiter{},
		kick:   make(chan struct{}, 1), flush: make(chan struct{}, 1), done: make(chan struct{}),
	}
	if b.store == nil {
		b.store = NewKVStore(cfg.KV, cfg.Key)
	}
	b.cache = &lastWrite{Store: b.store}
	b.store = b.cache
	b.fb = newFallback(cfg)
	b.m.setInForce(cfg.Limit)
	b.wg.Go(b.acquireLoop)
	b.wg.Go(b.flushLoop)
	return b, nil
}

// Close stops the Budget's goroutines after a last attempt to store a
// pending pause; waiting callers get ErrClosed. It is safe to call twice.
func (b *Budget) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	close(b.done)
	b.wg.Wait()
	b.flushPending()
	return nil
}

// Interval is the emission interval of the configured budget: the fleet's
// steady spacing between grants.
func (b *Budget) Interval() time.Duration { return b.p.interval(b.cfg.Limit) }

// Wait blocks until one request of priority p may be sent, ctx ends (its
// error) or the Budget is closed (ErrClosed). Urgent requests are granted
// before normal ones across the fleet; any priority but Urgent is normal.
func (b *Budget) Wait(ctx context.Context, p priority.Priority) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p = p.Normalized()
	start := time.Now()
	w := &waiter{ch: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.queues[p] = append(b.queues[p], w)
	b.mu.Unlock()
	signal(b.kick)
	select {
	case <-w.ch:
		b.m.observeWait(p, time.Since(start))
		return nil
	case <-ctx.Done():
	case <-b.done:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if w.granted {
		b.m.observeWait(p, time.Since(start))
		return nil
	}
	for i, x := range b.queues[p] {
		if x == w {
			b.queues[p] = append(b.queues[p][:i], b.queues[p][i+1:]...)
			break
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return ErrClosed
}

// head returns the priority the next grant goes to and how many wait there.
func (b *Budget) head() (priority.Priority, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n := len(b.queues[priority.Urgent]); n > 0 {
		return priority.Urgent, min(n, b.cfg.MaxBatch)
	}
	return priority.Normal, min(len(b.queues[priority.Normal]), b.cfg.MaxBatch)
}

// grant releases up to n waiters of priority p, oldest first. Grants for
// waiters that left meanwhile are lost, which only leaves budget unused.
func (b *Budget) grant(p priority.Priority, n int, mode string) {
	b.mu.Lock()
	q := b.queues[p]
	n = min(n, len(q))
	for _, w := range q[:n] {
		w.granted = true
		close(w.ch)
	}
	b.queues[p] = append(q[:0], q[n:]...)
	b.mu.Unlock()
	b.m.addGrants(p, mode, n)
}

// acquireLoop serves the local queues, urgent first, one compare-and-set
// at a time: one acquirer per worker keeps KV traffic to a few operations
// per grant whatever the worker's concurrency.
func (b *Budget) acquireLoop() {
	for {
		p, n := b.head()
		if n == 0 {
			select {
			case <-b.kick:
				continue
			case <-b.done:
				return
			}
		}
		wait := b.step(p, n)
		if wait > 0 && !b.sleep(p, wait) {
			return
		}
	}
}

// sleep waits d, or less when an urgent request arrives while normal ones
// are being served. It returns false when the Budget is closing.
func (b *Budget) sleep(p priority.Priority, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-b.done:
			return false
		case <-b.kick:
			if hp, _ := b.head(); hp == priority.Urgent && p != priority.Urgent {
				return true
			}
		}
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
