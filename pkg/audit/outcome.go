package audit

// Outcome is how a job ended. Every job ends with exactly one outcome and one audit event. The
// zero value is not a valid outcome.
type Outcome string

// The outcomes. The table in the package documentation maps each to OCSF status and severity.
const (
	// OutcomeDeactivated: the user was active and is now inactive.
	OutcomeDeactivated Outcome = "deactivated"
	// OutcomeAlreadyInactive: the user was already inactive; nothing was changed but the tokens.
	OutcomeAlreadyInactive Outcome = "already_inactive"
	// OutcomeNotFound: no user matches the job's identifier. Routine, not a dead letter.
	OutcomeNotFound Outcome = "not_found"
	// OutcomeProtected: the user or one of their roles is protected; Genesys was left untouched.
	OutcomeProtected Outcome = "protected"
	// OutcomeDryRun: a dry-run job resolved and checked the user and changed nothing.
	OutcomeDryRun Outcome = "dry_run"
	// OutcomeRejected: the job can never be valid (see jobs.Decode); it was not attempted.
	OutcomeRejected Outcome = "rejected"
	// OutcomeConflict: Genesys refused the change with a conflict other than a version conflict.
	OutcomeConflict Outcome = "conflict"
	// OutcomeExhausted: every attempt failed with a transient error.
	OutcomeExhausted Outcome = "exhausted"
	// OutcomeReactivated: the user was inactive and is now active (undo; reserved).
	OutcomeReactivated Outcome = "reactivated"
	// OutcomeDropped: an operator dropped the job while the mass-deactivation guard held it;
	// Genesys was left untouched. Dead-lettered, so that a wrong drop can be replayed.
	OutcomeDropped Outcome = "dropped"
	// OutcomeCleanedUp: a cleanup job (the follow-up of a deactivation) ran every enabled clean
	// step: queues, station, forwarding and the rest, each recorded under unmapped.steps.
	OutcomeCleanedUp Outcome = "cleaned_up"
	// OutcomeCleanupSkipped: a cleanup job found the user active again (reactivated since the
	// deactivation) and changed nothing. Routine, not a dead letter.
	OutcomeCleanupSkipped Outcome = "cleanup_skipped"
	// OutcomeCanceled: a scheduled job was canceled before it ran (by an operator, a cancel job
	// or a reactivation); Genesys was not called. The event names who canceled it.
	OutcomeCanceled Outcome = "canceled"
	// OutcomeCancelDone: a cancel job ran; the event lists the scheduled jobs of the user it
	// canceled (possibly none).
	OutcomeCancelDone Outcome = "cancel_done"
	// OutcomeDeleted: a delete job deleted the (inactive) Genesys user.
	OutcomeDeleted Outcome = "deleted"
	// OutcomeDeleteSkipped: a delete job found the user active again, or already deleted; nothing
	// was changed.
	OutcomeDeleteSkipped Outcome = "delete_skipped"
	// OutcomeHeld: a delete job found the user under a legal hold; nothing was deleted, and the
	// job is dead-lettered for review.
	OutcomeHeld Outcome = "held"
	// OutcomeVerified: a verify job (genesysctl verify) read the user back and every check
	// passed: inactive, no token issued since this system's last revocation. Nothing was changed.
	OutcomeVerified Outcome = "verified"
	// OutcomeUnverified: a verify job found a check failing (the user active, a token issued
	// since the revocation, on queue). Nothing was changed; not a dead letter (the ops event
	// verification_failed says it loudly).
	OutcomeUnverified Outcome = "unverified"
)

// Outcomes lists every outcome, in the order of the documentation table.
var Outcomes = []Outcome{
	OutcomeDeactivated, OutcomeAlreadyInactive, OutcomeNotFound, OutcomeDryRun, OutcomeReactivated,
	OutcomeProtected, OutcomeRejected, OutcomeConflict, OutcomeExhausted, OutcomeDropped,
	OutcomeCleanedUp, OutcomeCleanupSkipped, OutcomeCanceled, OutcomeCancelDone,
	OutcomeDeleted, OutcomeDeleteSkipped, OutcomeHeld, OutcomeVerified, OutcomeUnverified,
}

