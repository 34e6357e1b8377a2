package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// storeTimeout bounds the NATS calls that store a job's result, even during
// shutdown: a result that is ready is worth storing.
const storeTimeout = 10 * time.Second

// Run is one delivery of one job message: what its steps read and change. A step uses Job, User,
// Findings, Found and Call; the rest is the worker's. A Run belongs to one goroutine.
type Run struct {
	w         *Worker
	started   time.Time
	msg       jetstream.Msg
	seq       uint64
	delivered uint64
	published time.Time
	job       jobs.Job
	st        jobs.Status
	log       *zap.Logger
	message   string // the audit event's message, when the plan has more to say

	leaseMu sync.Mutex
	lease   *userLease // held from resolution to the end of the delivery

	held bool // conclude held the job for a fleet pause: handle runs it again

	// What the steps share in this delivery.
	gc                 *genesys.Client     // the Genesys client with the job's priority
	user               *genesys.User       // the user as resolved, after any change read back
	activeWhenResolved bool                // the user was active when this delivery resolved it
	patchedBefore      bool                // an earlier delivery sent its PATCH
	recorded           *audit.Findings     // a reactivation: what the user's last deactivation (and its cleanup) recorded
	canceledBy         string              // a fired copy that a cancel replaced: who canceled it (see cancel.go)
	cancelReason       string              // and why
	canceled           []string            // a cancel job or reactivation: the scheduled jobs it canceled
	wouldCancel        []string            // a dry-run reactivation: the scheduled jobs a real one would cancel
	would              map[string][]string // a dry run: what each step would change (Would)
	calls              int                 // Genesys calls made in this delivery (Call, CallMany)
	resolveCalls       int                 // of which the resolve step's
}

// handle works on one message and always answers it: ack, term or nak. A
// job that met a fleet pause (see fleetPause) is held, not answered: it runs
// again, in the same delivery, once the pause is lifted.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	var cur atomic.Pointer[Run]
	stop := keepInProgress(w.cfg.AckWait/3, func() {
		_ = msg.InProgress()
		if l := cur.Load().userLease(); l != nil {
			l.refresh(ctx)
		}
	})
	defer stop()
	for {
		r := w.newRun(msg)
		cur.Store(r)
		if !r.runOnce(ctx) {
			return
		}
		if !w.pause.wait(w.stopping) {
			r.conclude(ctx, verdict{fail: failWait, err: fmt.Errorf("%w while the fleet is paused", errShutdown)})
			return
		}
		r.log.Info("the fleet resumed: running the held job again")
	}
}

func (w *Worker) newRun(msg jetstream.Msg) *Run {
	r := &Run{w: w, msg: msg, log: w.log, started: w.now()}
	if meta, err := msg.Metadata(); err == nil {
		r.seq, r.published, r.delivered = meta.Sequence.Stream, meta.Timestamp, meta.NumDelivered
	}
	return r
}

// runOnce runs the job and reports whether it is held for a fleet pause.
func (r *Run) runOnce(ctx context.Context) (held bool) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("panic while handling a job", zap.Any("panic", p), zap.Stack("stack"))
			r.held = false
			r.conclude(ctx, verdict{fail: failTransient, err: fmt.Errorf("jobs: panic: %v", p)})
		}
		held = r.held
	}()
	r.run(ctx)
	return r.held
}

