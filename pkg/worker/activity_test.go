package worker_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// A failed reactivation keeps its job's OCSF activity, Enable, like a successful one: only
// deactivation jobs are Disable events, which genesysctl report counts as leavers.
func TestFailedReactivationIsAnEnableEvent(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	b.Worker(worker.Config{})
	user := inactiveSeed(t, b.Sim, 1)[0]
	ids := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, func(j *jobs.Job) { j.ID, j.Action = "react-refused", jobs.ActionReactivate })
	if st := b.WaitDone(ids...)[ids[0]]; st.Outcome != audit.OutcomeProtected {
		t.Fatalf("%s, want protected (never deactivated by this system)", st.Outcome)
	}
	for _, m := range b.StreamMsgs(b.Names.AuditStream()) {
		if !strings.Contains(m.Subject, ".audit.user.") {
			continue
		}
		var ev struct {
			Data audit.AccountChange `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Data.Unmapped.JobID == "react-refused" && (ev.Data.ActivityID != int(audit.ActivityEnable) || ev.Data.TypeUID != 300102) {
			t.Errorf("the refused reactivation's event: activity %d, type_uid %d; want 2, 300102", ev.Data.ActivityID, ev.Data.TypeUID)
		}
	}
}
