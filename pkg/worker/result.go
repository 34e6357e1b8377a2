package worker

import (
	"cmp"
	"encoding/json"
	"errors"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// record is what the terminal audit event says about the job.
func (r *Run) record(outcome audit.Outcome, errText string, now time.Time) audit.Record {
	s, j := r.st.Steps, r.job
	rec := audit.Record{
		JobID:   j.ID,
		EventID: r.st.EventID,
		Outcome: outcome,
		Time:    now,
		User: audit.Target{
			ID:         cmp.Or(s.UserID, j.User.ID),
			ExternalID: cmp.Or(s.ExternalID, j.User.ExternalID),
			UserName:   cmp.Or(s.UserName, j.User.UserName),
		},
		RequestedBy: j.RequestedBy,
		Ticket:      j.Ticket,
		Reason:      j.Reason,
		Priority:    string(j.Priority),
		ReplayOf:    j.ReplayOf,
		CleanupOf:   j.CleanupOf,
		DryRun:      j.DryRun,
		Forced:      j.Force,
		NotBefore:   j.NotBefore,
		CanceledBy:  r.canceledBy,
		Findings:    s.Findings,
		Attempts:    attemptsMade(outcome, r.st.Attempts),
		Error:       errText,
		Message:     r.message,
	}
	// The job's activity also when it fails (exhausted, conflict, protected): a failed
	// reactivation or delete is not the account's disable, and a report counting Disable events
	// as leavers (genesysctl report) must not list it as one.
	switch j.Action {
	case jobs.ActionCleanup, jobs.ActionVerify:
		rec.Activity = audit.ActivityOther
	case jobs.ActionReactivate:
		rec.Activity = audit.ActivityEnable
	case jobs.ActionDelete:
		rec.Activity = audit.ActivityDelete
	}
	if s.Resolved {
		rec.RolesBefore = append([]string{}, s.RolesBefore...) // resolved: [] means "no roles"
	} else {
		rec.RolesBefore = nil // unknown
	}
	if !r.published.IsZero() {
		rec.Latency = now.Sub(r.published)
	}
	return rec
}

// attemptsMade counts the failed attempts plus the one that reached the
// outcome; a rejected job was never attempted, an exhausted one only failed.
func attemptsMade(outcome audit.Outcome, failed []jobs.Attempt) int {
	switch outcome {
	case audit.OutcomeRejected:
		return 0
	case audit.OutcomeExhausted:
		return len(failed)
	}
	return len(failed) + 1
}

// deadLetter is what an operator gets to look at.
func (r *Run) deadLetter(outcome audit.Outcome, err error, errText string, now time.Time) jobs.DeadLetter {
	dl := jobs.DeadLetter{
		Version:   1,
		JobID:     r.job.ID,
		Outcome:   outcome,
		Reason:    cmp.Or(errText, string(outcome)),
		Subject:   r.msg.Subject(),
		StreamSeq: r.seq,
		UserID:    r.st.Steps.UserID,
		Attempts:  r.st.Attempts,
		Time:      now,
		Worker:    r.w.cfg.ID,
	}
	if data := r.msg.Data(); json.Valid(data) {
		dl.Job = json.RawMessage(data)
	} else {
		dl.RawJob = data
	}
	if r.st.Decided != nil && r.st.Decided.Genesys != nil {
		dl.Genesys = r.st.Decided.Genesys // also when a redelivery stores what an earlier one decided
	} else {
		dl.Genesys = genesysErrorOf(err)
	}
	return dl
}

// genesysErrorOf is what Genesys answered behind err, for a dead letter; nil when err holds no
// Genesys API error.
func genesysErrorOf(err error) *jobs.GenesysError {
	var ae *genesys.APIError
	if !errors.As(err, &ae) {
		return nil
	}
	return &jobs.GenesysError{Status: ae.StatusCode, Code: cmp.Or(ae.Code, ae.ScimType), Message: ae.Message, CorrelationID: ae.CorrelationID}
}
