package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// reject concludes a message that is not a job this worker may run (unreadable, invalid, on the
// wrong subject, or carrying the id of another job): it ends rejected, with dead letter and audit
// event, under the first of ids that no other message's status holds, else under its reserved
// stand-in id ([StandInID]). It never touches another job's status or event, and never loops: a
// status that already exists for the chosen id is this message's own (the same stream sequence).
// job is the decoded job, or the zero Job for a message that could not be read.
func (r *Run) reject(ctx context.Context, job Job, why error, ids ...string) {
	id, st, err := r.rejectID(ctx, ids)
	if job.ID == "" && job.Action == "" {
		job = Job{Version: Version, Action: ActionDeactivate}
	}
	job.ID = id
	r.job = job
	r.log = r.log.With(zap.String("job_id", id))
	switch {
	case err != nil:
		r.conclude(ctx, verdict{fail: failWait, err: fmt.Errorf("%w: %w", errStore, err)})
		return
	case st != nil && st.State == StateDone:
		r.log.Info("rejected message already finished", zap.String("outcome", string(st.Outcome)))
		r.conclude(ctx, verdict{outcome: st.Outcome, finished: true})
		return
	case st != nil:
		r.st = *st
	default:
		r.st = r.newStatus()
	}
	r.log.Warn("rejecting the message", zap.Error(why))
	r.conclude(ctx, verdict{outcome: audit.OutcomeRejected, err: why})
}

// rejectID picks the id a rejected message is recorded under, and returns its status when this
// message has one already (an earlier delivery).
func (r *Run) rejectID(ctx context.Context, ids []string) (string, *Status, error) {
	standIn := StandInID(r.seq)
	// After the stand-in, one that is stable across redeliveries too, for a stream recreated
	// since a stand-in of the same sequence was recorded.
	ids = append(ids, standIn, standIn+".t"+strconv.FormatInt(r.published.UnixNano(), 10))
	for i, id := range ids {
		own := i < len(ids)-2
		if len(id) > MaxIDLength || !idRE.MatchString(id) || own && IsReservedID(id) {
			continue
		}
		st, err := r.w.status.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNoStatus):
			return id, nil, nil
		case err != nil:
			return id, nil, err
		case st.StreamSeq == r.seq:
			return id, &st, nil
		}
	}
	return standIn, nil, fmt.Errorf("jobs: every id for the rejected message at sequence %d is taken", r.seq)
}

// ownIDs are the ids an unreadable message names itself: its Nats-Msg-Id, then the "id" member of
// its body when the body is a JSON object with a string id (so that its producer finds its status).
func (r *Run) ownIDs() []string {
	var ids []string
	if id := r.msg.Headers().Get(jetstream.MsgIDHeader); id != "" {
		ids = append(ids, id)
	}
	var body struct {
		ID string `json:"id"`
	}
	if data := r.msg.Data(); len(data) <= MaxJobSize && json.Unmarshal(data, &body) == nil && body.ID != "" {
		ids = append(ids, body.ID)
	}
	return ids
}

// ours reports whether st is the status of the message being handled: written for this very
// message (the same stream sequence), or for a job with the same content (a producer's retry
// after the duplicate window).
func (r *Run) ours(st Status) bool {
	return st.StreamSeq == r.seq || st.BelongsTo(r.job)
}

// foreignError says why a message whose id another job holds is not run.
func foreignError(job Job, st Status) error {
	return fmt.Errorf("%w: job id %s belongs to a different job (user %q, action %q, dry_run %t, stream sequence %d); this message asks for user %q, action %q, dry_run %t and is not carried out",
		ErrInvalidJob, job.ID, clip(st.User, 300), st.Action, st.DryRun, st.StreamSeq, clip(job.User.Key(), 300), job.Action, job.DryRun)
}
