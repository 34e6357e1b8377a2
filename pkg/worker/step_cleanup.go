package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// stepScheduleCleanup ends a deactivation whose worker has clean steps enabled: once the access is
// cut (or the user was inactive already), it publishes the one follow-up cleanup job
// (jobs.Job.CleanupJob) on the cleanup lane and waits for the stream to store it. Its id is
// derived from the deactivation's, and published as the Nats-Msg-Id, so that a redelivery of the
// deactivation publishes nothing new: the stream answers with a duplicate, which is checked
// against what is stored (ids are evidence: another message may have claimed the id first).
var stepScheduleCleanup = Step{
	Name: scheduleCleanupName, Phase: PhaseCut,
	Applies: func(r *Run) bool { return !r.job.DryRun },
	Do:      scheduleCleanup,
}

const scheduleCleanupName = "schedule_cleanup"

// cleanupScheduled is what schedule_cleanup records.
type cleanupScheduled struct {
	JobID     string `json:"job_id"`
	StreamSeq uint64 `json:"stream_seq"`
}

func scheduleCleanup(ctx context.Context, r *Run) error {
	job := r.job.CleanupJob(r.w.now().UTC().Truncate(time.Millisecond))
	seq, err := r.w.publishCleanup(ctx, job, job.ID)
	if errors.Is(err, errIDClaimed) {
		// Another message holds the id in the stream's duplicate window: publish under a message
		// id of this deactivation's own delivery instead (the job keeps its id).
		r.log.Warn("the cleanup job's message id was claimed by another message; publishing under another", zap.String("cleanup_id", job.ID))
		seq, err = r.w.publishCleanup(ctx, job, job.ID+".seq-"+strconv.FormatUint(r.seq, 10))
	}
	if err != nil {
		return wait(fmt.Errorf("%w: publish the cleanup job %s: %w", errStore, job.ID, err))
	}
	return r.Found(scheduleCleanupName, cleanupScheduled{JobID: job.ID, StreamSeq: seq})
}

// errIDClaimed: a duplicate acknowledgement for a message that is not the cleanup job.
var errIDClaimed = errors.New("jobs: the cleanup job's message id is held by another message")

// publishCleanup publishes job under msgID and returns its stream sequence. A duplicate is
// accepted when what is stored is this cleanup job: the message still queued, or, once taken,
// the cleanup job's status.
func (w *Worker) publishCleanup(ctx context.Context, job jobs.Job, msgID string) (uint64, error) {
	data, err := json.Marshal(job)
	if err != nil {
		return 0, err
	}
	msg := nats.NewMsg(w.cfg.Names.SubjectFor(job))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, msgID)
	msg.Header.Set("Content-Type", "application/json")
	ack, err := w.cfg.JetStream.PublishMsg(ctx, msg, jetstream.WithExpectStream(w.cfg.Names.JobsStream()))
	if err != nil {
		return 0, err
	}
	if !ack.Duplicate {
		return ack.Sequence, nil
	}
	stored, err := w.jobs.GetMsg(ctx, ack.Sequence)
	switch {
	case err == nil:
		if got, derr := jobs.Decode(stored.Data); derr == nil && stored.Subject == msg.Subject && got.ID == job.ID && got.CleanupOf == job.CleanupOf {
			return ack.Sequence, nil
		}
		return 0, errIDClaimed
	case !errors.Is(err, jetstream.ErrMsgNotFound):
		return 0, err
	}
	// Taken and answered already: its status says whether it was this job.
	st, err := w.status.Get(ctx, job.ID)
	switch {
	case err == nil && st.BelongsTo(job):
		return ack.Sequence, nil
	case err == nil || errors.Is(err, jobs.ErrNoStatus):
		return 0, errIDClaimed
	}
	return 0, err
}

// stepCleanupCheck lets a cleanup job go on only while the user is inactive: a user reactivated
// since the deactivation keeps everything, and the job ends cleanup_skipped, nothing changed.
var stepCleanupCheck = Step{Name: "cleanup_check", Phase: PhaseCheck, Every: true, Do: func(_ context.Context, r *Run) error {
	if !r.user.Active {
		return nil
	}
	r.message = fmt.Sprintf("Cleanup skipped: user %s is active again (reactivated since the deactivation %s); Genesys Cloud was not changed.",
		r.user.UserName, r.job.CleanupOf)
	return Stop(audit.OutcomeCleanupSkipped, nil)
}}
