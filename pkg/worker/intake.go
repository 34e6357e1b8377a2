package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/ctxsleep"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// intakeBatch is how many intake jobs one pull request asks for. Scheduling one is a publish
// and an ack, with no Genesys call, so the loop takes them in batches.
const intakeBatch = 64

// intakeLoop takes the jobs producers published for a later time from the intake consumer and
// schedules each (see [Run.schedule]), until ctx ends. It takes no slot, no budget and no user
// lease: a job for next month never waits behind today's backlog, and never holds it up.
// The messages of a batch pulled as ctx ends are still scheduled, with workCtx.
func (w *Worker) intakeLoop(ctx, workCtx context.Context) {
	for ctx.Err() == nil {
		msgs, err := fetch(func() (jetstream.MessageBatch, error) {
			return w.intake.Fetch(intakeBatch, jetstream.FetchMaxWait(w.cfg.PollWait))
		})
		if err != nil {
			if ctx.Err() == nil {
				w.logFetchError(err)
				ctxsleep.Sleep(ctx, w.cfg.PollWait)
			}
			continue
		}
		for _, msg := range msgs {
			w.takeIntake(workCtx, msg)
		}
	}
}

// takeIntake schedules one intake job, or rejects a message that is not one (under its stand-in
// id or its own, as [Run.reject] chooses, like any other rejected message).
func (w *Worker) takeIntake(ctx context.Context, msg jetstream.Msg) {
	r := w.newRun(msg)
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("panic while scheduling a job", zap.Any("panic", p), zap.Stack("stack"))
			_ = msg.NakWithDelay(w.cfg.Backoff(1))
		}
	}()
	job, err := jobs.Decode(msg.Data())
	if err != nil {
		r.reject(ctx, jobs.Job{}, err, r.ownIDs()...)
		return
	}
	if err := w.cfg.Names.CheckSubject(msg.Subject(), job); err != nil {
		r.reject(ctx, job, err)
		return
	}
	if !strings.HasPrefix(msg.Subject(), w.cfg.Names.IntakeSubject(job)) { // a consumer filter changed by hand
		r.reject(ctx, job, errors.New("jobs: an intake job arrived on "+msg.Subject()+", not on "+w.cfg.Names.IntakeSubject(job)))
		return
	}
	r.schedule(ctx, job)
}

// schedule stores job, whose not_before is later than now (or was, when it was published), as a
// message schedule, then acks its message: from now on the scheduled stream holds it, and the
// jobs stream gets it back in its lane at its time. A duplicate (a producer's retry after the
// jobs stream's duplicate window, or this worker's own lost ack) is acked too. Failing to store
// it hands the message back without spending an attempt (nothing was tried on Genesys), and ends
// it exhausted, dead-lettered, on the consumer's last delivery.
func (r *Run) schedule(ctx context.Context, job jobs.Job) {
	r.job = job
	r.log = r.log.With(zap.String("job_id", job.ID), zap.String("user", job.User.Key()),
		zap.Time("not_before", job.NotBefore))
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	res, err := r.w.sched.Schedule(sctx, job)
	switch {
	case errors.Is(err, jobs.ErrIDTokenCollision):
		r.reject(ctx, job, err) // never under the job's id: that belongs to the stored job
		return
	case err != nil:
		// Handed back like a job that waits (no attempt: Genesys was not asked); on the consumer's
		// last delivery it ends exhausted with a dead letter instead of staying undelivered.
		r.st = r.newStatus()
		r.conclude(ctx, verdict{fail: failWait, err: fmt.Errorf("jobs: scheduling the job failed: %w", err)})
		return
	case res.Duplicate && !sameRequest(res.Existing.Job, job):
		// The id is another job's (a producer reusing an id after the jobs stream's duplicate
		// window): never drop this one silently, and never under the id, which is the stored job's.
		r.reject(ctx, job, jobs.ForeignError(job, jobs.Status{User: res.Existing.Job.User.Key(),
			Action: res.Existing.Job.Action, DryRun: res.Existing.Job.DryRun, StreamSeq: res.Existing.Sequence}))
		return
	case res.Duplicate:
		r.log.Info("a job with this id is already scheduled, fired or canceled: dropping the duplicate",
			zap.String("stored", res.Existing.Kind), zap.Time("stored_not_before", res.Existing.Job.NotBefore))
	default:
		r.log.Info("job scheduled", zap.Uint64("schedule_seq", res.Sequence),
			zap.Duration("in", job.NotBefore.Sub(r.w.now()).Round(time.Millisecond)))
		r.recordScheduled(ctx, job)
	}
	if err := r.msg.Ack(); err != nil {
		// Stored: a redelivery finds it and ends as a duplicate.
		r.log.Warn("ack", zap.Error(err))
	}
}

// checkScheduled decides what a lane job with a date does: a copy the scheduled stream fired is
// due whatever the clocks say, once its Nats-Scheduler names this job's schedule; a job with a
// later not_before that a producer put on the lane itself is scheduled here and acked. It
// reports whether the job may run now; when not, the message has been answered.
func (r *Run) checkScheduled(ctx context.Context, job jobs.Job) bool {
	if scheduler := r.msg.Headers().Get(jobs.SchedulerHeader); scheduler != "" {
		if err := r.w.cfg.Names.CheckFired(r.msg.Subject(), scheduler, job); err != nil {
			r.reject(ctx, job, err)
			return false
		}
		r.observeFired(job)
		r.markCanceled()
		return true
	}
	if job.NotBefore.After(r.w.now()) {
		r.schedule(ctx, job)
		return false
	}
	return true
}

// sameRequest reports whether two jobs with one id ask for the same thing: the same user
// identifier, action and dry_run (what a status record binds an id to; see [jobs.Status.BelongsTo]).
// Their dates may differ: an HR re-send with a new date is the same request.
func sameRequest(a, b jobs.Job) bool {
	return a.User.Key() == b.User.Key() && a.Action == b.Action && a.DryRun == b.DryRun
}
