package worker

import (
	"context"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// UndoFrom is the undo of the optional step name as a reactivation step that restores from
// recorded instead of the user's last deactivation: for tests of a record that no worker would
// write now (a queue deleted since). Nil when the step has no undo.
func UndoFrom(name string, recorded *audit.Findings) *Step {
	for _, s := range registered() {
		if s.Name == name && s.Undo != nil {
			undo := s.Undo
			return &Step{Name: "undo_" + name, Phase: PhaseUndo,
				Do: func(ctx context.Context, r *Run) error { return undo(ctx, r, recorded) }}
		}
	}
	return nil
}
