package jobs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The subject rules of the jobs stream live here, in one place: where a job may arrive, and which
// ids are the worker's own.
//
// A job arrives on <prefix>.jobs.<lane> or <prefix>.jobs.<lane>.<user token>, where lane is
// urgent, normal or reactivate. The NATS permissions decide who may publish on which lane (only
// operators on reactivate); these rules make that mean something: a reactivation arrives on the
// reactivate lane and nowhere else, a deactivation never there, and a user token names the job's
// own user, so that a message cannot make a user's later jobs wait behind it.

// ErrWrongSubject matches (with errors.Is) every error of [CheckSubject]. It also matches
// [ErrInvalidJob]: such a message is rejected, never retried.
var ErrWrongSubject = errors.New("jobs: job on the wrong subject")

type subjectError struct{ msg string }

func (e *subjectError) Error() string { return "jobs: " + e.msg }
func (e *subjectError) Is(target error) bool {
	return target == ErrWrongSubject || target == ErrInvalidJob
}

// CheckSubject reports whether job may arrive on subject under names' prefix: the lane must fit
// the action (reactivate for a reactivation, cleanup for a cleanup job, urgent or normal for a
// deactivation) and a user token, when present, must be [UserToken] of the job's user.
func (n Names) CheckSubject(subject string, job Job) error {
	rest, ok := strings.CutPrefix(subject, n.EffectivePrefix()+".jobs.")
	if !ok {
		return &subjectError{fmt.Sprintf("subject %q is not a jobs subject of prefix %q", clip(subject, 200), n.EffectivePrefix())}
	}
	rest, intake := isIntakeLane(rest)
	lane, token, hasToken := strings.Cut(rest, ".")
	switch {
	case intake && job.Action == ActionCancel:
		return &subjectError{fmt.Sprintf("subject %q: a cancel job runs at once and never arrives on an intake subject", clip(subject, 200))}
	case intake && (job.NotBefore.IsZero() || !hasToken || lane == laneCleanup):
		return &subjectError{fmt.Sprintf("subject %q: only a job with not_before, naming its lane and user token, may arrive on %s.<lane>.<user token> (lane urgent, normal or reactivate)", clip(subject, 200), n.EffectivePrefix()+".jobs."+laneIntake)}
	case lane != string(PriorityUrgent) && lane != string(PriorityNormal) && lane != laneReactivate && lane != laneCleanup && lane != laneDelete:
		return &subjectError{fmt.Sprintf("subject %q: unknown lane %q", clip(subject, 200), clip(lane, 64))}
	case job.Action == ActionReactivate && lane != laneReactivate:
		return &subjectError{fmt.Sprintf("a reactivation must arrive on %s[.<user token>], not on %s", n.ReactivateSubject(), clip(subject, 200))}
	case job.Action != ActionReactivate && lane == laneReactivate:
		return &subjectError{fmt.Sprintf("only reactivations may arrive on %s; this job's action is %q", clip(subject, 200), clip(string(job.Action), 32))}
	case job.Action == ActionCleanup && lane != laneCleanup:
		return &subjectError{fmt.Sprintf("a cleanup job must arrive on %s[.<user token>], not on %s", n.CleanupSubject(), clip(subject, 200))}
	case job.Action != ActionCleanup && lane == laneCleanup:
		return &subjectError{fmt.Sprintf("only cleanup jobs may arrive on %s; this job's action is %q", clip(subject, 200), clip(string(job.Action), 32))}
	case job.Action == ActionDelete && lane != laneDelete:
		return &subjectError{fmt.Sprintf("a delete job must arrive on %s[.<user token>], not on %s", n.DeleteSubject(), clip(subject, 200))}
	case job.Action != ActionDelete && lane == laneDelete:
		return &subjectError{fmt.Sprintf("only delete jobs may arrive on %s; this job's action is %q", clip(subject, 200), clip(string(job.Action), 32))}
	case hasToken && token != UserToken(job.User):
		return &subjectError{fmt.Sprintf("subject %s names user token %s, but the job's user %s has token %s", clip(subject, 200), clip(token, 64), clip(job.User.Key(), 300), UserToken(job.User))}
	}
	return nil
}

// CheckFired checks a job that arrived on the lane subject with a Nats-Scheduler header, the
// mark of a copy fired by the scheduled stream (the server refuses that header from clients
// outside a purge, and the jobs stream does not allow schedules): the header must name the pending
// schedule of this job on this lane and user token, the one a worker stored. A copy that arrived
// otherwise (forged into another lane, or with another job's body) is an [ErrWrongSubject].
// Call it after [Names.CheckSubject].
func (n Names) CheckFired(subject, scheduler string, job Job) error {
	rest, _ := strings.CutPrefix(subject, n.EffectivePrefix()+".jobs.")
	lane, token, hasToken := strings.Cut(rest, ".")
	if !hasToken || scheduler != n.scheduleSubjectAt(lane, token, job.ID) {
		return &subjectError{fmt.Sprintf("a scheduled copy on %s names schedule %q, not that of job %s on this lane and user token (%s)",
			clip(subject, 200), clip(scheduler, 200), clip(job.ID, 128), n.scheduleSubjectAt(lane, token, job.ID))}
	}
	return nil
}

// laneReactivate is the lane token of reactivations.
const laneReactivate = "reactivate"

// laneCleanup is the lane token of cleanup jobs.
const laneCleanup = "cleanup"

// reservedIDPrefix starts every id the worker gives a message it rejects without using the
// message's own id (see [StandInID]); [Job.Validate] refuses such ids for real jobs, so that no
// producer can claim one first.
const reservedIDPrefix = "_"

// IsReservedID reports whether id is in the worker's reserved namespace (it starts with '_').
func IsReservedID(id string) bool { return strings.HasPrefix(id, reservedIDPrefix) }

// CleanupID is the reserved id of the cleanup job that follows the deactivation deactivationID:
// "_cleanup." + deactivationID, or, when that would be longer than [MaxIDLength],
// "_cleanup-h." + [DeterministicID] of it (two prefixes, so that no plain id can give a hashed
// one). Reserved, so that no producer can publish a job under it first; a worker publishes it
// once per deactivation (a second publish is the duplicate of the first).
func CleanupID(deactivationID string) string {
	if id := reservedIDPrefix + "cleanup." + deactivationID; len(id) <= MaxIDLength {
		return id
	}
	return reservedIDPrefix + "cleanup-h." + DeterministicID("cleanup", deactivationID, "", "")
}

// StandInID is the reserved id of the message at stream sequence seq of the jobs stream, for a
// message that is rejected without an id of its own that can be used: "_rejected.seq-<seq>".
func StandInID(seq uint64) string {
	return reservedIDPrefix + "rejected.seq-" + strconv.FormatUint(seq, 10)
}
