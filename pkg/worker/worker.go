package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/ctxsleep"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Config configures a Worker. JetStream and Genesys are required.
type Config struct {
	jobs.Names
	// JetStream is the NATS JetStream context. Required.
	JetStream jetstream.JetStream
	// Genesys is the Genesys Cloud client. Required.
	Genesys *genesys.Client
	// Logger receives the worker's logs. Defaults to zap.NewNop().
	Logger *zap.Logger
	// ID names this worker in job status records and dead letters. Defaults to host name and pid.
	ID string
	// Origin says who emits the audit events. Defaults to the zero Origin.
	Origin audit.Origin
	// Concurrency is how many jobs the worker holds and works on at once. Defaults to 4. One more
	// slot is kept for urgent jobs alone, so that an urgent job never waits for a normal one to
	// finish.
	Concurrency int
	// MaxAttempts is how many transient failures a job may have before it ends exhausted.
	// Defaults to 5.
	MaxAttempts int
	// Backoff is the wait before attempt n+1 after n failed attempts. Defaults to 5 s doubling
	// up to 5 min.
	Backoff func(n int) time.Duration
	// MaxConflicts is how many version conflicts one deactivation re-reads and retries within a
	// job before the attempt fails. Defaults to 3.
	MaxConflicts int
	// AckWait must equal the consumers' AckWait: the worker sends InProgress a third of it apart.
	// Defaults to 30 s.
	AckWait time.Duration
	// PollWait is how long one fetch from the normal lane waits for a job before the worker looks
	// at the urgent lane again. Defaults to 250 ms.
	PollWait time.Duration
	// ShutdownTimeout is how long jobs in flight may run on after Run's context ends; the rest
	// are handed back without an attempt. Defaults to 20 s.
	ShutdownTimeout time.Duration
	// ProbeInterval is how often a paused fleet checks whether Genesys accepts its credentials
	// again. Defaults to 15 s.
	ProbeInterval time.Duration
	// Probe repeats a call Genesys refused (403, 401, a refused grant) without changing anything,
	// and returns nil once Genesys accepts it: the fleet pause lasts while it fails, and a 403
	// it does not repeat concerns one user only. Defaults to Genesys.Probe.
	Probe func(ctx context.Context, failed error) error
	// Protect names users and roles that are never deactivated. Defaults to none.
	Protect Protection
	// Observer hears what the worker does, for metrics. Defaults to one that ignores it all.
	Observer Observer
	// Guard sets the mass-deactivation guard. Defaults to off (Limit 0).
	Guard jobs.GuardConfig
	// ReactivateGuard caps reactivations as Guard caps deactivations, under its own key
	// (jobs.ReactivateGuardKey; its Key and UrgentLimit are ignored): past Limit reactivations in
	// Window, reactivations wait for an operator. Defaults to off (Limit 0); the worker command
	// sets 10 per hour.
	ReactivateGuard jobs.GuardConfig
	// RemoveGrantsOnConflict, when Genesys refuses a deactivation with a conflict that is not
	// about the version, removes every grant of the user (recording each in the audit event) and
	// tries the deactivation once more. Needs authorization:grant:view and
	// authorization:grant:delete. Defaults to false: such a job ends "conflict".
	RemoveGrantsOnConflict bool
	// SnapshotGrants reads the user's full grants, with their divisions, before a deactivation
	// (one more call per job) and records them in the audit event, so that a reactivation can
	// restore them where they were. Defaults to false: the event records the SCIM role names.
	SnapshotGrants bool
	// SnapshotQueues reads the queues the user has joined before a deactivation (one more call
	// per page of 100) and records them in the audit event. Defaults to false.
	SnapshotQueues bool
	// Steps names the optional steps the worker runs (see [OptionalSteps] for the known ones): a
	// PhaseCut one inside the deactivation before the PATCH, the PhaseClean ones in a follow-up
	// cleanup job. An unknown name is a config error. Defaults to none (the worker command's
	// --steps has its own default, [DefaultSteps]).
	Steps []string
	// OAuthClientPolicy says what the oauth_clients step does with the OAuth clients the leaver
	// created: OAuthClientsReport records them, OAuthClientsDisable also disables each. Defaults
	// to OAuthClientsReport.
	OAuthClientPolicy string
	// ScheduledKeep must equal the topology's ScheduledKeep: how long the scheduled stream keeps
	// the fired copy of a scheduled job, which makes a later job with its id a duplicate.
	// Defaults to 400 days.
	ScheduledKeep time.Duration
	// DeleteAfter, when positive, schedules a delete job (jobs.Job.DeleteJob) that long after every
	// deactivation that ends "deactivated" (step schedule_delete). Defaults to 0: no delete.
	DeleteAfter time.Duration
	// DeleteMethod is how a delete job deletes: DeleteSCIM (SCIM DELETE with If-Match) or
	// DeleteUsers (DELETE /api/v2/users/{id}). Defaults to DeleteSCIM.
	DeleteMethod string
	// DeleteGuard caps deletes as Guard caps deactivations, under its own key
	// (jobs.DeleteGuardKey; its Key and UrgentLimit are ignored) and counter: past Limit deletes
	// in Window the delete lane is held for an operator. Defaults to off (Limit 0); the worker
	// command sets 20 per hour.
	DeleteGuard jobs.GuardConfig
	// Verify adds the read-back (step verify) to every deactivation that is not a dry run: after
	// the access cut and VerifyDelay it reads the user again and records unmapped.verified and
	// each check in the audit event (issue 17). Its reads cost 2 calls per user (3 when off_queue
	// ran) at the normal budget priority. Defaults to false; the worker command turns it on.
	Verify bool
	// VerifyDelay is how long the read-back waits after the access cut before it reads (Genesys
	// may take a moment to show a change everywhere). Defaults to 0.
	VerifyDelay time.Duration
	// OnUnverified is what a failed read-back does besides verified:false and the ops event
	// verification_failed: OnUnverifiedAlert nothing more, OnUnverifiedRetry repeats the access
	// cut once and reads back once more. Defaults to OnUnverifiedAlert.
	OnUnverified string
	// Plan returns the steps the worker runs for a job, nil for a job it does not support (which
	// ends rejected). For tests that add a step of their own. Defaults to Config.DefaultPlan.
	Plan func(job jobs.Job) []Step
}

