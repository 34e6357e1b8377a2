package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// The names of scheduled jobs (issue 16). A job whose not_before is later than now is published on
// the intake subject of the jobs stream; a worker takes it from the intake consumer and stores it
// as a JetStream message schedule in the scheduled stream; at its time the server stores the due
// copy, which the jobs stream sources back into the job's ordinary lane.
//
//	what              name (prefix "genesys")
//	intake subject    genesys.jobs.at.<lane>.<user token> (lane urgent, normal or reactivate), in GENESYS_JOBS
//	intake consumer   workers-at, on GENESYS_JOBS
//	scheduled stream  GENESYS_SCHEDULED: genesys.scheduled.{at,due,canceled}.<lane>.<user token>.<id token>
//	pending schedule  genesys.scheduled.at.<lane>.<user token>.<id token>
//	fired copy        genesys.scheduled.due.<lane>.<user token>.<id token> (only the server writes it)
//	cancel record     genesys.scheduled.canceled.<lane>.<user token>.<id token>

// Lane names the lane token of a job: urgent or normal for a deactivation (its priority),
// reactivate for a reactivation, cleanup for a cleanup job.
func (j Job) Lane() string {
	switch j.Action {
	case ActionReactivate:
		return laneReactivate
	case ActionCleanup:
		return laneCleanup
	case ActionDelete:
		return laneDelete
	}
	if j.Priority == PriorityUrgent {
		return string(PriorityUrgent)
	}
	return string(PriorityNormal)
}

const (
	laneIntake     = "at"
	schedPending   = "at"
	schedDue       = "due"
	schedCanceled  = "canceled"
	scheduledToken = "scheduled"
)

// IntakeSubject is where a producer publishes a job that must not run before its not_before:
// <prefix>.jobs.at.<lane>.<user token>. It is four tokens past the prefix, so that
// [Names.UserJobs] does not match it: a job waiting for its date never holds up the user's other jobs.
func (n Names) IntakeSubject(j Job) string {
	return n.EffectivePrefix() + ".jobs." + laneIntake + "." + j.Lane() + "." + UserToken(j.User)
}

// IntakeSubjects is the filter of every intake subject, <prefix>.jobs.at.*.*.
func (n Names) IntakeSubjects() string { return n.EffectivePrefix() + ".jobs." + laneIntake + ".*.*" }

// IntakeConsumer is the durable consumer on the jobs stream that workers take intake jobs from.
func (n Names) IntakeConsumer() string { return "workers-at" }

// ScheduledStream holds the pending schedules, the fired copies and the cancel records.
func (n Names) ScheduledStream() string { return n.upper() + "_SCHEDULED" }

// ScheduledSubjects are the subjects of the scheduled stream.
func (n Names) ScheduledSubjects() []string {
	var s []string
	for _, kind := range []string{schedPending, schedDue, schedCanceled} {
		s = append(s, n.scheduledPrefix()+kind+".*.*.*")
	}
	return s
}

func (n Names) scheduledPrefix() string { return n.EffectivePrefix() + "." + scheduledToken + "." }

func (n Names) scheduled(kind string, j Job) string {
	return n.scheduledPrefix() + kind + "." + j.Lane() + "." + UserToken(j.User) + "." + IDToken(j.ID)
}

// ScheduleSubject is the subject of the pending schedule of j:
// <prefix>.scheduled.at.<lane>.<user token>.<id token>.
func (n Names) ScheduleSubject(j Job) string { return n.scheduled(schedPending, j) }

// DueSubject is the target of j's schedule, where the server stores the fired copy:
// <prefix>.scheduled.due.<lane>.<user token>.<id token>. The jobs stream sources it into
// <prefix>.jobs.<lane>.<user token>.
func (n Names) DueSubject(j Job) string { return n.scheduled(schedDue, j) }

// CanceledSubject is the subject of the record of a canceled schedule of j.
func (n Names) CanceledSubject(j Job) string { return n.scheduled(schedCanceled, j) }

// ScheduledIDFilter matches every message of the scheduled stream about job id, whatever its
// kind, lane and user: <prefix>.scheduled.*.*.*.<id token>. Its last message is what makes an id
// a duplicate for any horizon.
func (n Names) ScheduledIDFilter(id string) string {
	return n.scheduledPrefix() + "*.*.*." + IDToken(id)
}

// scheduleSubjectAt is the pending-schedule subject that a fired copy arriving on the lane subject
// <prefix>.jobs.<lane>.<token> names in its Nats-Scheduler header.
func (n Names) scheduleSubjectAt(lane, token, id string) string {
	return n.scheduledPrefix() + schedPending + "." + lane + "." + token + "." + IDToken(id)
}

// dueSubjects is the filter of the fired copies, and dueTransform where the jobs stream puts them.
func (n Names) dueSubjects() string { return n.scheduledPrefix() + schedDue + ".*.*.*" }
func (n Names) dueTransform() string {
	return n.EffectivePrefix() + ".jobs.{{wildcard(1)}}.{{wildcard(2)}}"
}

// IDToken is the subject token of a job id in the scheduled stream: the first 16 bytes of the
// SHA-256 of the id, in hex (32 characters). Job ids may contain dots, which a subject token
// cannot; the worker compares the stored job's id on every hit, so that a collision is detected,
// never silent.
func IDToken(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// isIntakeLane reports whether rest (a jobs subject past "<prefix>.jobs.") is an intake subject,
// and returns it without the "at." token.
func isIntakeLane(rest string) (string, bool) { return strings.CutPrefix(rest, laneIntake+".") }
