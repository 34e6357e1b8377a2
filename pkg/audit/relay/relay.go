package relay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Config configures a [Relay]. Every field but JetStream and Endpoints has a default; the
// defaults match the names of DESIGN.md (jobs.Names), which this package cannot import.
type Config struct {
	// JetStream reaches the audit stream, the state bucket and the dead-letter stream. Required.
	JetStream jetstream.JetStream
	// Prefix starts the subjects of ops events (<prefix>.audit.ops.<kind>) and relay dead letters
	// (<prefix>.dead.relay.<endpoint>, which the dead-letter stream's <prefix>.dead.> captures).
	// Defaults to "genesys".
	Prefix string
	// AuditStream is the stream the relay reads. Defaults to the prefix in upper case with '.'
	// and '-' as '_', then "_AUDIT": GENESYS_AUDIT.
	AuditStream string
	// RelayStream is the stream the relay's consumers read: a mirror of AuditStream that only the
	// relay's NATS user may consume, so that no other role can fetch from, ack, change or delete
	// the relay's consumers (review D8). The relay creates it when missing. Defaults to
	// AuditStream+"_RELAY": GENESYS_AUDIT_RELAY.
	RelayStream string
	// Subjects is what an endpoint without its own Subjects receives. Defaults to <prefix>.audit.>.
	Subjects []string
	// DeadStream, when set, is the stream every relay dead letter must land in. Defaults to ""
	// (any stream that captures the subject; the publish fails when none does).
	DeadStream string
	// StateBucket is the KV bucket of endpoint states and of the attempts of events being
	// retried; created with History 1 when missing. Defaults to the prefix with '.' as '-', then
	// "-relay": genesys-relay.
	StateBucket string
	// Replicas of the state bucket when the relay creates it. Defaults to 1.
	Replicas int
	// Endpoints receive the events. Names must be unique. At least one for Run.
	Endpoints []Endpoint
	// Origin is the CloudEvents source of the relay's ops events. Defaults to the zero Origin.
	Origin audit.Origin
	// Logger receives the relay's logs; never a secret or a URL's query. Defaults to zap.NewNop().
	Logger *zap.Logger
	// Observer hears every attempt, for metrics. Defaults to one that does nothing.
	Observer Observer
	// MonitorInterval is how often the relay measures each endpoint's backlog. Defaults to 30 s.
	MonitorInterval time.Duration
	// BacklogWarnRatio is the share of the audit stream's MaxAge the oldest undelivered event of
	// an endpoint may reach before the relay emits a relay_backlog_at_risk ops event (at most one
	// a day per endpoint). Defaults to 0.8.
	BacklogWarnRatio float64
	// ConsumerCheckInterval is how often the relay checks that each endpoint's consumer is still
	// the one it made (not deleted, replaced or changed) and records how far it has delivered.
	// Defaults to 1 min.
	ConsumerCheckInterval time.Duration
	// ShutdownTimeout is how long deliveries in flight may finish when Run's context ends; then
	// they are cancelled and their events handed back without counting as attempts. Defaults to 20 s.
	ShutdownTimeout time.Duration

	nowFunc    func() time.Time                  // tests
	lookup     lookupFunc                        // tests: DNS without DNS
	jitterFunc func(time.Duration) time.Duration // tests; default adds up to 20 %
}

func (c Config) withDefaults() Config {
	c.Prefix = cmp.Or(c.Prefix, audit.DefaultPrefix)
	c.AuditStream = cmp.Or(c.AuditStream, strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(c.Prefix))+"_AUDIT")
	c.RelayStream = cmp.Or(c.RelayStream, c.AuditStream+"_RELAY")
	if len(c.Subjects) == 0 {
		c.Subjects = []string{audit.Subjects(c.Prefix)}
	}
	c.StateBucket = cmp.Or(c.StateBucket, strings.ReplaceAll(c.Prefix, ".", "-")+"-relay")
	c.Replicas = cmp.Or(c.Replicas, 1)
	c.Logger = cmp.Or(c.Logger, zap.NewNop())
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	c.MonitorInterval = cmp.Or(c.MonitorInterval, 30*time.Second)
	c.BacklogWarnRatio = cmp.Or(c.BacklogWarnRatio, 0.8)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, 20*time.Second)
	c.ConsumerCheckInterval = cmp.Or(c.ConsumerCheckInterval, time.Minute)
	if c.nowFunc == nil {
		c.nowFunc = time.Now
	}
	if c.jitterFunc == nil {
		c.jitterFunc = func(d time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(d)/5 + 1)) }
	}
	c.Endpoints = slices.Clone(c.Endpoints) // the caller's slice stays as it was
	for i := range c.Endpoints {
		c.Endpoints[i] = c.Endpoints[i].withDefaults(c.Subjects)
	}
	return c
}

func (c Config) validate() error {
	if c.JetStream == nil {
		return errors.New("audit: relay: nil JetStream")
	}
	if !audit.ValidPrefix(c.Prefix) {
		return fmt.Errorf("audit: relay: invalid subject prefix %q", c.Prefix)
	}
	if c.BacklogWarnRatio <= 0 || c.BacklogWarnRatio >= 1 || c.MonitorInterval <= 0 || c.ShutdownTimeout <= 0 || c.ConsumerCheckInterval <= 0 {
		return errors.New("audit: relay: BacklogWarnRatio must be in (0, 1), MonitorInterval, ConsumerCheckInterval and ShutdownTimeout positive")
	}
	return validateEndpoints(c.Endpoints)
}

