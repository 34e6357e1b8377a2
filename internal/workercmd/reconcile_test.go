package workercmd

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/reconcile"
	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// reconcileArgs are the flags of `worker reconcile` against the bed, after --hr FILE.
func reconcileArgs(b *testbed.T, hr string, extra ...string) []string {
	return append([]string{"reconcile", "--hr", hr, "--nats-url", b.URL, "--base-url", b.SimURL,
		"--client-id", genesyssim.DefaultClientID, "--client-secret", genesyssim.DefaultClientSecret,
		"--rate-per-minute", "1000000", "--log-level", "warn"}, extra...)
}

// runReconcileMain runs Main with args and returns its exit status, stdout and stderr.
func runReconcileMain(t *testing.T, args []string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), testbed.Timeout)
	defer cancel()
	code := Main(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// jsonReport splits a --format json report into its rows and its summary.
func jsonReport(t *testing.T, out string) ([]reconcile.Result, reconcile.Summary) {
	t.Helper()
	var rows []reconcile.Result
	var sum struct {
		Summary *reconcile.Summary `json:"summary"`
	}
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, `{"summary"`) {
			if err := json.Unmarshal([]byte(line), &sum); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var r reconcile.Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		rows = append(rows, r)
	}
	if sum.Summary == nil {
		t.Fatalf("no summary in\n%s", out)
	}
	return rows, *sum.Summary
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// An HR list mixing the four cases gives each its class, with our audit event for the one we
// deactivated; --enqueue publishes a job for the still-active one only, a second --enqueue
// publishes nothing new, and once a worker ran the job the person is deactivated by us.
func TestReconcileFourCasesAndEnqueue(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 4, RateLimit: 1_000_000}})
	users := b.ActiveUsers(2)
	ours, active := users[0], users[1]
	gone, err := b.Sim.AddUser(genesyssim.User{UserName: "gone.before@example.com", DisplayName: "Gone Before", ExternalID: "EMP-900", Active: false})
	if err != nil {
		t.Fatal(err)
	}

	// ours is deactivated by this system: a job through a worker, its audit event in the stream.
	w := b.Worker(testbed.WorkerConfig{})
	jobID := b.Enqueue([]jobs.UserRef{{ID: ours.ID}}, nil)[0]
	if st := b.WaitDone(jobID)[jobID]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("setup: the job ended %s", st.Outcome)
	}
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}

	hr := writeFile(t, "terminations.csv", "# HR export\nid,email,terminated_at,external_id\n"+
		ours.ID+",,2026-11-30T17:00:00Z,\n"+
		",,2026-11-29,EMP-900\n"+
		","+strings.ToUpper(active.UserName)+",2026-12-01T09:30:00+01:00,\n"+
		",nobody@example.com,2026-12-02,\n")

	code, out, errs := runReconcileMain(t, reconcileArgs(b, hr, "--format", "json"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	rows, sum := jsonReport(t, out)
	activeJob := jobs.Job{Action: jobs.ActionDeactivate, User: jobs.UserRef{UserName: strings.ToUpper(active.UserName)},
		Reason: enqueue.HRReason(time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)), RequestedBy: enqueue.HRRequestedBy}
	want := []reconcile.Result{
		{Line: 3, User: "id:" + ours.ID, TerminatedAt: time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC), Class: reconcile.DeactivatedByUs,
			UserID: ours.ID, UserName: ours.UserName, AuditEventID: audit.EventID(jobID), AuditOutcome: "deactivated", AuditJobID: jobID},
		{Line: 4, User: "external_id:EMP-900", TerminatedAt: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), Class: reconcile.InactiveNotByUs,
			UserID: gone.ID, UserName: gone.UserName},
		{Line: 5, User: "user_name:" + strings.ToUpper(active.UserName), TerminatedAt: time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC),
			Class: reconcile.StillActive, UserID: active.ID, UserName: active.UserName, JobID: activeJob.DeterministicID()},
		{Line: 6, User: "user_name:nobody@example.com", TerminatedAt: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), Class: reconcile.NotFound},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(rows), len(want), out)
	}
	for i := range want {
		got := rows[i]
		if want[i].AuditEventID != "" {
			if got.AuditTime.IsZero() {
				t.Errorf("line %d: no audit time", got.Line)
			}
			got.AuditTime = time.Time{}
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want[i]) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	if sum.Rows != 4 || sum.Classes[reconcile.DeactivatedByUs] != 1 || sum.Classes[reconcile.InactiveNotByUs] != 1 ||
		sum.Classes[reconcile.StillActive] != 1 || sum.Classes[reconcile.NotFound] != 1 || sum.Published != 0 || sum.GenesysCalls == 0 {
		t.Errorf("summary %+v", sum)
	}

	// --enqueue twice before any worker runs: one job, then nothing new.
	_, out, _ = runReconcileMain(t, reconcileArgs(b, hr, "--format", "json", "--enqueue"))
	rows, sum = jsonReport(t, out)
	if sum.Published != 1 || rows[2].Enqueued != reconcile.Published || rows[2].JobID != activeJob.DeterministicID() {
		t.Fatalf("first --enqueue: %+v\n%s", sum, out)
	}
	_, out, _ = runReconcileMain(t, reconcileArgs(b, hr, "--format", "json", "--enqueue"))
	rows, sum = jsonReport(t, out)
	if sum.Published != 0 || sum.AlreadyEnqueued != 1 || rows[2].Enqueued != reconcile.AlreadyEnqueued {
		t.Fatalf("second --enqueue: %+v\n%s", sum, out)
	}
	if n := b.StreamMsgs(b.Names.JobsStream()); len(n) != 1 {
		t.Errorf("the jobs stream holds %d jobs, want 1", len(n))
	}

	// A worker deactivates the still-active person; then a third run finds them deactivated by us.
	b.Worker(testbed.WorkerConfig{})
	st := b.WaitDone(activeJob.DeterministicID())[activeJob.DeterministicID()]
	if st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("the reconcile job ended %s", st.Outcome)
	}
	if u, _ := b.Sim.User(active.ID); u.Active {
		t.Fatal("still active in the simulator")
	}
	_, out, _ = runReconcileMain(t, reconcileArgs(b, hr, "--format", "json", "--enqueue"))
	rows, sum = jsonReport(t, out)
	if sum.Published != 0 || sum.Classes[reconcile.StillActive] != 0 || sum.Classes[reconcile.DeactivatedByUs] != 2 ||
		rows[2].AuditJobID != activeJob.DeterministicID() {
		t.Fatalf("after the worker: %+v\n%s", sum, out)
	}
}

