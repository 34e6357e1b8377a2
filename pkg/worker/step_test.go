package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// A step written outside the package, in a plan of the test's own: it runs, makes its Genesys
// call through worker.Call, is recorded done in the status, is not run again when a later step
// fails and the job is delivered again, and what it found is in the audit event under
// unmapped.steps.<name>.
func TestAStepAddedInATestPlan(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 5}})
	u := b.Sim.Users()[0]
	if !u.Active {
		t.Fatalf("simulated user %s is inactive", u.ID)
	}

	type probed struct {
		UserName string `json:"user_name"`
		Active   bool   `json:"active"`
	}
	var probeRuns, flakyRuns atomic.Int32
	probe := worker.Step{Name: "probe", Phase: worker.PhaseClean, Do: func(ctx context.Context, r *worker.Run) error {
		probeRuns.Add(1)
		got, err := worker.Call(ctx, r, func(c *genesys.Client) (*genesys.User, *genesys.Response, error) {
			return c.Users.Get(ctx, r.User().ID)
		})
		if err != nil {
			return err
		}
		return r.Found("probe", probed{UserName: got.UserName, Active: got.Active})
	}}
	// flaky fails on its first run only: the job is handed back with an attempt and delivered again.
	flaky := worker.Step{Name: "flaky", Phase: worker.PhaseClean, Do: func(context.Context, *worker.Run) error {
		if flakyRuns.Add(1) == 1 {
			return errors.New("flaky: fails once")
		}
		return nil
	}}
	b.Worker(worker.Config{Plan: func(job jobs.Job) []worker.Step {
		return append(worker.Config{}.DefaultPlan(job), probe, flaky)
	}})

	id := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, nil)[0]
	st := b.WaitDone(id)[id]

	if st.Outcome != audit.OutcomeDeactivated || len(st.Attempts) != 1 {
		t.Fatalf("outcome %s after %d failed attempts; want deactivated after 1", st.Outcome, len(st.Attempts))
	}
	if n, m := probeRuns.Load(), flakyRuns.Load(); n != 1 || m != 2 {
		t.Errorf("probe ran %d times, flaky %d; want 1 and 2 (the probe recorded done before the redelivery)", n, m)
	}
	for _, name := range []string{"resolve", "deactivate", "revoke_tokens", "probe", "flaky"} {
		if !slices.Contains(st.Steps.Done, name) {
			t.Errorf("status records done %v; want %s in it", st.Steps.Done, name)
		}
	}
	want := probed{UserName: u.UserName, Active: false}
	var got probed
	if err := json.Unmarshal(b.AuditEvents()[id].Steps["probe"], &got); err != nil || got != want {
		t.Errorf("unmapped.steps.probe = %+v (%v); want %+v", got, err, want)
	}
	if raw := st.Steps.Steps["probe"]; string(raw) != `{"user_name":"`+u.UserName+`","active":false}` {
		t.Errorf("the status records the probe's findings as %s", raw)
	}
}
