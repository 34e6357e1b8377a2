package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// maxClaims bounds how often one delivery picks a new id after finding its id taken. A random id
// is taken only by someone who read it from the job status in the moment between its recording
// and its publish; after that many, the job is handed back.
const maxClaims = 3

// storeDeadLetter publishes the job's dead letter under the id recorded in the status (by default
// "dead:<job id>"). When another message holds that id it records a random one, reports the
// claim and publishes again.
func (r *Run) storeDeadLetter(ctx context.Context, dl DeadLetter) error {
	for range maxClaims {
		dl.MsgID = r.st.DeadLetterID
		err := r.w.dead.Publish(ctx, dl)
		var claimed *audit.IDClaimedError
		if !errors.As(err, &claimed) {
			return err
		}
		newID := DeadLetterMsgID(r.job.ID) + ":" + randomHex()
		if err := r.idClaimed(ctx, "dead_letter", claimed, newID, func(id string) { r.st.DeadLetterID = id }); err != nil {
			return err
		}
	}
	return fmt.Errorf("jobs: dead letter of %s: every id tried was taken", r.job.ID)
}

// storeEvent publishes the job's terminal audit event under the id recorded in the status (by
// default audit.EventID(job id)), like storeDeadLetter.
func (r *Run) storeEvent(ctx context.Context, outcome audit.Outcome, errText string, now time.Time) error {
	for range maxClaims {
		ev, err := r.w.cfg.Origin.UserEvent(r.record(outcome, errText, now))
		if err != nil {
			return err
		}
		_, err = r.w.events.Publish(ctx, ev)
		var claimed *audit.IDClaimedError
		if !errors.As(err, &claimed) {
			return err
		}
		if err := r.idClaimed(ctx, "event", claimed, randomUUID(), func(id string) { r.st.EventID = id }); err != nil {
			return err
		}
	}
	return fmt.Errorf("jobs: audit event of %s: every id tried was taken", r.job.ID)
}

// idClaimed records newID in the job status before anything is published under it (so that a
// redelivery reuses it and the job keeps exactly one event and one dead letter), then says loudly
// that another message held the job's id: an error log and an ops event "event_id_claimed".
func (r *Run) idClaimed(ctx context.Context, what string, claimed *audit.IDClaimedError, newID string, set func(string)) error {
	r.log.Error("another message holds this job's "+what+" id: the job's record is stored under a new random id; someone may be forging ids",
		zap.String("expected_id", claimed.ID), zap.String("stream", claimed.Stream), zap.Uint64("claiming_seq", claimed.Seq),
		zap.String("claiming_subject", claimed.Subject), zap.String("new_id", newID))
	set(newID)
	r.st.UpdatedAt, r.st.Worker = r.w.now().UTC(), r.w.cfg.ID
	if err := r.w.status.Save(ctx, &r.st); err != nil {
		return fmt.Errorf("%w: record the new %s id: %w", errStore, what, err)
	}
	ev, err := r.w.cfg.Origin.OpsEvent(audit.Ops{
		Kind:    "event_id_claimed",
		Message: fmt.Sprintf("The %s id %s of job %s was taken by message %d on %s in %s; the job's %s is stored under %s instead.", what, claimed.ID, r.job.ID, claimed.Seq, claimed.Subject, claimed.Stream, what, newID),
		Fields: map[string]string{"job_id": r.job.ID, "what": what, "expected_id": claimed.ID, "new_id": newID,
			"claiming_seq": strconv.FormatUint(claimed.Seq, 10), "claiming_subject": claimed.Subject, "stream": claimed.Stream},
		Time: r.w.now(),
		Key:  r.job.ID + "\x00" + what + "\x00" + newID,
	})
	if err == nil {
		_, err = r.w.events.Publish(ctx, ev)
	}
	if err != nil {
		r.log.Error("publishing the event_id_claimed ops event failed", zap.Error(err))
	}
	return nil
}

// randomUUID returns a random (version 4) UUID: an event id nobody can predict.
func randomUUID() string {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	s := hex.EncodeToString(u[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func randomHex() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// decidedErr is the error behind a decided outcome, nil when it had none.
func decidedErr(d *Decided) error {
	if d.Error == "" {
		return nil
	}
	return errors.New(d.Error)
}