// The values of Config.OAuthClientPolicy.
const (
	OAuthClientsReport  = "report"
	OAuthClientsDisable = "disable"
)

func (c *Config) setDefaults() {
	if c.ID == "" {
		host, _ := os.Hostname()
		c.ID = fmt.Sprintf("%s-%d", cmp.Or(host, "worker"), os.Getpid())
	}
	c.Logger = cmp.Or(c.Logger, zap.NewNop())
	c.Concurrency = cmp.Or(c.Concurrency, 4)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 5)
	if c.Backoff == nil {
		c.Backoff = attemptBackoff
	}
	c.MaxConflicts = cmp.Or(c.MaxConflicts, 3)
	c.AckWait = cmp.Or(c.AckWait, 30*time.Second)
	c.PollWait = cmp.Or(c.PollWait, 250*time.Millisecond)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, 20*time.Second)
	c.ProbeInterval = cmp.Or(c.ProbeInterval, 15*time.Second)
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	c.OAuthClientPolicy = cmp.Or(c.OAuthClientPolicy, OAuthClientsReport)
	c.DeleteMethod = cmp.Or(c.DeleteMethod, DeleteSCIM)
	c.OnUnverified = cmp.Or(c.OnUnverified, OnUnverifiedAlert)
	if c.Plan == nil {
		c.Plan = c.DefaultPlan
	}
	if c.Probe == nil && c.Genesys != nil {
		c.Probe = c.Genesys.Probe
	}
}

