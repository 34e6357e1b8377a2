package worker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// Review D7: which refusals pause the fleet and which end one job.
func TestJudgeRefusal(t *testing.T) {
	t.Parallel()
	forbidden := &genesys.APIError{StatusCode: 403, Code: "missing.any.permissions", Method: "PATCH", Path: "/api/v2/scim/v2/users/x"}
	division := &genesys.APIError{StatusCode: 403, Code: "missing.division.permission", Method: "PATCH", Path: "/api/v2/scim/v2/users/x"}
	unauthorized := &genesys.APIError{StatusCode: 401, Code: "bad.credentials"}
	for _, tt := range []struct {
		name     string
		err      error
		probe    error
		want     audit.Outcome // "" : stays systemic
		wantHint string
		probed   bool
	}{
		{"division 403 ends the job", division, nil, audit.OutcomeConflict, "division", false},
		{"403 the probe does not repeat concerns one user", forbidden, nil, audit.OutcomeConflict, "this user only", true},
		{"403 the probe repeats pauses the fleet", forbidden, forbidden, "", "", true},
		{"403 with a probe that cannot tell pauses the fleet", forbidden, errors.New("network down"), "", "", true},
		{"401 is systemic without a probe", unauthorized, nil, "", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			probed := false
			w := &Worker{log: zap.NewNop(), cfg: Config{Probe: func(ctx context.Context, failed error) error {
				probed = true
				if failed != tt.err {
					t.Errorf("probe got %v, want the refused call's error", failed)
				}
				return tt.probe
			}}}
			w.pause = newFleetPause(w)
			got := w.judgeRefusal(t.Context(), verdict{fail: failSystemic, err: tt.err})
			if got.outcome != tt.want || probed != tt.probed {
				t.Fatalf("judgeRefusal = %+v (probed %v), want outcome %q (probed %v)", got, probed, tt.want, tt.probed)
			}
			if tt.want == "" && (got.fail != failSystemic || got.err != tt.err) {
				t.Errorf("a systemic refusal changed: %+v", got)
			}
			if tt.wantHint != "" && !strings.Contains(got.err.Error(), tt.wantHint) {
				t.Errorf("error %q does not say %q", got.err, tt.wantHint)
			}
		})
	}
}
