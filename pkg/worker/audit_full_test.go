package worker_test

import (
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// setAuditMaxBytes changes the audit stream's byte limit (it discards new messages past it).
func setAuditMaxBytes(b *testbed.T, n int64) {
	b.TB.Helper()
	s, err := b.JS.Stream(b.TB.Context(), b.Names.AuditStream())
	if err != nil {
		b.TB.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxBytes = n
	if _, err := b.JS.UpdateStream(b.TB.Context(), cfg); err != nil {
		b.TB.Fatal(err)
	}
}

// Review L3, probe 42: with the audit stream full, a finished job is handed back until its event
// can be stored. Its redeliveries store the decided outcome without calling Genesys again, the
// worker says that results cannot be stored, and once there is room the job ends with one event.
func TestFullAuditStreamDoesNotRepeatGenesysCalls(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	publishRaw(b, "genesys.audit.ops.filler", strings.Repeat("x", 512), "")
	setAuditMaxBytes(b, 600) // full: the next event does not fit
	w := b.Worker(worker.Config{})
	ids := b.Enqueue([]jobs.UserRef{{ID: plainUsers(b)[0].ID}}, nil)

	// The first failed store, once the decision is in the job's status (the worker may report an
	// unstorable result before its status write has landed).
	b.WaitUntil("the first store to fail", func() bool {
		st, err := b.Status.Get(t.Context(), ids[0])
		return w.ResultsUnstorable() != nil && err == nil && st.Decided != nil
	})
	st, err := b.Status.Get(t.Context(), ids[0])
	if err != nil || st.Decided == nil || st.Decided.Outcome != audit.OutcomeDeactivated || st.State == jobs.StateDone {
		t.Fatalf("status before the event is stored: %+v %v", st, err)
	}
	calls := len(b.Sim.Requests())
	cons, err := b.JS.Consumer(t.Context(), b.Names.JobsStream(), b.Names.NormalConsumer())
	if err != nil {
		t.Fatal(err)
	}
	b.WaitUntil("two redeliveries", func() bool {
		info, err := cons.Info(t.Context())
		return err == nil && info.Delivered.Consumer >= 3 // the one job, delivered three times
	})
	if n := len(b.Sim.Requests()); n != calls {
		t.Errorf("redeliveries made %d more Genesys calls", n-calls)
	}
	if w.ResultsUnstorable() == nil {
		t.Error("the worker does not say that results cannot be stored")
	}

	setAuditMaxBytes(b, -1)
	done := b.WaitDone(ids...)
	if done[ids[0]].Outcome != audit.OutcomeDeactivated || b.AuditEvents()[ids[0]].Outcome != audit.OutcomeDeactivated {
		t.Errorf("after room returned: status %s, event %+v", done[ids[0]].Outcome, b.AuditEvents()[ids[0]])
	}
	if w.ResultsUnstorable() != nil {
		t.Errorf("still unstorable after a store succeeded: %v", w.ResultsUnstorable())
	}
}
