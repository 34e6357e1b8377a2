package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Scheduled jobs canceled before they ran (issue 16). A cancel (genesysctl scheduled cancel, a
// cancel job, a reactivation) replaces the job's pending schedule by one due now that carries
// jobs.CanceledByHeader (jobs.Scheduler.Cancel); the server fires it into the lane at once, and
// the worker that takes it ends the job "canceled" through the usual conclude path: the audit
// event with the job's id naming who canceled it and why, the status done, the ack. No Genesys
// call, no lease, no budget.

// markCanceled notes the cancel headers of a fired copy (its Nats-Scheduler checked): only there
// do they count. A producer can set any header on a job it publishes, never Nats-Scheduler.
func (r *Run) markCanceled() {
	h := r.msg.Headers()
	r.canceledBy, r.cancelReason = h.Get(jobs.CanceledByHeader), h.Get(jobs.CancelReasonHeader)
}

// concludeCanceled ends a canceled fired copy.
func (r *Run) concludeCanceled(ctx context.Context) {
	r.message = "Scheduled job canceled before it ran, by " + r.canceledBy
	if r.cancelReason != "" {
		r.message += ": " + r.cancelReason
	}
	r.message += "; Genesys Cloud was not changed."
	if h := r.w.canceledRead; h != nil {
		h(r.job.ID)
	}
	if err := r.claimCanceled(ctx); err != nil {
		// Another copy of the job (a second fire racing the cancel) wrote the record since it
		// was read, and may have sent its PATCH: handed back, the redelivery finds that copy's
		// record and waits for it or ends "already finished".
		r.conclude(ctx, verdict{fail: failWait, err: err})
		return
	}
	r.log.Info("scheduled job canceled before it ran", zap.String("canceled_by", r.canceledBy))
	r.conclude(ctx, verdict{outcome: audit.OutcomeCanceled})
}

// claimCanceled claims the job's record for this canceled copy before its outcome is stored:
// the status running under this delivery's stream sequence, with the outcome canceled decided,
// written by the same compare-and-set as every other status write. A normal copy that read the
// record before fails its next write (savePatchSent comes before the PATCH) and is handed
// back; one that reads it after sees the decided cancel of another copy and waits.
func (r *Run) claimCanceled(ctx context.Context) error {
	r.st.State, r.st.StreamSeq = jobs.StateRunning, r.seq
	if r.st.Decided == nil {
		r.st.Decided = &jobs.Decided{Outcome: audit.OutcomeCanceled, Message: r.message}
	}
	r.st.UpdatedAt, r.st.Worker = r.w.now().UTC(), r.w.cfg.ID
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := r.w.status.Save(sctx, &r.st); err != nil {
		if errors.Is(err, jobs.ErrStatusChanged) {
			r.log.Info("another copy of the canceled job wrote its status meanwhile; handing this copy back", zap.Error(err))
		}
		return fmt.Errorf("%w: claim the record of the canceled job: %w", errStore, err)
	}
	return nil
}

// cancelPlan is the plan of a cancel job: find the user (not found is fine: the job's own
// identifier is still searched), then cancel its pending scheduled deactivations and deletes.
func cancelPlan() []Step {
	return []Step{stepCancelResolve, stepCancelScheduled}
}

// stepCancelResolve resolves the user of a cancel job, so that its pending jobs are found under
// every identifier it has; a user Genesys does not know is no failure.
var stepCancelResolve = Step{Name: "resolve", Phase: PhaseCheck, Every: true, Do: func(ctx context.Context, r *Run) error {
	if err := resolve(ctx, r); err != nil && !errors.Is(err, genesys.ErrNotFound) {
		return err
	}
	return nil
}}

// stepCancelScheduled cancels the user's pending scheduled deactivations and deletes: of a
// cancel job (which then ends cancel_done) and, first thing, of a reactivation (a rescinded
// resignation). A dry run (of a reactivation: a cancel job is never one) cancels nothing and says
// what it would cancel.
var stepCancelScheduled = Step{Name: "cancel_scheduled", Phase: PhaseCheck, Every: true, Do: cancelScheduled}

// canceledFindings is what cancel_scheduled records under unmapped.steps.cancel_scheduled.
type canceledFindings struct {
	// Canceled are the ids of the scheduled jobs this job canceled.
	Canceled []string `json:"canceled"`
	// TooLate are those that fired while this job canceled them: they run (or ran) as scheduled.
	TooLate []string `json:"too_late,omitempty"`
}

// cancelerName is what a cancel by this job names in the canceled jobs' events.
func (r *Run) cancelerName() string {
	kind := "job"
	if r.job.Action == jobs.ActionReactivate {
		kind = "reactivation"
	}
	return fmt.Sprintf("%s %s (%s)", kind, r.job.ID, r.job.RequestedBy)
}

func cancelScheduled(ctx context.Context, r *Run) error {
	refs := []jobs.UserRef{r.job.User}
	if u := r.user; u != nil {
		for _, ref := range []jobs.UserRef{{ID: u.ID}, {UserName: u.UserName}, {ExternalID: u.ExternalID}} {
			if ref.Key() != "" && !slices.Contains(refs, ref) {
				refs = append(refs, ref)
			}
		}
	}
	// History: a job an earlier delivery of this one canceled may have fired since; its fired
	// copy names this job, and counts as canceled by it.
	list, err := r.w.sched.Pending(ctx, jobs.PendingQuery{Users: refs, History: true})
	if err != nil {
		return wait(fmt.Errorf("%w: list the user's scheduled jobs: %w", errStore, err))
	}
	if r.job.DryRun {
		for _, s := range list {
			if s.Pending() && (s.Job.Action == jobs.ActionDeactivate || s.Job.Action == jobs.ActionDelete) {
				r.wouldCancel = append(r.wouldCancel, s.Job.ID)
				r.Would("cancel_scheduled", "cancel scheduled job "+s.Job.ID)
			}
		}
		return nil
	}
	by := jobs.CancelHeaderValue(r.cancelerName())
	var f canceledFindings
	for _, s := range list {
		if s.Job.Action != jobs.ActionDeactivate && s.Job.Action != jobs.ActionDelete {
			continue
		}
		switch {
		case s.CanceledBy == by:
			f.Canceled = append(f.Canceled, s.Job.ID)
		case !s.Pending():
		default:
			_, err := r.w.sched.Cancel(ctx, s.Job.ID, by, cancelReason(r.job))
			switch {
			case err == nil:
				f.Canceled = append(f.Canceled, s.Job.ID)
			case errors.Is(err, jobs.ErrNotPending):
				f.TooLate = append(f.TooLate, s.Job.ID)
			default:
				return wait(fmt.Errorf("%w: cancel scheduled job %s: %w", errStore, s.Job.ID, err))
			}
		}
	}
	slices.Sort(f.Canceled)
	f.Canceled = slices.Compact(f.Canceled)
	r.canceled = f.Canceled
	if len(f.Canceled) == 0 && len(f.TooLate) == 0 && r.job.Action != jobs.ActionCancel {
		return nil // a reactivation with nothing scheduled: nothing to record
	}
	if f.Canceled == nil {
		f.Canceled = []string{}
	}
	return r.Found("cancel_scheduled", f)
}

// cancelReason is the reason a cancel by job gives the jobs it cancels.
func cancelReason(j jobs.Job) string {
	if j.Reason != "" {
		return j.Reason
	}
	if j.Action == jobs.ActionReactivate {
		return "the user is reactivated before the date"
	}
	return "canceled by a cancel job"
}

// cancelDone is the verdict of a cancel job that ran its plan.
func (r *Run) cancelDone() verdict {
	switch len(r.canceled) {
	case 0:
		r.message = "No pending scheduled deactivation or delete of the user to cancel."
	default:
		r.message = fmt.Sprintf("Canceled %d pending scheduled %s of the user: %s.", len(r.canceled),
			plural(len(r.canceled), "job", "jobs"), strings.Join(r.canceled, ", "))
	}
	return verdict{outcome: audit.OutcomeCancelDone}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// scheduledStatus is the status record of a job a worker just stored as a schedule.
func (r *Run) scheduledStatus(job jobs.Job) jobs.Status {
	now := r.w.now().UTC()
	return jobs.Status{JobID: job.ID, State: jobs.StateScheduled, NotBefore: job.NotBefore.UTC(), Priority: job.Priority,
		DryRun: job.DryRun, User: job.User.Key(), Action: job.Action, Worker: r.w.cfg.ID, CreatedAt: now, UpdatedAt: now}
}

// recordScheduled writes the status scheduled of a job just stored as a schedule, only when the
// job has no record yet (a record is never overwritten). Failing does not fail the schedule:
// the record only tells enqueue --wait the date.
func (r *Run) recordScheduled(ctx context.Context, job jobs.Job) {
	st := r.scheduledStatus(job)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := r.w.status.Save(sctx, &st); err != nil && !errors.Is(err, jobs.ErrStatusChanged) {
		r.log.Warn("recording the status scheduled failed", zap.Error(err))
	}
}

// noteCanceled adds the scheduled jobs a reactivation canceled to its event's message.
func (r *Run) noteCanceled() {
	if len(r.canceled) == 0 {
		return
	}
	r.message = strings.TrimSpace(cmp.Or(r.message, "Genesys Cloud user reactivated.") + fmt.Sprintf(" Canceled the user's pending scheduled %s: %s.",
		plural(len(r.canceled), "job", "jobs"), strings.Join(r.canceled, ", ")))
}
