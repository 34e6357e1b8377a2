// Package worker runs deactivation jobs: it takes them from the jobs stream's lanes (urgent
// first, then normal, then the follow-up cleanup jobs when both are empty), runs each job's plan against Genesys Cloud under the fleet's rate budget, stores the
// results (dead letter, audit event, status) and only then answers the message.
//
// A plan is an ordered list of [Step] values (plan.go; [Config.DefaultPlan]). A step has a name, a
// [Phase], the before-state it reads, the change it makes ([Step.Do]) and what a reactivation
// does with what it recorded ([Step.Undo]). The worker records each completed step in the job's
// status (jobs.Steps.Done), so a redelivered job resumes after the last recorded step, and what
// the steps found goes into one structure (audit.Findings) that the status keeps and the audit
// event carries as it is. Every Genesys call of a step goes through [Call] or [CallMany] (the 429
// wait, the correlation id, the urgent priority). A step ends the plan with an error: [Stop] for
// an outcome, a Genesys error as it came. decide (ack.go) is the one place that turns what a
// delivery reached into ack, term, nak or hold.
//
// Adding a step: write it in its own file (step_<name>.go) with its test, add one line to
// deactivationPlan in plan.go, and, if operators choose it, its flag in internal/workercmd.
// What it finds it records with [Run.Found]; if it has an Undo, the reactivation plan runs it.
//
// Optional steps, those an operator names (Config.Steps, the worker's --steps), are one line each
// in registered (plan.go). A PhaseCut one runs inside the deactivation, just before the PATCH; the
// PhaseClean ones run in a follow-up job (action cleanup, id jobs.CleanupID of the deactivation's)
// that the deactivation's last step, schedule_cleanup, publishes on the cleanup lane once the
// access is cut, so that nothing delays the cut. The cleanup job checks that the user is still
// inactive (else it ends cleanup_skipped), runs the clean steps, writing the status after each,
// and ends cleaned_up with its own audit event. A dry run previews every enabled optional step.
//
// The read-back (Config.Verify, step verify, PhaseVerify; step_verify.go) follows the access cut:
// it reads the user again at the normal budget priority and records verified and each check in the
// deactivation's own event, without changing its outcome; a verify job (action verify) runs the
// same checks on demand and ends verified or unverified.
//
// This package holds no wire formats: the job, its status and dead letter, the names, the guard
// and the lanes are package jobs'; the audit event is package audit's.
package worker