func (r *Run) run(ctx context.Context) {
	job, err := jobs.Decode(r.msg.Data())
	if err != nil {
		r.reject(ctx, jobs.Job{}, err, r.ownIDs()...)
		return
	}
	if err := r.w.cfg.Names.CheckSubject(r.msg.Subject(), job); err != nil {
		// Never under the job's own id: a copy on the wrong subject must not pre-empt the job.
		r.reject(ctx, job, err)
		return
	}
	if !r.checkScheduled(ctx, job) {
		return
	}
	r.job = job
	r.log = r.log.With(zap.String("job_id", job.ID), zap.String("user", job.User.Key()))
	// The two reads that decide whether the job may start go out together:
	// neither depends on the other, and nothing is written before both are in.
	type earlierResult struct {
		earlier bool
		err     error
	}
	earlierCh := make(chan earlierResult, 1)
	go func() {
		earlier, err := r.w.earlierJobQueued(ctx, job, r.seq)
		earlierCh <- earlierResult{earlier, err}
	}()
	st, err := r.w.status.Get(ctx, job.ID)
	e := <-earlierCh
	switch {
	case err == nil && !r.ours(st):
		r.reject(ctx, job, jobs.ForeignError(job, st))
		return
	case err == nil && st.State == jobs.StateDone:
		// Finished before and only the ack was lost: the audit event (and
		// dead letter) are stored, so answer the message as it was answered.
		r.log.Info("job already finished", zap.String("outcome", string(st.Outcome)))
		r.conclude(ctx, verdict{outcome: st.Outcome, finished: true})
		return
	case err == nil && st.State == jobs.StateScheduled:
		// Written when the job was scheduled: it runs now, as a fresh job.
		r.st = st.Renew(r.newStatus())
	case err == nil && r.canceledBy == "" && st.StreamSeq != r.seq && st.Decided != nil && st.Decided.Outcome == audit.OutcomeCanceled:
		// A canceled copy of this scheduled job claimed the record (concludeCanceled): this copy
		// must not call Genesys; it ends "already finished" once that one is stored.
		r.conclude(ctx, verdict{fail: failWait, err: errors.New("jobs: a canceled copy of this scheduled job claimed it")})
		return
	case err == nil && r.canceledBy != "" && st.StreamSeq != r.seq:
		// Another copy of this job (a second fire racing the cancel) is running: this one ends
		// "already finished" once that one is done. (A record of this very message is the
		// canceled outcome an earlier delivery decided and could not store: stored below.)
		r.conclude(ctx, verdict{fail: failWait, err: errors.New("jobs: another copy of this scheduled job is running")})
		return
	case err == nil:
		r.st = st
	case errors.Is(err, jobs.ErrNoStatus):
		r.st = r.newStatus()
	default:
		r.conclude(ctx, verdict{fail: failWait, err: fmt.Errorf("%w: %w", errStore, err)})
		return
	}
	if r.canceledBy != "" {
		r.concludeCanceled(ctx)
		return
	}
	defer r.releaseLease(ctx)
	if d := r.st.Decided; d != nil {
		// An earlier delivery reached the outcome and could not store it (such as a full audit
		// stream): store it now, without calling Genesys again.
		r.log.Info("outcome decided by an earlier delivery; storing it", zap.String("outcome", string(d.Outcome)))
		r.conclude(ctx, verdict{outcome: d.Outcome, err: decidedErr(d)})
		return
	}
	if e.err != nil || e.earlier {
		r.conclude(ctx, verdict{fail: failWait, err: cmpErr(e.err, errUserBusy)})
		return
	}
	r.conclude(ctx, r.plan(ctx))
}

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

func (r *Run) userLease() *userLease {
	if r == nil {
		return nil
	}
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	return r.lease
}

func (r *Run) releaseLease(ctx context.Context) {
	if l := r.userLease(); l != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer cancel()
		l.release(ctx)
	}
}

func (r *Run) newStatus() jobs.Status {
	now := r.w.now().UTC()
	return jobs.Status{JobID: r.job.ID, State: jobs.StateRunning, Priority: r.job.Priority, DryRun: r.job.DryRun,
		User: r.job.User.Key(), Action: r.job.Action,
		StreamSeq: r.seq, Worker: r.w.cfg.ID, CreatedAt: now, UpdatedAt: now}
}

// conclude applies decide's answer: record an attempt, store the terminal
// results, answer the message.
func (r *Run) conclude(ctx context.Context, v verdict) {
	w := r.w
	v = w.judgeRefusal(ctx, v)
	last := w.maxDeliver > 0 && r.delivered >= w.maxDeliver
	if last && v.outcome == "" && v.fail != failSystemic {
		v.err = fmt.Errorf("jobs: delivered %d times, the consumer's MaxDeliver, without finishing; last: %w", r.delivered, v.err)
	}
	d := decide(v, len(r.st.Attempts), w.cfg.MaxAttempts, w.cfg.Backoff, r.delivered, last)
	if v.fail == failSystemic {
		w.pause.trip(ctx, v.err)
	}
	if d.addAttempt {
		r.st.Attempts = append(r.st.Attempts, jobs.Attempt{N: len(r.st.Attempts) + 1, At: w.now().UTC(), Error: v.err.Error()})
	}
	if d.outcome != "" && !d.stored {
		err := r.store(ctx, d, v)
		w.storeResult(r.log, err)
		if err != nil {
			r.keepDecision(ctx, d)
			// Handed back even on the consumer's last delivery: ending the job needs its results stored.
			v = verdict{fail: failWait, err: fmt.Errorf("storing the result failed; handing the job back: %w", err)}
			d = decide(v, len(r.st.Attempts), w.cfg.MaxAttempts, w.cfg.Backoff, r.delivered, false)
		} else {
			r.log.Info("job finished", zap.String("outcome", string(d.outcome)), zap.String("user_id", r.st.Steps.UserID), zap.Int("attempts", len(r.st.Attempts)))
			w.cfg.Observer.JobFinished(d.outcome, r.job.Priority, w.now().Sub(r.started), r.sincePublish())
		}
	}
	r.answer(ctx, d, v)
}