// OCSF status_id and severity_id values used here.
const (
	StatusUnknown = 0
	StatusSuccess = 1
	StatusFailure = 2
	StatusOther   = 99

	SeverityInformational = 1
	SeverityLow           = 2
	SeverityMedium        = 3
	SeverityHigh          = 4
)

type outcomeInfo struct {
	status, severity int
	deadLetter       bool
	message          string // default OCSF message
}

var outcomes = map[Outcome]outcomeInfo{
	OutcomeDeactivated:     {StatusSuccess, SeverityInformational, false, "Genesys Cloud user deactivated"},
	OutcomeAlreadyInactive: {StatusSuccess, SeverityInformational, false, "Genesys Cloud user was already inactive; not changed"},
	OutcomeNotFound:        {StatusFailure, SeverityLow, false, "no Genesys Cloud user matches the job's identifier"},
	OutcomeDryRun:          {StatusOther, SeverityInformational, false, "dry run: nothing was changed"},
	OutcomeReactivated:     {StatusSuccess, SeverityInformational, false, "Genesys Cloud user reactivated"},
	OutcomeProtected:       {StatusFailure, SeverityMedium, true, "user is protected; Genesys Cloud was not changed"},
	OutcomeRejected:        {StatusFailure, SeverityMedium, true, "job rejected as invalid; not attempted"},
	OutcomeConflict:        {StatusFailure, SeverityHigh, true, "Genesys Cloud refused the change (conflict); user may still be active"},
	OutcomeExhausted:       {StatusFailure, SeverityHigh, true, "every attempt failed; user may still be active"},
	OutcomeDropped:         {StatusFailure, SeverityMedium, true, "dropped by an operator while the mass-deactivation guard held it; user may still be active"},
	OutcomeCleanedUp:       {StatusSuccess, SeverityInformational, false, "follow-up cleanup of a deactivated Genesys Cloud user done"},
	OutcomeCleanupSkipped:  {StatusOther, SeverityInformational, false, "follow-up cleanup skipped: the Genesys Cloud user is active again; nothing was changed"},
	OutcomeCanceled:        {StatusOther, SeverityInformational, false, "scheduled job canceled before it ran; Genesys Cloud was not changed"},
	OutcomeCancelDone:      {StatusSuccess, SeverityInformational, false, "pending scheduled jobs of the user canceled"},
	OutcomeDeleted:         {StatusSuccess, SeverityInformational, false, "Genesys Cloud user deleted"},
	OutcomeDeleteSkipped:   {StatusOther, SeverityInformational, false, "delete skipped: the Genesys Cloud user is active again or already deleted; nothing was changed"},
	OutcomeHeld:            {StatusFailure, SeverityMedium, true, "user is under a legal hold; Genesys Cloud user not deleted"},
	OutcomeVerified:        {StatusSuccess, SeverityInformational, false, "read-back: the Genesys Cloud user is inactive and got no token since the revocation"},
	OutcomeUnverified:      {StatusFailure, SeverityHigh, false, "read-back failed: the Genesys Cloud user may have access; see unmapped.verification"},
}

// Valid reports whether o is one of the outcomes above.
func (o Outcome) Valid() bool { _, ok := outcomes[o]; return ok }

// DeadLetter reports whether a job with this outcome also goes to the dead-letter stream for an
// operator to review: protected, rejected, conflict, exhausted and dropped.
func (o Outcome) DeadLetter() bool { return outcomes[o].deadLetter }

// StatusID returns the OCSF status_id: 1 Success, 2 Failure, 99 Other (dry run), 0 for an
// unknown outcome.
func (o Outcome) StatusID() int { return outcomes[o].status }

// SeverityID returns the OCSF severity_id: 1 Informational for changes that went as asked, 2 Low
// for not_found, 3 Medium for protected and rejected, 4 High when a leaver may keep access
// (conflict, exhausted), 0 for an unknown outcome.
func (o Outcome) SeverityID() int { return outcomes[o].severity }

var statusNames = map[int]string{StatusUnknown: "Unknown", StatusSuccess: "Success", StatusFailure: "Failure", StatusOther: "Other"}

var severityNames = map[int]string{0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal", 99: "Other"}