// Bad rows are refused with their line numbers, as enqueue refuses them, before any Genesys call.
func TestReconcileRefusesBadRows(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 1, RateLimit: 1_000_000}})
	hr := writeFile(t, "hr.csv", "id,user_name,terminated_at\n"+
		"not-a-uuid,,2026-11-30\n"+
		",a@example.com,\n"+
		",b@example.com,yesterday\n"+
		",c@example.com,2026-11-30,extra\n")
	code, _, errs := runReconcileMain(t, reconcileArgs(b, hr))
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, errs)
	}
	for _, want := range []string{
		hr + ": line 2: user.id:",
		hr + ": line 3: terminated_at: is required",
		hr + ": line 4: terminated_at:",
		hr + ": line 5: has 4 fields, the header has 3",
		"4 invalid rows; nothing was read or published",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if n := len(b.Sim.Requests()); n != 0 {
		t.Errorf("the simulator got %d requests", n)
	}
	// An unknown column, as for enqueue, is the file's error.
	hr = writeFile(t, "hr.jsonl", `{"email":"a@example.com","terminated_at":"2026-11-30","reason":"x"}`+"\n"+`{"email":"b@example.com","left":"2026-11-30"}`+"\n")
	code, _, errs = runReconcileMain(t, reconcileArgs(b, hr))
	if code != 2 || !strings.Contains(errs, "line 1: an HR row holds the user and terminated_at only") || !strings.Contains(errs, "line 2: left: unknown member") {
		t.Errorf("exit %d\n%s", code, errs)
	}
}

// The reconciliation's Genesys calls keep to --share of --rate-per-minute: counted in the
// simulator's request log, by the times the simulator recorded.
func TestReconcileKeepsToItsShare(t *testing.T) {
	t.Parallel()
	const n = 8
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 2 * n, RateLimit: 1_000_000}})
	var text strings.Builder
	text.WriteString("id,terminated_at\n")
	users := b.ActiveUsers(n)
	if len(users) != n {
		t.Fatalf("the simulator has %d active users, want %d", len(users), n)
	}
	for _, u := range users {
		text.WriteString(u.ID + ",2026-11-30\n")
	}
	hr := writeFile(t, "hr.csv", text.String())
	// 10% of 6,000 a minute: 600 a minute, one call each 100 ms.
	args := reconcileArgs(b, hr, "--format", "csv", "--share", "10%")
	for i, a := range args {
		if a == "1000000" {
			args[i] = "6000"
		}
	}
	code, out, errs := runReconcileMain(t, args)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != n+1 {
		t.Fatalf("%d records, %v:\n%s", len(recs), err, out)
	}
	var calls []genesyssim.Request
	for _, r := range b.Sim.Requests() {
		if strings.HasPrefix(r.Path, "/api/") {
			calls = append(calls, r)
		}
	}
	if len(calls) != n || !strings.Contains(errs, fmt.Sprintf("genesys calls: %d", n)) {
		t.Fatalf("%d API calls in the simulator's log, want %d; summary:\n%s", len(calls), n, errs)
	}
	// A limiter of 10 a second with a burst of 1 lets n calls through no faster than (n-1)/10 s.
	span := calls[len(calls)-1].Time.Sub(calls[0].Time)
	if limit := time.Duration(n-1) * 100 * time.Millisecond; span < limit*9/10 {
		t.Errorf("%d calls within %s: more than 600 a minute (want at least %s)", n, span, limit)
	}
}
