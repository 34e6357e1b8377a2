package drift

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift/watchlist"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/lease"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// The policies for a finding.
const (
	// PolicyAlert reports the finding (the ops event) and changes nothing.
	PolicyAlert = "alert"
	// PolicyRedeactivate also enqueues an urgent deactivation job for the user.
	PolicyRedeactivate = "redeactivate"
)

// OpsKind is the kind of the ops event of a finding.
const OpsKind = "drift_found"

// Config configures a Watch. JetStream, Genesys and RatePerMinute are required.
type Config struct {
	jobs.Names
	// JetStream is the NATS JetStream context. Required.
	JetStream jetstream.JetStream
	// Genesys is the client; the watch sends its calls at normal priority, through whatever
	// limiter the client has (the fleet budget in the worker). Required.
	Genesys *genesys.Client
	// ClientID is the OAuth client the fleet uses: a re-activation the audit query attributes to
	// it alone (no person) is a reactivation of ours whose event is not stored yet, not drift.
	ClientID string
	// RatePerMinute is the fleet budget's rate (--rate-per-minute). Required.
	RatePerMinute int
	// Share is the part of RatePerMinute the watch may use, in (0, 1]. Defaults to 0.05.
	Share float64
	// Days is how long after its deactivation a user is watched. Defaults to 90.
	Days int
	// Policy is PolicyAlert or PolicyRedeactivate. Defaults to PolicyAlert.
	Policy string
	// Instance names this instance in the lease, the status and the jobs it enqueues. Defaults to
	// host name and pid.
	Instance string
	// LeaseTTL is how long the lease lasts unless renewed: a standby takes over within it after
	// the holder died. Defaults to 30 s.
	LeaseTTL time.Duration
	// MinCycle is the least time between the starts of two cycles (a short list is not re-read
	// back to back). Defaults to 1 minute.
	MinCycle time.Duration
	// StatusEvery is how often the status is written during a cycle. Defaults to 10 s.
	StatusEvery time.Duration
	// Origin says who emits the ops events.
	Origin audit.Origin
	// Logger defaults to zap.NewNop().
	Logger *zap.Logger
	// Observer hears what the watch does, for metrics and tests. Defaults to none.
	Observer Observer
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// Observer hears what a watch does. Calls come from the watch's goroutines, one at a time.
type Observer interface {
	// Active says whether this instance holds the lease.
	Active(active bool)
	// Watched is the number of users on the watch list, at the start of each cycle.
	Watched(n int)
	// Checked is one user checked, from start to end.
	Checked(userID string, start, end time.Time)
	// Found is a finding reported, of kind watchlist.KindActive or KindToken.
	Found(kind string)
	// CycleDone is a full cycle of the list, and how long it took.
	CycleDone(d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Active(bool)                          {}
func (nopObserver) Watched(int)                          {}
func (nopObserver) Checked(string, time.Time, time.Time) {}
func (nopObserver) Found(string)                         {}
func (nopObserver) CycleDone(time.Duration)              {}

func (c *Config) setDefaults() {
	c.Share = cmp.Or(c.Share, 0.05)
	c.Days = cmp.Or(c.Days, 90)
	c.Policy = cmp.Or(c.Policy, PolicyAlert)
	if c.Instance == "" {
		host, _ := os.Hostname()
		c.Instance = fmt.Sprintf("%s-%d", cmp.Or(host, "drift"), os.Getpid())
	}
	c.LeaseTTL = cmp.Or(c.LeaseTTL, 30*time.Second)
	c.MinCycle = cmp.Or(c.MinCycle, time.Minute)
	c.StatusEvery = cmp.Or(c.StatusEvery, 10*time.Second)
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports a config the watch cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.JetStream == nil || c.Genesys == nil {
		errs = append(errs, errors.New("JetStream and Genesys are required"))
	}
	if c.RatePerMinute < 1 {
		errs = append(errs, fmt.Errorf("rate per minute %d: want at least 1", c.RatePerMinute))
	}
	if c.Share < 0 || c.Share > 1 {
		errs = append(errs, fmt.Errorf("share %v: want a fraction in (0, 1]", c.Share))
	}
	if c.Days < 0 {
		errs = append(errs, fmt.Errorf("days %d: want at least 1", c.Days))
	}
	if c.Policy != "" && c.Policy != PolicyAlert && c.Policy != PolicyRedeactivate {
		errs = append(errs, fmt.Errorf("policy %q: want %s or %s", c.Policy, PolicyAlert, PolicyRedeactivate))
	}
	if c.LeaseTTL < 0 || c.MinCycle < 0 {
		errs = append(errs, errors.New("lease TTL and minimum cycle must not be negative"))
	}
	if err := c.Names.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("drift: %w", errors.Join(errs...))
	}
	return nil
}

// Watch is one drift watch instance. Create it with New and call Run.
type Watch struct {
	cfg       Config
	log       *zap.Logger
	gc        *genesys.Client
	locks     jetstream.KeyValue
	list      jetstream.KeyValue
	audits    jetstream.Stream
	feed      jetstream.Consumer
	jobs      *jobs.Publisher
	jobStatus *jobs.StatusStore // nil when the status bucket cannot be opened: a duplicate id is then taken as ours
	events    *audit.Publisher
	limiter   *rate.Limiter

	mu     sync.Mutex
	status watchlist.Status
}

// New opens what the watch needs: the locks and watch buckets, the audit stream and its drift
// consumer (all provisioned by jobs.Provision).
func New(ctx context.Context, cfg Config) (*Watch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	w := &Watch{cfg: cfg, log: cfg.Logger.Named("drift"), gc: cfg.Genesys.WithPriority(priority.Normal)}
	var err error
	if w.locks, err = cfg.JetStream.KeyValue(ctx, cfg.LocksBucket()); err != nil {
		return nil, fmt.Errorf("drift: open bucket %s: %w", cfg.LocksBucket(), err)
	}
	if w.list, err = cfg.JetStream.KeyValue(ctx, cfg.WatchBucket()); err != nil {
		return nil, fmt.Errorf("drift: open bucket %s: %w", cfg.WatchBucket(), err)
	}
	if w.audits, err = cfg.JetStream.Stream(ctx, cfg.AuditStream()); err != nil {
		return nil, fmt.Errorf("drift: open stream %s: %w", cfg.AuditStream(), err)
	}
	if w.feed, err = cfg.JetStream.Consumer(ctx, cfg.AuditStream(), cfg.DriftConsumer()); err != nil {
		return nil, fmt.Errorf("drift: open consumer %s: %w", cfg.DriftConsumer(), err)
	}
	if w.jobs, err = jobs.NewPublisher(cfg.JetStream, cfg.Names); err != nil {
		return nil, err
	}
	if w.jobStatus, err = jobs.NewStatusStore(ctx, cfg.JetStream, cfg.Names); err != nil {
		w.log.Warn("the status bucket cannot be opened; a re-deactivation id found taken is not checked", zap.Error(err))
		w.jobStatus = nil
	}
	if w.events, err = audit.NewPublisher(cfg.JetStream, audit.PublisherConfig{Prefix: cfg.EffectivePrefix(), Stream: cfg.AuditStream()}); err != nil {
		return nil, err
	}
	w.limiter = NewShareLimiter(w.cfg.RatePerMinute, w.cfg.Share)
	return w, nil
}

// CallsPerMinute is the watch's own limit: Share × RatePerMinute.
func (w *Watch) CallsPerMinute() float64 { return w.cfg.Share * float64(w.cfg.RatePerMinute) }

func (w *Watch) now() time.Time { return w.cfg.Now() }

// Run stands by and, while this instance holds the lease (package lease), watches; it returns
// nil when ctx ends.
func (w *Watch) Run(ctx context.Context) error {
	cfg := lease.Config{KV: w.locks, Key: LeaderKey, Instance: w.cfg.Instance, TTL: w.cfg.LeaseTTL, Now: w.cfg.Now,
		Lost: func() { w.log.Warn("drift watch lost its lease", zap.String("instance", w.cfg.Instance)) }}
	warn := func(err error) { w.log.Warn("cannot take the drift watch's lease", zap.Error(err)) }
	if err := lease.Run(ctx, cfg, warn, w.lead); err != nil {
		return fmt.Errorf("drift: watch the lease: %w", err)
	}
	return nil
}

// lead watches while the lease holds (ctx ends when it is lost).
func (w *Watch) lead(ctx context.Context, l *lease.Held) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.cfg.Observer.Active(true)
	defer w.cfg.Observer.Active(false)
	w.log.Info("drift watch active", zap.String("instance", w.cfg.Instance))
	w.mu.Lock()
	w.status = watchlist.Status{Instance: w.cfg.Instance, ActiveSince: w.now().UTC(), Days: w.cfg.Days, Share: w.cfg.Share,
		CallsPerMinute: w.CallsPerMinute(), Policy: w.cfg.Policy, Findings: map[string]int{}}
	w.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { w.feedLoop(lctx) })
	w.cycles(lctx, l)
	cancel()
	wg.Wait()
	w.log.Info("drift watch standing by", zap.String("instance", w.cfg.Instance))
}

// cycles runs cycle after cycle, MinCycle apart at least, until ctx ends or the lease lapses.
func (w *Watch) cycles(ctx context.Context, l *lease.Held) {
	for ctx.Err() == nil {
		began := w.now()
		if err := w.cycle(ctx, l); err != nil {
			if ctx.Err() != nil || errors.Is(err, errLeaseLapsed) {
				return
			}
			w.log.Warn("drift cycle failed", zap.Error(err))
		}
		wait := time.Until(began.Add(w.cfg.MinCycle))
		if wait <= 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

var errLeaseLapsed = errors.New("drift: the lease lapsed")

// Status returns the status as this instance last knew it (zero while standing by).
func (w *Watch) Status() watchlist.Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.status
	s.Findings = make(map[string]int, len(w.status.Findings))
	for k, v := range w.status.Findings {
		s.Findings[k] = v
	}
	return s
}
