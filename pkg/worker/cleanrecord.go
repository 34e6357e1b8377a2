package worker

import (
	"encoding/json"
	"errors"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// recordOf decodes what step name recorded in f into v; false when f is nil, records nothing
// under name, or the record does not decode (then v is left as it was).
func recordOf(f *audit.Findings, name string, v any) bool {
	if f == nil || f.Steps[name] == nil {
		return false
	}
	return json.Unmarshal(f.Steps[name], v) == nil
}

// earlier decodes what an earlier delivery of this job recorded for step name: a step that made
// part of its change before a failed attempt keeps that before-state instead of recording the
// half-changed state it reads now.
func (r *Run) earlier(name string, v any) bool { return recordOf(r.Findings(), name, v) }

// refusedItem says whether Genesys refused a change to one item of a step (gone, in the way,
// not accepted) for a reason that a retry would not change: the step records it and goes on
// with the next item instead of ending the whole job with the item's outcome.
func refusedItem(err error) bool {
	return errors.Is(err, genesys.ErrNotFound) || errors.Is(err, genesys.ErrConflict) ||
		errors.Is(err, genesys.ErrVersionConflict) || errors.Is(err, genesys.ErrBadRequest)
}

// refusal is what a record says about a refused item.
func refusal(err error) string {
	if errors.Is(err, genesys.ErrNotFound) {
		return "not found (gone meanwhile)"
	}
	return "refused: " + audit.Clip(err.Error(), 200)
}
