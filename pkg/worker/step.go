package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Phase is the part of a plan a step belongs to.
type Phase int

const (
	// PhaseCheck resolves the user and checks that the job may go on (safety, dry run).
	PhaseCheck Phase = iota + 1
	// PhaseCut takes access away (the PATCH, token revocation).
	PhaseCut
	// PhaseClean tidies up after the access is cut (queues, stations, forwarding).
	PhaseClean
	// PhaseUndo gives back what a deactivation took, in a reactivation.
	PhaseUndo
	// PhaseVerify reads the user back after the access cut and proves it held (the verify step):
	// read-only, at the normal budget priority whatever the job's, so that it never delays the
	// next urgent access cut.
	PhaseVerify
)

// Step is one step of a job's plan: it reads the before-state, records what it found (in the
// run's findings, which the job status keeps and the audit event carries) and makes its change.
// A step must be idempotent: a job is delivered again after a crash or a failed attempt, and a
// step that completed without its completion being written runs again. The worker writes the
// status before a change that must be known after a crash (the PATCH), after every PhaseClean
// step (a cleanup job that is delivered again does not repeat a completed one), on a failed
// attempt and at the end; not after every step.
//
// An Optional step runs only when an operator enables it by name (Config.Steps); it must honour
// [Run.DryRun]: in a dry run it reads and records, changes nothing, and says what it would change
// with [Run.Would].
type Step struct {
	// Name names the step in the status record (Steps.Done), its own findings and, for an
	// Optional step, Config.Steps. Required; unique among the steps one job runs.
	Name string
	// Phase is the part of the plan the step belongs to.
	Phase Phase
	// Every runs the step on every delivery, even when a delivery before recorded it done: it
	// reads state that may have changed meanwhile (resolve, the protection check).
	Every bool
	// Applies says whether the step runs for this job (a config flag, the dry run, the user's
	// state). Nil: always.
	Applies func(r *Run) bool
	// Do runs the step. It ends the plan by returning an error: Stop for an outcome, a Genesys
	// error as it came (mapped as the worker maps Genesys errors: not found, conflict,
	// transient...), any other error as a transient failure (the job is tried again later).
	Do func(ctx context.Context, r *Run) error
	// Undo is what a reactivation does with what the step recorded in the user's last
	// deactivation (recorded is nil when none is recorded and the reactivation is forced). Nil:
	// nothing to undo. The reactivation plan runs the undos of the deactivation plan in reverse.
	Undo func(ctx context.Context, r *Run, recorded *audit.Findings) error

	// Optional: an operator enables the step by name (Config.Steps, the worker's --steps); a step
	// that is not Optional always runs. An Optional step of PhaseCut runs inside the
	// deactivation, just before the PATCH; one of PhaseClean runs in the follow-up cleanup job.
	Optional bool
	// Permissions are the Genesys permissions the step's calls need, for the self-check and the
	// docs. Nil: none beyond the base plan's.
	Permissions []string
	// Probe makes a call that changes nothing (a read, or a change aimed at a user id that does
	// not exist) and fails with a 403 when a permission the step needs is missing: the worker's
	// self-check runs it for every enabled step. Nil: none.
	Probe func(ctx context.Context, c *genesys.Client) error
	// Calls is what the step would cost in Genesys calls for this user, its reads included,
	// asked in a dry run after the step ran (and read): the preview adds it up. Nil: 0.
	Calls func(r *Run) int
}

// StopError ends a plan with an outcome; a step returns it through Stop.
type StopError struct {
	Outcome audit.Outcome
	Err     error // why, for an outcome an operator must look at; nil for a routine one
}

func (e *StopError) Error() string {
	if e.Err == nil {
		return "jobs: plan stopped: " + string(e.Outcome)
	}
	return fmt.Sprintf("jobs: plan stopped: %s: %v", e.Outcome, e.Err)
}

func (e *StopError) Unwrap() error { return e.Err }

// Stop ends the plan with outcome; err says why (nil for a routine outcome such as a dry run).
func Stop(outcome audit.Outcome, err error) error { return &StopError{Outcome: outcome, Err: err} }

// waitError is a failure that is not the job's (a lease held by another job, the guard holding
// the job, NATS trouble): the job is handed back without an attempt.
type waitError struct{ err error }

func (e waitError) Error() string { return e.err.Error() }
func (e waitError) Unwrap() error { return e.err }

func wait(err error) error { return waitError{err} }

// Job is the job being run.
func (r *Run) Job() jobs.Job { return r.job }

// User is the Genesys user as the resolve step found it (nil before), after any change a step
// made and read back.
func (r *Run) User() *genesys.User { return r.user }

// Findings is what the steps found so far: the status record keeps it and the audit event
// carries it. A step changes it in place.
func (r *Run) Findings() *audit.Findings { return &r.st.Steps.Findings }

// Found records v (marshalled to JSON) as what the step name found, under unmapped.steps.<name>
// in the audit event. Never put a secret in it. It fails only when v cannot be marshalled.
func (r *Run) Found(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jobs: record what %s found: %w", name, err)
	}
	f := r.Findings()
	if f.Steps == nil {
		f.Steps = map[string]json.RawMessage{}
	}
	f.Steps[name] = b
	r.mergeWould(name)
	return nil
}

// DryRun reports whether the job is a dry run: a step reads and records its before-state, changes
// nothing, and says what it would change with Would.
func (r *Run) DryRun() bool { return r.job.DryRun }

