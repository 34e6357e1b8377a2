package jobs

import (
	"crypto/sha256"
	_ "embed" // for the job JSON Schema
	"encoding/base32"
	"strconv"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// Version is the only job schema version this package understands.
const Version = 1

// schemaJSON is the job JSON Schema, draft 2020-12.
//
//go:embed schema/job.v1.schema.json
var schemaJSON []byte

// Schema returns a copy of the job JSON Schema (draft 2020-12) that [Decode] agrees with.
func Schema() []byte { return append([]byte(nil), schemaJSON...) }

// Action is what a job asks for.
type Action string

const (
	// ActionDeactivate sets the user inactive and revokes their tokens.
	ActionDeactivate Action = "deactivate"
	// ActionReactivate undoes a deactivation this system made (see [Job.Force] for any other).
	ActionReactivate Action = "reactivate"
	// ActionCleanup is the follow-up of a deactivation that the worker publishes itself, once the
	// user's access is cut: the enabled clean steps (queues, station, forwarding...). Its id is
	// [CleanupID] of the deactivation's ([Job.CleanupOf]) and it travels on its own lane,
	// <prefix>.jobs.cleanup, which only workers may publish on.
	ActionCleanup Action = "cleanup"
	// ActionCancel cancels the user's pending scheduled deactivations and deletes (issue 16): the
	// canceled jobs end "canceled", the cancel job "cancel_done". It travels on the urgent or normal
	// lane, like a deactivation, and never carries not_before.
	ActionCancel Action = "cancel"
	// ActionDelete deletes an inactive Genesys user (issue 16): published by operators, or
	// scheduled by a worker a grace period after a deactivation (--delete-after), on its own
	// lane, <prefix>.jobs.delete, which producers may not publish on. A legal hold blocks it.
	ActionDelete Action = "delete"
	// ActionVerify reads the user back now (issue 17, genesysctl verify): SCIM active, the last
	// token against this system's last revocation, the routing status when the last
	// deactivation set it off queue. It changes nothing and ends "verified" or "unverified". It
	// travels on the urgent or normal lane, runs at once (never not_before) and is never a dry run.
	ActionVerify Action = "verify"
)

// Priority selects the lane a job travels in: urgent jobs never wait behind normal ones. It is
// [priority.Priority], the one type the worker also hands to the Genesys client and the rate
// budget; the contract names it here so that a producer needs no other package.
type Priority = priority.Priority

const (
	// PriorityUrgent jobs go to <prefix>.jobs.urgent.
	PriorityUrgent = priority.Urgent
	// PriorityNormal jobs go to <prefix>.jobs.normal. An empty Priority means normal.
	PriorityNormal = priority.Normal
)

// Job is one request to deactivate (or, later, reactivate) one Genesys Cloud user.
//
// The zero value is not a valid job; build one with the fields below and call [Job.Validate], or
// get one from [Decode]. A Job is a plain value and safe to copy and to read concurrently.
type Job struct {
	// Version is the schema version; it must be [Version].
	Version int `json:"version"`
	// ID identifies the job and is its idempotency key: the Nats-Msg-Id of the job message, the
	// job status key and the seed of the audit event id. 1–128 characters from A–Z a–z 0–9 '-'
	// '_' with single dots between them (no leading, trailing or double dot), so that it is a
	// valid NATS KV key and header value as it stands. Producers choose it; see [DeterministicID].
	ID string `json:"id"`
	// Action is required.
	Action Action `json:"action"`
	// User names the target by exactly one identifier.
	User UserRef `json:"user"`
	// Reason is free text for the audit trail, up to 1024 characters; tab and newline allowed.
	Reason string `json:"reason,omitempty"`
	// RequestedBy is who asked, as the producer claims it (a person, a system); required, ≤256.
	RequestedBy string `json:"requested_by"`
	// Ticket is the change or HR ticket reference, up to 128 characters.
	Ticket string `json:"ticket,omitempty"`
	// Priority is urgent or normal; [Decode] sets normal when the field is absent.
	Priority Priority `json:"priority,omitempty"`
	// DryRun asks the worker to resolve and check the user and report, changing nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// Force lets a reactivation go ahead although no deactivation of the user by this system is
	// recorded (the worker refuses such a reactivation otherwise: the user may be inactive for a
	// reason that is none of ours). Only a reactivation may be forced; the audit event records it.
	Force bool `json:"force,omitempty"`
	// ReplayOf is the id of the job (usually a dead letter) this job replays; same rules as ID.
	ReplayOf string `json:"replay_of,omitempty"`
	// CleanupOf is, for a cleanup job alone, the id of the deactivation it follows; the cleanup
	// job's own id is then CleanupID(CleanupOf).
	CleanupOf string `json:"cleanup_of,omitempty"`
	// DeleteOf is, for a delete job that a worker scheduled after a deactivation (--delete-after),
	// the id of that deactivation; the delete job's own id is then DeleteID(DeleteOf).
	DeleteOf string `json:"delete_of,omitempty"`
	// RequestedAt is when the request was made (RFC 3339); the publisher API fills it when zero.
	RequestedAt time.Time `json:"requested_at,omitzero"`
	// NotBefore is the earliest time the job may run (RFC 3339 with an offset), such as a leaver's
	// last working moment; zero runs it now, and so does a time in the past. A [Publisher] sends a
	// job whose NotBefore is later than now to the intake subject ([Names.IntakeSubject]), where a
	// worker schedules it ([Schedule]); at that time it enters its lane like any other job. It is
	// not part of [Job.DeterministicID]: an HR re-send with a new date is the same request.
	NotBefore time.Time `json:"not_before,omitzero"`
}

// UserRef identifies the target user by exactly one of its fields. The zero value names nobody
// and is invalid.
type UserRef struct {
	// ID is the Genesys Cloud user id, a UUID in 8-4-4-4-12 hex form. The strict form is what keeps
	// path tricks ("../tokens/me", "%2F") out of API paths. [Decode] lowercases it.
	ID string `json:"id,omitempty"`
	// ExternalID is the SCIM externalId, 1–256 characters without control characters. Quotes and
	// backslashes are allowed: escaping them in a SCIM filter is the Genesys client's job.
	ExternalID string `json:"external_id,omitempty"`
	// UserName is the Genesys userName (the primary email): 3–254 characters, one '@' with
	// something on both sides, no spaces or control characters.
	UserName string `json:"user_name,omitempty"`
}

// Key returns the identifier in use with its kind, such as "id:0b5c…" or "user_name:a@b.example";
// it is "" when no identifier is set.
func (u UserRef) Key() string {
	switch {
	case u.ID != "":
		return "id:" + u.ID
	case u.ExternalID != "":
		return "external_id:" + u.ExternalID
	case u.UserName != "":
		return "user_name:" + u.UserName
	}
	return ""
}

// Subject returns the lane subject the job is published on, without a user token:
// <prefix>.jobs.urgent or <prefix>.jobs.normal, <prefix>.jobs.reactivate for a reactivation,
// <prefix>.jobs.cleanup for a cleanup job. An empty prefix means [audit.DefaultPrefix].
func (j Job) Subject(prefix string) string {
	n := Names{Prefix: prefix}
	switch j.Action {
	case ActionReactivate:
		return n.ReactivateSubject()
	case ActionCleanup:
		return n.CleanupSubject()
	case ActionDelete:
		return n.DeleteSubject()
	}
	return n.JobSubject(j.Priority)
}

// CleanupJob is the follow-up job of the deactivation j: action cleanup, the reserved id
// CleanupID(j.ID), cleanup_of j.ID, the same user (by the same identifier, so that it shares the
// user's token and order), ticket, requested_by and reason, priority normal.
func (j Job) CleanupJob(requestedAt time.Time) Job {
	return Job{Version: Version, ID: CleanupID(j.ID), Action: ActionCleanup, User: j.User, Reason: j.Reason,
		RequestedBy: j.RequestedBy, Ticket: j.Ticket, Priority: PriorityNormal, CleanupOf: j.ID, RequestedAt: requestedAt}
}

// MsgID returns the Nats-Msg-Id the job is published with: its id, so that JetStream drops a
// second publish of the same job within the stream's duplicate window.
func (j Job) MsgID() string { return j.ID }

// DeterministicID is the id producers give the job's request: [DeterministicID] of its action,
// user key, ticket and reason, with "+dry_run" folded into the action of a dry run. A dry run is a
// different request from the real one: were it not, a dry run would make the real job that
// follows it a duplicate that never runs; likewise "+force" for a forced reactivation, else the
// forced retry of a refused one would be its duplicate. The rule lives here alone; enqueue uses it.
func (j Job) DeterministicID() string {
	action := string(j.Action)
	if j.DryRun {
		action += "+dry_run"
	}
	if j.Force { // else a forced retry of a refused reactivation would be its duplicate
		action += "+force"
	}
	return DeterministicID(action, j.User.Key(), j.Ticket, j.Reason)
}

// DeterministicID derives a job id from what makes a request the same request, so that a producer
// that retries (or two producers reacting to one HR event) publish one job, not two. The result is
// "j-" followed by 26 base32 characters (130 bits of SHA-256 over the length-prefixed inputs), a
// valid job id. userKey is usually [UserRef.Key]. The same inputs always give the same id, so a
// later, deliberate repeat of the same request needs a different ticket or reason. It does not
// know about dry runs: for a [Job], use [Job.DeterministicID].
func DeterministicID(action, userKey, ticket, reason string) string {
	h := sha256.New()
	for _, s := range []string{"genesys-deactivator/job/v1", action, userKey, ticket, reason} {
		h.Write([]byte(strconv.Itoa(len(s)) + ":" + s))
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil))
	return "j-" + strings.ToLower(enc[:26])
}