// CheckEndpoints reports what [New] would refuse in endpoints, with the defaults of a relay
// on prefix applied, without connecting anywhere: for commands that must tell a bad
// configuration from a failure to start. Errors never carry a secret.
func CheckEndpoints(prefix string, endpoints []Endpoint) error {
	cfg := Config{Prefix: prefix, Endpoints: endpoints}.withDefaults()
	if !audit.ValidPrefix(cfg.Prefix) {
		return fmt.Errorf("audit: relay: invalid subject prefix %q", cfg.Prefix)
	}
	return validateEndpoints(cfg.Endpoints)
}

func validateEndpoints(endpoints []Endpoint) error {
	seen := map[string]bool{}
	var errs []error
	for _, e := range endpoints {
		if seen[e.Name] {
			errs = append(errs, fmt.Errorf("audit: endpoint %s: configured twice", e.Name))
		}
		seen[e.Name] = true
		if err := e.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Relay delivers every audit event to every configured endpoint, at least once, in order per
// endpoint (with Concurrency 1), signed, and never drops one silently: an event an endpoint will
// not take goes to <prefix>.dead.relay.<endpoint> with every attempt's status. Each endpoint has
// its own durable consumer relay-<name> on the relay stream (a mirror of the audit stream that
// only the relay consumes), so a slow or dead endpoint delays no other, and any number of relay
// processes may run with the same configuration: they share the consumers. The relay records how
// far each consumer has delivered and recreates a consumer it finds deleted or altered from
// there, with an ops event, never from "new". Build one with [New] and call Run; a Relay is safe for concurrent use, and
// Run may be called once.
type Relay struct {
	cfg     Config
	admin   *EndpointAdmin
	runners []*endpointRunner
	byName  map[string]*endpointRunner
	started atomic.Bool
	log     *zap.Logger

	mirrorSeq   uint64    // the relay stream's last sequence at the monitor's last check; monitor goroutine only
	mirrorMoved time.Time // when the monitor saw mirrorSeq change last
}

// New checks cfg, opens (or creates) the state bucket and the relay stream (which needs the
// audit stream). It creates no consumer and starts nothing; Run does. Errors start with "audit: ".
func New(ctx context.Context, cfg Config) (*Relay, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := ensureRelayStream(ctx, cfg); err != nil {
		return nil, err
	}
	admin, err := newEndpointAdmin(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r := &Relay{cfg: cfg, admin: admin, byName: map[string]*endpointRunner{}, log: cfg.Logger.Named("relay")}
	for _, ep := range cfg.Endpoints {
		s, err := newSender(ep, cfg.lookup)
		if err != nil {
			return nil, err
		}
		er := &endpointRunner{r: r, ep: ep, send: s, stateCh: make(chan EndpointState, 1),
			recreated: make(chan struct{}, 1), log: r.log.With(zap.String("endpoint", ep.Name))}
		r.runners = append(r.runners, er)
		r.byName[ep.Name] = er
	}
	return r, nil
}

// Admin returns the endpoint administration of the relay's stream and bucket.
func (r *Relay) Admin() *EndpointAdmin { return r.admin }

func (r *Relay) now() time.Time { return r.cfg.nowFunc() }

// Run creates or updates each endpoint's consumer, delivers until ctx ends, then stops fetching,
// lets deliveries in flight finish for up to ShutdownTimeout and returns. Every goroutine it
// starts has ended when it returns. It returns an error only when it cannot start.
func (r *Relay) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("audit: relay: Run called twice")
	}
	if len(r.runners) == 0 {
		return errors.New("audit: relay: no endpoints configured")
	}
	defer func() {
		for _, er := range r.runners {
			er.send.close()
		}
	}()
	watcher, states, err := r.admin.watchStates(ctx)
	if err != nil {
		return startErr(ctx, err)
	}
	defer watcher.Stop() //nolint:errcheck
	consumers, applied := make([]jetstream.Consumer, len(r.runners)), make([]EndpointState, len(r.runners))
	for i, er := range r.runners {
		applied[i] = stateOrDefault(states, er.ep.Name)
		if consumers[i], err = er.ensureConsumer(ctx, applied[i]); err != nil {
			return startErr(ctx, err)
		}
		select {
		case <-er.recreated: // consumers[i] is the recreated one; the runner has not fetched yet
		default:
		}
		er.stateCh <- applied[i]
	}
	r.log.Info("relay started", zap.Int("endpoints", len(r.runners)), zap.String("stream", r.cfg.RelayStream),
		zap.String("mirror_of", r.cfg.AuditStream))
	var wg sync.WaitGroup
	for i, er := range r.runners {
		wg.Go(func() { er.run(ctx, consumers[i], applied[i]) })
	}
	wg.Go(func() { r.forwardStates(ctx, watcher) })
	wg.Go(func() { r.monitor(ctx) })
	wg.Go(func() { r.checkConsumers(ctx) })
	wg.Wait()
	r.log.Info("relay stopped")
	return nil
}

// startErr is nil when the start failed because ctx ended: stopping early is not a failure.
func startErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// forwardStates hands every state change to its endpoint's runner.
func (r *Relay) forwardStates(ctx context.Context, w jetstream.KeyWatcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				continue
			}
			name, st := decodeStateEntry(e)
			if er := r.byName[name]; er != nil {
				er.setState(st)
			}
		}
	}
}

// retryDelay is the wait before the attempt after the n-th failed one: the schedule's delay plus
// jitter, or Retry-After (capped) when that is longer.
func (er *endpointRunner) retryDelay(n int, retryAfter time.Duration) time.Duration {
	d := er.ep.Schedule[n-1]
	d += er.r.cfg.jitterFunc(d)
	return max(d, min(retryAfter, er.ep.RetryAfterCap))
}