func (c *Config) validate() error {
	switch {
	case c.JetStream == nil:
		return errors.New("jobs: worker config: JetStream is required")
	case c.Genesys == nil:
		return errors.New("jobs: worker config: Genesys is required")
	case c.Concurrency < 1 || c.MaxAttempts < 1 || c.MaxConflicts < 0:
		return errors.New("jobs: worker config: Concurrency and MaxAttempts must be at least 1")
	case c.AckWait < time.Second:
		return errors.New("jobs: worker config: AckWait must be at least 1 s")
	case c.DeleteMethod != DeleteSCIM && c.DeleteMethod != DeleteUsers:
		return fmt.Errorf("jobs: worker config: DeleteMethod %q: want %q or %q", c.DeleteMethod, DeleteSCIM, DeleteUsers)
	case c.DeleteAfter < 0:
		return errors.New("jobs: worker config: DeleteAfter must not be negative")
	case c.OnUnverified != OnUnverifiedAlert && c.OnUnverified != OnUnverifiedRetry:
		return fmt.Errorf("jobs: worker config: OnUnverified %q: want %q or %q", c.OnUnverified, OnUnverifiedAlert, OnUnverifiedRetry)
	case c.VerifyDelay < 0:
		return errors.New("jobs: worker config: VerifyDelay must not be negative")
	case c.OAuthClientPolicy != OAuthClientsReport && c.OAuthClientPolicy != OAuthClientsDisable:
		return fmt.Errorf("jobs: worker config: OAuthClientPolicy %q: want %q or %q", c.OAuthClientPolicy, OAuthClientsReport, OAuthClientsDisable)
	}
	if err := CheckStepNames(c.Steps); err != nil {
		return fmt.Errorf("jobs: worker config: %w", err)
	}
	return c.Names.Validate()
}

// Worker takes jobs from the jobs stream and carries them out: find the
// user, check the safety rules, deactivate, revoke tokens, store one audit
// event, ack. Any number of workers share the work through the same durable
// consumers. Create it with New and call Run once; Run owns every
// goroutine the worker starts.
type Worker struct {
	cfg     Config
	log     *zap.Logger
	urgent  jetstream.Consumer
	normal  jetstream.Consumer
	cleanup jetstream.Consumer // taken only when urgent and normal are empty
	intake  jetstream.Consumer // jobs for a later time, to schedule (intakeLoop)
	deletes jetstream.Consumer // delete jobs, taken like cleanup jobs
	holds   *jobs.Holds        // legal holds
	sched   *jobs.Scheduler
	status  *jobs.StatusStore
	dead    *jobs.DeadLetters
	events  *audit.Publisher
	pause   *fleetPause
	lanes   *jobs.Lanes // the one owner of the consumers' paused state
	guard   *jobs.Guard // nil when the guard is off
	// reactivateGuard caps reactivations; nil when off.
	reactivateGuard *jobs.Guard
	jobs            jetstream.Stream
	audits          jetstream.Stream
	locks           jetstream.KeyValue
	now             func() time.Time
	// canceledRead, set by tests only, runs in a canceled copy between its status read and its claim.
	canceledRead func(jobID string)

	// maxDeliver is the lanes' MaxDeliver (the smaller one; 0: unlimited). On that delivery a job
	// that would be handed back ends instead: JetStream would never deliver it again, and it
	// would sit in the stream in front of every later job for the same user.
	maxDeliver uint64

	stored   storeHealth   // whether results could be stored at the last try
	stopping chan struct{} // closed when Run's context ends

	urgentRunning  atomic.Int32 // urgent jobs in flight
	cleanupRunning atomic.Int32 // cleanup and delete jobs in flight
	lastFetchLog   atomic.Int64 // unix nanoseconds of the last fetch error logged

	offline offlineCache // the Offline presence definition's id, read once (step presence)

	deleteGuard *jobs.Guard // caps deletes (Config.DeleteGuard); nil when off
}

