package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
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
)

// Step is one step of a job's plan: it reads the before-state, records what it found (in the
// run's findings, which the job status keeps and the audit event carries) and makes its change.
// A step must be idempotent: a job is delivered again after a crash or a failed attempt, and a
// step that completed without its completion being written runs again. The worker writes the
// status before a change that must be known after a crash (the PATCH), on a failed attempt and
// at the end, not after every step.
type Step struct {
	// Name names the step in the status record (Steps.Done) and its own findings. Required;
	// unique in a plan.
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
func (r *Run) Job() Job { return r.job }

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
	return nil
}

// done reports whether a delivery recorded the step done.
func (s *Steps) done(name string) bool { return slices.Contains(s.Done, name) }

func (s *Steps) markDone(name string) {
	if !s.done(name) {
		s.Done = append(s.Done, name)
	}
}

// runSteps runs the steps in order, skipping those an earlier delivery recorded done (unless
// Every) and those that do not apply, and maps the first error to a verdict.
func (r *Run) runSteps(ctx context.Context, steps []Step) (verdict, bool) {
	for _, s := range steps {
		if !s.Every && r.st.Steps.done(s.Name) {
			continue
		}
		if s.Applies != nil && !s.Applies(r) {
			continue
		}
		if err := s.Do(ctx, r); err != nil {
			return r.verdictOf(ctx, err), false
		}
		r.st.Steps.markDone(s.Name)
	}
	return verdict{}, true
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