// answer does to the message what d says. Ack and TermWithReason do not wait for the server's
// confirmation: the results are stored before, so an ack that is lost only brings a redelivery,
// which finds the status done and answers again without calling Genesys. (A confirmed DoubleAck
// cost one more message per job and kept the slot busy for a round trip, for nothing the status
// does not already guarantee.) TermWithReason's MSG_TERMINATED advisory names the outcome.
func (r *Run) answer(ctx context.Context, d decision, v verdict) {
	var err error
	switch d.ack {
	case ackDone:
		err = r.msg.Ack()
	case ackTerm:
		err = r.msg.TermWithReason(string(d.outcome))
	case ackNak:
		r.handBack(ctx, d, v)
	case ackHold:
		r.held = true
		r.log.Info("holding the job until the fleet resumes", zap.Error(v.err))
	}
	if err != nil {
		// The job is finished and stored; a redelivery finds its status done.
		r.log.Warn("ack", zap.Error(err))
	}
}

func (r *Run) handBack(ctx context.Context, d decision, v verdict) {
	if d.addAttempt {
		r.w.cfg.Observer.AttemptFailed()
		r.st.UpdatedAt, r.st.Worker = r.w.now().UTC(), r.w.cfg.ID
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		if err := r.w.status.Save(sctx, &r.st); err != nil {
			r.log.Warn("recording the attempt failed", zap.Error(err))
		}
		cancel()
		r.log.Warn("attempt failed", zap.Int("attempt", len(r.st.Attempts)), zap.Duration("retry_in", d.delay), zap.Error(v.err))
	} else {
		r.log.Info("handing the job back", zap.Duration("retry_in", d.delay), zap.Error(v.err))
	}
	if err := r.msg.NakWithDelay(d.delay); err != nil {
		r.log.Warn("nak", zap.Error(err))
	}
}

// store keeps the invariant "no job leaves the stream before its results
// are stored": the dead letter (if any), the audit event, then the status.
func (r *Run) store(ctx context.Context, d decision, v verdict) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	now := r.w.now().UTC()
	r.noteDecision(d, v)
	errText := r.st.Decided.Error
	if d.deadLetter {
		if err := r.storeDeadLetter(ctx, r.deadLetter(d.outcome, v.err, errText, now)); err != nil {
			return err
		}
	}
	if err := r.storeEvent(ctx, d.outcome, errText, now); err != nil {
		return err
	}
	r.st.State, r.st.Outcome, r.st.Error = jobs.StateDone, d.outcome, errText
	r.st.UpdatedAt, r.st.FinishedAt, r.st.Worker = now, now, r.w.cfg.ID
	return r.w.status.Save(ctx, &r.st)
}

// noteDecision puts the outcome into the status record in memory; the final write stores it with
// the rest, and keepDecision when the results could not be stored.
func (r *Run) noteDecision(d decision, v verdict) {
	if r.st.Decided != nil && r.st.Decided.Outcome == d.outcome {
		r.message = cmp.Or(r.message, r.st.Decided.Message)
		return
	}
	r.st.Decided = &jobs.Decided{Outcome: d.outcome, Error: errorText(d.outcome, v.err, r.st.Attempts), Message: r.message,
		Genesys: genesysErrorOf(v.err)}
}

// keepDecision writes the decided outcome into the status after its results could not be stored
// (the audit stream full, say), so that a redelivery stores the same outcome without calling
// Genesys again (review L3). Only then: on the usual path the final status write carries it, and
// a write per job more would cost every job a round trip. A rejected or dropped job made no
// Genesys call, and a decision that cannot be written either leaves the redelivery to find the
// user's state again, which the step record keeps truthful.
func (r *Run) keepDecision(ctx context.Context, d decision) {
	if r.st.Decided == nil || d.outcome == audit.OutcomeRejected || d.outcome == audit.OutcomeDropped {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	r.st.UpdatedAt, r.st.Worker = r.w.now().UTC(), r.w.cfg.ID
	if err := r.w.status.Save(ctx, &r.st); err != nil {
		r.log.Warn("recording the decided outcome failed", zap.Error(err))
	}
}

// sincePublish is the time since the job was published, 0 if unknown.
func (r *Run) sincePublish() time.Duration {
	if r.published.IsZero() {
		return 0
	}
	return r.w.now().Sub(r.published)
}

// errorText is the final error of a failed outcome; for exhausted, every
// attempt's error.
func errorText(outcome audit.Outcome, err error, attempts []jobs.Attempt) string {
	if outcome == audit.OutcomeExhausted {
		parts := make([]string, len(attempts))
		for i, a := range attempts {
			parts[i] = fmt.Sprintf("attempt %d: %s", a.N, a.Error)
		}
		return strings.Join(parts, "; ")
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// keepInProgress calls tick every interval: it tells the server that the
// message is still being worked on, so that it is not redelivered to another
// worker while a job waits for the rate budget or a slow Genesys, and renews
// the user's lease.
func keepInProgress(every time.Duration, tick func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				tick()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
