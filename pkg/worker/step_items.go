package worker

import (
	"errors"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// itemRefusal is what a clean step records for one item (a flow, a client, a verifier) that
// Genesys refused for a reason a retry would not change (see refused): the step goes on with
// the next item instead of ending the whole job with that item's outcome.
func itemRefusal(err error) string {
	if errors.Is(err, genesys.ErrNotFound) {
		return reason("gone meanwhile", err)
	}
	return reason("refused", err)
}

// undone is what the undo of a clean step records: what it gave back, and what it could not and
// why.
type undone struct {
	Restored []string   `json:"restored,omitempty"`
	CouldNot []couldNot `json:"could_not,omitempty"`
	Result   string     `json:"result"`
}
