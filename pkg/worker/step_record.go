package worker

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// recordedAs decodes what step name recorded in f: ok is false when f is nil, holds no record
// of the step, or the record is not a T (an entry the audit event had to clip, "…").
func recordedAs[T any](f *audit.Findings, name string) (v T, ok bool) {
	if f == nil || f.Steps[name] == nil {
		return v, false
	}
	if err := json.Unmarshal(f.Steps[name], &v); err != nil {
		return v, false
	}
	return v, true
}

// refused reports whether Genesys refused one item of a restore for a reason that retrying will
// not change (gone, taken, rejected): the undo records it as could-not and goes on. A 403, a 429
// or a transient failure is not a refusal of the item: the job handles it as any other.
func refused(err error) bool {
	return errors.Is(err, genesys.ErrNotFound) || errors.Is(err, genesys.ErrConflict) ||
		errors.Is(err, genesys.ErrVersionConflict) || errors.Is(err, genesys.ErrBadRequest)
}

// permitted is a probe's verdict on a call aimed at genesys.ProbeUserID: not found means Genesys
// checked the permission and let the call through to find no such user.
func permitted(err error) error {
	if errors.Is(err, genesys.ErrNotFound) {
		return nil
	}
	return err
}

// couldNot is one item an undo could not restore, and why.
type couldNot struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Reason string `json:"reason"`
}

// reason is a refusal in words for the audit event: Genesys's message, never a secret (the
// client's errors name method, path, status and code only).
func reason(what string, err error) string {
	var ae *genesys.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("%s (Genesys %d %s)", what, ae.StatusCode, ae.Code)
	}
	return what
}
