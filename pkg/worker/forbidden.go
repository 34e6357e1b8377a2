package worker

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// Hints for a 403 that concerns one user, not the fleet.
const (
	divisionHint = "hint: the OAuth client's role lacks this permission in the user's division; grant it in that division (or move the user), then replay the dead letter"
	oneUserHint  = "hint: Genesys refused this change for this user only (the same call on a user that does not exist is permitted); check the OAuth client's role and divisions for this user, then replay the dead letter"
)

// judgeRefusal decides whether a 403 is the fleet's or this job's. A 403
// that names a division (missing.division.permission) concerns this user
// alone; so does one that the probe, repeating the call on a user that does
// not exist, does not meet. Either ends the job "conflict" (dead letter, an
// operator acts) instead of pausing every worker for one user (review D7).
// Only a refusal the probe repeats, a refused grant, or a 401 after a fresh
// token stays systemic.
func (w *Worker) judgeRefusal(ctx context.Context, v verdict) verdict {
	if v.fail != failSystemic || !errors.Is(v.err, genesys.ErrForbidden) {
		return v
	}
	if errors.Is(v.err, genesys.ErrDivisionForbidden) {
		return verdict{outcome: audit.OutcomeConflict, err: fmt.Errorf("%w (%s)", v.err, divisionHint)}
	}
	if paused, _ := w.pause.Paused(); paused {
		return v // the probe loop finds out; the job waits and runs again
	}
	if err := w.probe(ctx, v.err); err != nil {
		w.log.Warn("a permission is refused for every user, not one: the fleet pauses", zap.Error(err))
		return v
	}
	return verdict{outcome: audit.OutcomeConflict, err: fmt.Errorf("%w (%s)", v.err, oneUserHint)}
}

// stepRefusal is a 403 met by an optional step of the cut phase (off_queue): the worker's probe
// knows the base plan's calls, not the step's, so the step's own Probe, which repeats its change
// on a user that does not exist, judges whether the permission is missing for every user (the
// fleet pauses: the access cut waits for it, as for a missing PATCH permission) or for this user.
type stepRefusal struct {
	step  string
	probe func(ctx context.Context, c *genesys.Client) error
	err   error
}

func (e *stepRefusal) Error() string { return "step " + e.step + ": " + e.err.Error() }
func (e *stepRefusal) Unwrap() error { return e.err }

// probe repeats what failed without changing anything (Config.Probe), and, for a step's
// refusal, the step's Probe too; nil when Genesys accepts it all.
func (w *Worker) probe(ctx context.Context, failed error) error {
	if err := w.cfg.Probe(ctx, failed); err != nil {
		return err
	}
	var sr *stepRefusal
	if errors.As(failed, &sr) {
		if err := sr.probe(ctx, w.cfg.Genesys); err != nil {
			return fmt.Errorf("jobs: probe of step %s: %w", sr.step, err)
		}
	}
	return nil
}
