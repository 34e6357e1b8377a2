package jobs

import (
	"strconv"
	"strings"
	"time"
)

// The names of delete jobs and legal holds (issue 16, slice 3).
//
//	what             name (prefix "genesys")
//	delete lane      genesys.jobs.delete[.<user token>] (delete jobs only; workers and operators publish there)
//	delete intake    genesys.jobs.at.delete.<user token> (a delete for a later time, such as --delete-after's)
//	delete consumer  workers-delete, on GENESYS_JOBS, taken only when the urgent and normal lanes are empty
//	legal holds      genesys-holds (KV): one key per held user identifier

// LaneDelete is the lane of delete jobs, which a hold may name.
const LaneDelete = "delete"

// laneDelete is the lane token of delete jobs.
const laneDelete = LaneDelete

// DeleteSubject is where delete jobs go, on their own lane and consumer: producers may not
// publish there (the NATS permissions), and a worker takes them only when the urgent and normal
// lanes are empty.
func (n Names) DeleteSubject() string { return n.EffectivePrefix() + ".jobs." + laneDelete }

// deleteSubjects are the subjects the delete consumer takes.
func (n Names) deleteSubjects() []string {
	s := n.DeleteSubject()
	return []string{s, s + ".*"}
}

// DeleteConsumer is the consumer of the delete lane.
func (n Names) DeleteConsumer() string { return "workers-delete" }

// HoldsBucket is the KV bucket of legal holds (see [Holds]).
func (n Names) HoldsBucket() string { return n.bucket() + "-holds" }

// DeleteID is the reserved id of the delete job that a worker schedules after the deactivation
// deactivationID (--delete-after): "_delete." + deactivationID, or, when that would be longer than
// [MaxIDLength], "_delete-h." + [DeterministicID] of it. Reserved, so that no producer can claim it
// first; the scheduled stream deduplicates it for any horizon.
func DeleteID(deactivationID string) string {
	if id := reservedIDPrefix + "delete." + deactivationID; len(id) <= MaxIDLength {
		return id
	}
	return reservedIDPrefix + "delete-h." + DeterministicID("delete", deactivationID, "", "")
}

// DeleteJob is the delete job that follows the deactivation j after a grace period: action
// delete, the reserved id DeleteID(j.ID), delete_of j.ID, ticket, requested_by
// "genesys-deactivator", a reason naming the deactivation, not before notBefore. Its user is the
// Genesys user id the deactivation resolved (userID), not j's identifier: a user name or external
// id may name another person by the time the grace period ends (an inactive account renamed, its
// address given to a new hire), and a delete must reach the leaver or nobody. With no userID it
// keeps j's identifier.
func (j Job) DeleteJob(userID string, requestedAt, notBefore time.Time) Job {
	user := j.User
	if userID != "" {
		user = UserRef{ID: userID}
	}
	return Job{Version: Version, ID: DeleteID(j.ID), Action: ActionDelete, User: user,
		Reason:      clip("delete after the grace period that followed deactivation "+j.ID, MaxReasonLength),
		RequestedBy: "genesys-deactivator", Ticket: j.Ticket, Priority: PriorityNormal, DeleteOf: j.ID,
		RequestedAt: requestedAt, NotBefore: notBefore}
}

// checkDelete checks what only a delete job may have: delete_of, and the reserved id derived
// from it (or an operator's replay of it). A delete job may be a dry run: it previews the checks
// (protection, legal hold, state) and deletes nothing.
func (p *problems) checkDelete(j Job) {
	switch {
	case j.DeleteOf == "" && IsReservedID(j.ID):
		p.add("id", "must not start with '_' unless the delete job follows a deactivation (delete_of)")
	case IsReservedID(j.DeleteOf):
		p.add("delete_of", "must be the id of a deactivation, not a reserved id")
	case j.DeleteOf != "" && j.ID != DeleteID(j.DeleteOf) && !isDeleteReplay(j):
		p.add("id", "a delete job that follows a deactivation has the reserved id of its delete_of ("+DeleteID(j.DeleteOf)+"), or, replaying one, that id followed by .r<n>")
	}
}

// isDeleteReplay reports whether j is an operator's replay of a dead-lettered delete job
// (genesysctl dead replay names it <id>.r<n>).
func isDeleteReplay(j Job) bool {
	rest, ok := strings.CutPrefix(j.ID, DeleteID(j.DeleteOf)+".r")
	_, err := strconv.Atoi(rest)
	return ok && err == nil && j.ReplayOf != "" && strings.HasPrefix(j.ReplayOf, DeleteID(j.DeleteOf))
}
