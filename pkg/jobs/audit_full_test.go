package jobs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// setAuditMaxBytes changes the audit stream's byte limit (it discards new messages past it).
func (b *bed) setAuditMaxBytes(n int64) {
	b.t.Helper()
	s, err := b.js.Stream(b.t.Context(), b.names.AuditStream())
	if err != nil {
		b.t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxBytes = n
	if _, err := b.js.UpdateStream(b.t.Context(), cfg); err != nil {
		b.t.Fatal(err)
	}
}

// Review L3, probe 42: with the audit stream full, a finished job is handed back until its event
// can be stored. Its redeliveries store the decided outcome without calling Genesys again, the
// worker says that results cannot be stored, and once there is room the job ends with one event.
func TestFullAuditStreamDoesNotRepeatGenesysCalls(t *testing.T) {
	t.Parallel()
	b := newBed(t, genesyssim.Config{Users: 30, RateLimit: 1_000_000})
	b.publishRaw("genesys.audit.ops.filler", strings.Repeat("x", 512), "")
	b.setAuditMaxBytes(600) // full: the next event does not fit
	w, _ := b.worker(jobs.WorkerConfig{})
	ids := b.enqueue([]jobs.UserRef{{ID: plainUsers(b)[0].ID}}, nil)

	waitFor(t, 20*time.Second, "the first store to fail", func() bool { return w.ResultsUnstorable() != nil })
	st, err := b.status.Get(t.Context(), ids[0])
	if err != nil || st.Decided == nil || st.Decided.Outcome != audit.OutcomeDeactivated || st.State == jobs.StateDone {
		t.Fatalf("status before the event is stored: %+v %v", st, err)
	}
	calls := len(b.sim.Requests())
	cons, err := b.js.Consumer(t.Context(), b.names.JobsStream(), b.names.NormalConsumer())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "two redeliveries", func() bool {
		info, err := cons.Info(t.Context())
		return err == nil && info.Delivered.Consumer >= 3 // the one job, delivered three times
	})
	if n := len(b.sim.Requests()); n != calls {
		t.Errorf("redeliveries made %d more Genesys calls", n-calls)
	}
	if w.ResultsUnstorable() == nil {
		t.Error("the worker does not say that results cannot be stored")
	}

	b.setAuditMaxBytes(-1)
	done := b.waitDone(ids, 20*time.Second)
	if done[ids[0]].Outcome != audit.OutcomeDeactivated || b.auditEvents()[ids[0]].Outcome != audit.OutcomeDeactivated {
		t.Errorf("after room returned: status %s, event %+v", done[ids[0]].Outcome, b.auditEvents()[ids[0]])
	}
	if w.ResultsUnstorable() != nil {
		t.Errorf("still unstorable after a store succeeded: %v", w.ResultsUnstorable())
	}
}
