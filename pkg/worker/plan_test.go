package worker

import (
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"slices"
	"testing"
)

func stepNames(steps []Step) []string {
	names := make([]string, 0, len(steps))
	for _, s := range steps {
		names = append(names, s.Name)
	}
	return names
}

// The plans as DESIGN.md lists them; the reactivation undoes the deactivation's steps in reverse.
func TestDefaultPlans(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		action jobs.Action
		want   []string
	}{
		{jobs.ActionDeactivate, []string{"resolve", "lease", "snapshot_queues", "snapshot_grants", "protect", "dry_run", "guard_slot", "deactivate", "revoke_tokens", "verify", "schedule_delete"}},
		{jobs.ActionDelete, []string{"resolve", "lease", "protect", "delete_check", "legal_hold", "dry_run", "delete_guard", "delete"}},
		{jobs.ActionReactivate, []string{"resolve", "lease", "cancel_scheduled", "reactivation_checks", "reactivation_guard", "undo_deactivate", "undo_mfa", "undo_oauth_clients", "undo_wfm", "undo_forwarding", "undo_station", "undo_queues", "undo_snapshot_grants"}},
		{jobs.ActionCancel, []string{"resolve", "cancel_scheduled"}},
	} {
		plan := Config{}.DefaultPlan(jobs.Job{Action: tt.action})
		if got := stepNames(plan); !slices.Equal(got, tt.want) {
			t.Errorf("%s plan %v, want %v", tt.action, got, tt.want)
		}
		for _, s := range plan {
			if s.Do == nil || s.Phase == 0 {
				t.Errorf("%s step %s lacks Do or Phase", tt.action, s.Name)
			}
		}
	}
	if p := (Config{}).DefaultPlan(jobs.Job{Action: "erase"}); p != nil {
		t.Errorf("plan for an unknown action: %v", stepNames(p))
	}
}