// Would records, in a dry run, that the step would make the change what (such as "remove the
// user from 3 queues"): under unmapped.steps.<step>.would in the audit event, a list in the order
// said. The step's own findings (Found) must then be a JSON object, or nothing: anything else is
// kept under "found" next to "would".
func (r *Run) Would(step, what string) {
	if r.would == nil {
		r.would = map[string][]string{}
	}
	r.would[step] = append(r.would[step], what)
	r.mergeWould(step)
}

// mergeWould puts what the step would change into its findings.
func (r *Run) mergeWould(step string) {
	would := r.would[step]
	if len(would) == 0 {
		return
	}
	f := r.Findings()
	if f.Steps == nil {
		f.Steps = map[string]json.RawMessage{}
	}
	obj := map[string]json.RawMessage{}
	if raw := f.Steps[step]; len(raw) > 0 && json.Unmarshal(raw, &obj) != nil {
		obj = map[string]json.RawMessage{"found": raw}
	}
	obj["would"], _ = json.Marshal(would) // a []string always marshals
	f.Steps[step], _ = json.Marshal(obj)
}

// runSteps runs the steps in order, skipping those an earlier delivery recorded done (unless
// Every) and those that do not apply, and maps the first error to a verdict. The status is
// written after each PhaseClean step, so that a cleanup job delivered again (after a crash, or
// an attempt that failed at a later step) does not repeat a change that completed.
func (r *Run) runSteps(ctx context.Context, steps []Step) (verdict, bool) {
	for _, s := range steps {
		if !s.Every && r.st.Steps.IsDone(s.Name) {
			continue
		}
		if s.Applies != nil && !s.Applies(r) {
			continue
		}
		if err := s.Do(ctx, r); err != nil {
			return r.verdictOf(ctx, stepError(s, err)), false
		}
		r.st.Steps.MarkDone(s.Name)
		if s.Phase == PhaseClean && !r.job.DryRun {
			if err := r.saveStatus(ctx); err != nil {
				return r.verdictOf(ctx, err), false
			}
		}
	}
	return verdict{}, true
}

// stepError names the PhaseClean step that failed, so that the attempt, the dead letter and the
// audit event say which cleanup step an operator must look at. The error is wrapped: a Genesys
// error still maps as it did, but for a 403: a permission that only a cleanup step needs must
// not pause the fleet (the access cuts go on), so the cleanup job ends conflict, dead-lettered
// with the permissions the step needs, and is replayed once they are granted. A 403 met by an
// optional cut step is judged with that step's Probe (see stepRefusal).
func stepError(s Step, err error) error {
	var stop *StopError
	var we waitError
	if s.Phase == PhaseCut && s.Probe != nil && errors.Is(err, genesys.ErrForbidden) {
		return &stepRefusal{step: s.Name, probe: s.Probe, err: err} // judged with the step's probe
	}
	if err == nil || s.Phase != PhaseClean || errors.As(err, &stop) || errors.As(err, &we) {
		return err
	}
	err = fmt.Errorf("step %s: %w", s.Name, err)
	if errors.Is(err, genesys.ErrForbidden) && !errors.Is(err, genesys.ErrCredentials) {
		return Stop(audit.OutcomeConflict, fmt.Errorf("%w (hint: Genesys refused a call of the cleanup step %s; it needs %s: grant them to the OAuth client's role or leave the step out of --steps, then replay the dead letter)",
			err, s.Name, permissionList(s.Permissions)))
	}
	return err
}

func permissionList(perms []string) string {
	if len(perms) == 0 {
		return "no permission beyond the base plan's"
	}
	return strings.Join(perms, ", ")
}

// saveStatus writes the status record as it is now.
func (r *Run) saveStatus(ctx context.Context) error {
	r.st.UpdatedAt, r.st.Worker = r.w.now().UTC(), r.w.cfg.ID
	if err := r.w.status.Save(ctx, &r.st); err != nil {
		return wait(fmt.Errorf("%w: %w", errStore, err))
	}
	return nil
}

// verdictOf maps the error that ended a plan.
func (r *Run) verdictOf(ctx context.Context, err error) verdict {
	var stop *StopError
	var pe protectedError
	var we waitError
	switch {
	case errors.As(err, &stop):
		return verdict{outcome: stop.Outcome, err: stop.Err}
	case errors.As(err, &pe):
		return verdict{outcome: audit.OutcomeProtected, err: pe}
	case errors.As(err, &we):
		return verdict{fail: failWait, err: we.err}
	}
	return r.genesysFailure(ctx, err)
}

// genesysFailure turns a Genesys error into an outcome where Genesys gave a
// verdict on the job, and into a failure class otherwise.
func (r *Run) genesysFailure(ctx context.Context, err error) verdict {
	switch {
	case ctx.Err() != nil:
		return verdict{fail: failWait, err: err}
	case errors.Is(err, genesys.ErrNotFound):
		return verdict{outcome: audit.OutcomeNotFound, err: err}
	case errors.Is(err, genesys.ErrConflict):
		return verdict{outcome: audit.OutcomeConflict, err: fmt.Errorf("%w (%s)", err, conflictHint)}
	case errors.Is(err, genesys.ErrBadRequest), errors.Is(err, genesys.ErrAmbiguous), errors.Is(err, genesys.ErrInvalidArgument),
		errors.Is(err, genesys.ErrWrongUser):
		return verdict{outcome: audit.OutcomeConflict, err: err}
	}
	return verdict{fail: classify(ctx, err), err: err}
}