// New opens the consumers, the status bucket and the publishers that
// Provision created.
func New(ctx context.Context, cfg Config) (*Worker, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	js, n := cfg.JetStream, cfg.Names
	urgent, err := js.Consumer(ctx, n.JobsStream(), n.UrgentConsumer())
	if err != nil {
		return nil, fmt.Errorf("jobs: open consumer %s: %w", n.UrgentConsumer(), err)
	}
	normal, err := js.Consumer(ctx, n.JobsStream(), n.NormalConsumer())
	if err != nil {
		return nil, fmt.Errorf("jobs: open consumer %s: %w", n.NormalConsumer(), err)
	}
	cleanup, err := js.Consumer(ctx, n.JobsStream(), n.CleanupConsumer())
	if err != nil {
		return nil, fmt.Errorf("jobs: open consumer %s (provision the topology again): %w", n.CleanupConsumer(), err)
	}
	intake, err := js.Consumer(ctx, n.JobsStream(), n.IntakeConsumer())
	if err != nil {
		return nil, fmt.Errorf("jobs: open consumer %s (provision the topology again): %w", n.IntakeConsumer(), err)
	}
	deletes, err := js.Consumer(ctx, n.JobsStream(), n.DeleteConsumer())
	if err != nil {
		return nil, fmt.Errorf("jobs: open consumer %s (provision the topology again): %w", n.DeleteConsumer(), err)
	}
	holds, err := jobs.NewHolds(ctx, js, n)
	if err != nil {
		return nil, err
	}
	sched, err := jobs.NewScheduler(js, n, cfg.ScheduledKeep)
	if err != nil {
		return nil, err
	}
	status, err := jobs.NewStatusStore(ctx, js, n)
	if err != nil {
		return nil, err
	}
	events, err := audit.NewPublisher(js, audit.PublisherConfig{Prefix: n.EffectivePrefix(), Stream: n.AuditStream()})
	if err != nil {
		return nil, err
	}
	jobsStream, err := js.Stream(ctx, n.JobsStream())
	if err != nil {
		return nil, fmt.Errorf("jobs: open stream %s: %w", n.JobsStream(), err)
	}
	audits, err := js.Stream(ctx, n.AuditStream())
	if err != nil {
		return nil, fmt.Errorf("jobs: open stream %s: %w", n.AuditStream(), err)
	}
	locks, err := js.KeyValue(ctx, n.LocksBucket())
	if err != nil {
		return nil, fmt.Errorf("jobs: open bucket %s: %w", n.LocksBucket(), err)
	}
	w := &Worker{
		maxDeliver: lanesMaxDeliver(urgent, normal, cleanup, deletes),
		cfg:        cfg, log: cfg.Logger.Named("worker"), urgent: urgent, normal: normal, cleanup: cleanup, intake: intake, sched: sched,
		deletes: deletes, holds: holds,
		status: status, dead: jobs.NewDeadLetters(js, n), events: events, jobs: jobsStream, audits: audits, locks: locks, now: time.Now,
	}
	w.pause, w.stopping = newFleetPause(w), make(chan struct{})
	if w.lanes, err = jobs.NewLanes(ctx, js, n); err != nil {
		return nil, err
	}
	if cfg.Guard.Limit > 0 {
		if w.guard, err = jobs.NewGuard(ctx, js, n, cfg.Guard, cfg.Origin); err != nil {
			return nil, err
		}
		if err := w.applyGuardConfig(ctx); err != nil {
			return nil, err
		}
	}
	if rg := cfg.ReactivateGuard; rg.Limit > 0 {
		rg.Key, rg.UrgentLimit = jobs.ReactivateGuardKey, rg.Limit
		if w.reactivateGuard, err = jobs.NewGuard(ctx, js, n, rg, cfg.Origin); err != nil {
			return nil, err
		}
	}
	if dg := cfg.DeleteGuard; dg.Limit > 0 {
		dg.Key, dg.UrgentLimit = jobs.DeleteGuardKey, dg.Limit
		if w.deleteGuard, err = jobs.NewGuard(ctx, js, n, dg, cfg.Origin); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// applyGuardConfig puts the configured guard limits in force, saying so
// when they differ from the stored ones (review L1).
func (w *Worker) applyGuardConfig(ctx context.Context) error {
	prev, changed, err := w.guard.ApplyConfig(ctx, w.cfg.ID)
	if err != nil {
		return fmt.Errorf("jobs: apply the guard's configured limits: %w", err)
	}
	if changed {
		g := w.guard.Config()
		w.log.Warn("the mass-deactivation guard's stored limits differ from this worker's configuration: the configured ones are now in force (recorded in a guard_limit_set ops event)",
			zap.Int("limit", g.Limit), zap.Int("urgent_limit", g.UrgentLimit), zap.Duration("window", g.Window),
			zap.Int("previous_limit", prev.Limit), zap.Int("previous_urgent_limit", prev.UrgentLimit), zap.Duration("previous_window", prev.Window),
			zap.Bool("held", prev.Held), zap.Bool("urgent_held", prev.UrgentHeld))
	}
	return nil
}

// lanesMaxDeliver is the smallest positive MaxDeliver of the consumers, 0 when none has one.
func lanesMaxDeliver(cs ...jetstream.Consumer) uint64 {
	var m uint64
	for _, c := range cs {
		if info := c.CachedInfo(); info != nil && info.Config.MaxDeliver > 0 {
			if d := uint64(info.Config.MaxDeliver); m == 0 || d < m {
				m = d
			}
		}
	}
	return m
}

var errShutdown = errors.New("jobs: worker shutting down")

// Run takes and works on jobs until ctx ends, then stops fetching, lets the
// jobs in flight finish for up to ShutdownTimeout, hands back the rest
// without spending an attempt, and returns nil. Every goroutine it starts
// has ended when it returns.
func (w *Worker) Run(ctx context.Context) error {
	workCtx, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(nil)
	var wg sync.WaitGroup
	wg.Go(func() { w.pause.probeLoop(ctx) })
	wg.Go(func() { w.urgentReserve(ctx, workCtx, &wg) })
	wg.Go(func() { w.intakeLoop(ctx, workCtx) })
	sem := make(chan struct{}, w.cfg.Concurrency)
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		// Every slot that is free now: one pull request serves them all,
		// and never asks for more jobs than there are free slots.
		free := 1
	more:
		for free < cap(sem) {
			select {
			case sem <- struct{}{}:
				free++
			default:
				break more
			}
		}
		msgs, lane, err := w.next(ctx, free)
		urgent, cleanup := lane == laneUrgent, lane == laneCleanup || lane == laneDelete
		for range free - len(msgs) {
			<-sem
		}
		if err != nil {
			if ctx.Err() == nil {
				w.logFetchError(err)
				ctxsleep.Sleep(ctx, w.cfg.PollWait)
			}
			continue
		}
		if urgent {
			w.urgentRunning.Add(int32(len(msgs)))
		} else {
			w.holdWhileUrgent(ctx)
		}
		if cleanup {
			w.cleanupRunning.Add(int32(len(msgs)))
		}
		for _, msg := range msgs {
			wg.Go(func() {
				defer func() {
					if urgent {
						w.urgentRunning.Add(-1)
					}
					if cleanup {
						w.cleanupRunning.Add(-1)
					}
					<-sem
				}()
				w.handle(workCtx, msg)
			})
		}
	}
	close(w.stopping) // jobs held for a fleet pause are handed back
	t := time.AfterFunc(w.cfg.ShutdownTimeout, func() { cancelWork(errShutdown) })
	defer t.Stop()
	wg.Wait()
	return nil
}

// urgentReserve keeps one slot beyond Concurrency for urgent jobs: a pull request on the urgent
// lane is always waiting, so an urgent job published behind a backlog starts at once instead of
// waiting for a normal job to finish and free a slot (with every slot busy at the fleet's budget,
// that wait alone was seconds). Further urgent jobs take the ordinary slots first of all.
func (w *Worker) urgentReserve(ctx, workCtx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{}, 1)
	for ctx.Err() == nil {
		msgs, err := fetch(func() (jetstream.MessageBatch, error) {
			return w.urgent.Fetch(1, jetstream.FetchMaxWait(w.cfg.PollWait))
		})
		if err != nil {
			if ctx.Err() == nil {
				w.logFetchError(err)
				ctxsleep.Sleep(ctx, w.cfg.PollWait)
			}
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		if ctx.Err() != nil { // pulled as the worker stops: back to the queue, no attempt spent
			_ = msgs[0].Nak()
			return
		}
		w.urgentRunning.Add(1)
		wg.Go(func() {
			defer func() {
				w.urgentRunning.Add(-1)
				done <- struct{}{}
			}()
			w.handle(workCtx, msgs[0])
		})
		select {
		case <-done:
		case <-ctx.Done():
			return
		}
	}
}

// holdWhileUrgent keeps normal jobs just fetched from starting while an urgent job is in flight:
// next checks before it fetches, but the urgent reserve may start one between that check and the
// fetch's answer. The hold is bounded by a third of AckWait, so that the held messages are not
// redelivered elsewhere meanwhile.
func (w *Worker) holdWhileUrgent(ctx context.Context) {
	deadline := w.now().Add(w.cfg.AckWait / 3)
	for w.urgentRunning.Load() > 0 && ctx.Err() == nil && w.now().Before(deadline) {
		ctxsleep.Sleep(ctx, 10*time.Millisecond)
	}
}

// lane is where a batch of jobs came from.
type lane int

const (
	laneUrgent lane = iota + 1
	laneNormal
	laneCleanup
	laneDelete // delete jobs: taken like cleanup jobs, and counted with them
)

// next returns up to n jobs, at least one unless it fails, and the lane they come from (a batch
// comes from one lane). The urgent lane is asked first, without waiting, before every fetch from
// the normal lane; and while an urgent job is in flight the worker takes no new normal job, so
// that normal jobs started after an urgent one cannot finish before it. The normal lane is asked
// without waiting for what it holds; only when it holds nothing is the cleanup lane asked (a
// layoff's access cuts never queue behind cleanups), for at most all slots but one (see
// cleanupRoom; the delete lane after it, in the same room), and only when that holds nothing too does the worker wait PollWait for one normal
// job: a backlog costs two or three pull requests per batch, not per job, and a job held here
// never waits for a batch to fill.
func (w *Worker) next(ctx context.Context, n int) ([]jetstream.Msg, lane, error) {
	for ctx.Err() == nil {
		msgs, err := fetch(func() (jetstream.MessageBatch, error) { return w.urgent.FetchNoWait(n) })
		if len(msgs) > 0 || err != nil {
			return msgs, laneUrgent, err
		}
		if w.urgentRunning.Load() > 0 {
			ctxsleep.Sleep(ctx, 10*time.Millisecond)
			continue
		}
		msgs, err = fetch(func() (jetstream.MessageBatch, error) { return w.normal.FetchNoWait(n) })
		if len(msgs) > 0 || err != nil {
			return msgs, laneNormal, err
		}
		if room := min(n, w.cleanupRoom()); room > 0 {
			msgs, err = fetch(func() (jetstream.MessageBatch, error) { return w.cleanup.FetchNoWait(room) })
			if len(msgs) > 0 || err != nil {
				return msgs, laneCleanup, err
			}
			msgs, err = fetch(func() (jetstream.MessageBatch, error) { return w.deletes.FetchNoWait(room) })
			if len(msgs) > 0 || err != nil {
				return msgs, laneDelete, err
			}
		}
		// Nothing queued: wait a little for the next normal job, then look at the urgent lane again.
		msgs, err = fetch(func() (jetstream.MessageBatch, error) {
			return w.normal.Fetch(1, jetstream.FetchMaxWait(w.cfg.PollWait))
		})
		if len(msgs) > 0 || err != nil {
			return msgs, laneNormal, err
		}
	}
	return nil, 0, ctx.Err()
}

// cleanupRoom is how many more cleanup jobs the worker may hold: every slot but one (all of one),
// so that a normal job that arrives while cleanups run finds a slot free.
func (w *Worker) cleanupRoom() int {
	return max(w.cfg.Concurrency-1, 1) - int(w.cleanupRunning.Load())
}

// logFetchError logs a failed fetch at most every 10 s: while NATS is away,
// every poll fails.
func (w *Worker) logFetchError(err error) {
	now := w.now()
	if last := w.lastFetchLog.Load(); last != 0 && now.Sub(time.Unix(0, last)) < 10*time.Second {
		return
	}
	w.lastFetchLog.Store(now.UnixNano())
	w.log.Warn("fetching jobs failed; retrying", zap.Error(err))
}

// fetch runs one pull request and returns the messages it brought. A
// failure after some messages arrived is not reported: they are answered
// as usual, and the next pull request meets the failure again.
func fetch(pull func() (jetstream.MessageBatch, error)) ([]jetstream.Msg, error) {
	batch, err := pull()
	if err != nil {
		return nil, err
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	if err := batch.Error(); err != nil && len(msgs) == 0 && !errors.Is(err, jetstream.ErrNoMessages) {
		return nil, err
	}
	return msgs, nil
}
