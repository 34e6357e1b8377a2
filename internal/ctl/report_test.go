package ctl

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

var updateGolden = flag.Bool("update", false, "rewrite the report's golden files in testdata")

// reportT0 is the day the report test's jobs ran.
var reportT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// reportRecords are audit records with known timings, published through pkg/audit in this order
// (stream sequences 1…; the ops event in the middle is not a user event and is skipped):
//
//	fast       tokens revoked 88.25 s after publication, outcome (verified) at 90 s → SLA met
//	breach     deactivated 5 h after publication → breached by 1 h (SLA 4 h)
//	protected  a protected user: an exception, access not cut
//	scheduled  not_before 2026-03-05T17:00Z, published three days earlier, cut 45 s after its
//	           effective time → met (measured from not_before, not from the publication); read-back failed
//	inactive   already inactive, tokens revoked 10 s after publication → met
//	notfound   no such user → n/a
//	exhausted  every attempt failed → exception
//	and, in the summary only: a reactivation, a cleanup, a delete held by a legal hold, a dry run.
func reportRecords() []audit.Record {
	yes, no := true, false
	u := func(n string) audit.Target {
		return audit.Target{ID: "u-" + n, UserName: n + "@example.com", ExternalID: "E-" + n}
	}
	rec := func(job string, o audit.Outcome, at time.Time, lat time.Duration, user audit.Target) audit.Record {
		return audit.Record{JobID: job, Outcome: o, Time: at, Latency: lat, User: user, RequestedBy: "hr-feed", Ticket: "HR-" + job, Attempts: 1}
	}
	fast := rec("fast", audit.OutcomeDeactivated, reportT0.Add(90*time.Second), 90*time.Second, u("ana"))
	fast.TokensRevoked, fast.Verified = true, &yes // revoked 88 s after publication, read back 2 s later
	fast.Steps = map[string]json.RawMessage{"revoke_tokens": json.RawMessage(`{"revoked_at":"2026-03-02T09:01:28.250Z"}`)}
	breach := rec("breach", audit.OutcomeDeactivated, reportT0.Add(6*time.Hour), 5*time.Hour, u("bo"))
	breach.TokensRevoked = true
	protected := rec("protected", audit.OutcomeProtected, reportT0.Add(time.Hour), 2*time.Second, u("cy"))
	protected.Error = "user holds protected role Master Admin"
	nb := time.Date(2026, 3, 5, 17, 0, 0, 0, time.UTC)
	scheduled := rec("scheduled", audit.OutcomeDeactivated, nb.Add(45*time.Second), 72*time.Hour+45*time.Second, u("di"))
	scheduled.NotBefore, scheduled.TokensRevoked, scheduled.Verified = nb, true, &no
	inactive := rec("inactive", audit.OutcomeAlreadyInactive, reportT0.Add(2*time.Hour), 10*time.Second, u("ed"))
	inactive.TokensRevoked = true
	notfound := rec("notfound", audit.OutcomeNotFound, reportT0.Add(3*time.Hour), time.Second, audit.Target{ExternalID: "E-gone"})
	exhausted := rec("exhausted", audit.OutcomeExhausted, reportT0.Add(4*time.Hour), 20*time.Minute, u("fay"))
	exhausted.Error = "attempt 1: 503 Service Unavailable; attempt 2: 503 Service Unavailable"
	react := rec("react", audit.OutcomeReactivated, reportT0.Add(5*time.Hour), time.Second, u("bo"))
	cleanup := rec("cleanup", audit.OutcomeCleanedUp, reportT0.Add(7*time.Hour), time.Second, u("ana"))
	cleanup.CleanupOf = "fast"
	held := rec("held", audit.OutcomeHeld, reportT0.Add(8*time.Hour), time.Second, u("gus"))
	held.Error = "legal hold LH-9 (litigation)"
	dry := rec("dry", audit.OutcomeDryRun, reportT0.Add(9*time.Hour), time.Second, u("hal"))
	dry.DryRun = true
	return []audit.Record{fast, breach, protected, scheduled, inactive, notfound, exhausted, react, cleanup, held, dry}
}

// publishReportEvents stores the records' events, with an ops event after the third.
func publishReportEvents(t *testing.T, f *fixture, recs []audit.Record) {
	t.Helper()
	pub, err := audit.NewPublisher(f.JS, audit.PublisherConfig{Stream: f.Names.AuditStream()})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		ev, err := audit.Origin{}.UserEvent(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pub.Publish(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			op, err := audit.Origin{}.OpsEvent(audit.Ops{Kind: "guard_resumed", Time: reportT0, Message: "resumed", Fields: map[string]string{"operator": "op"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pub.Publish(t.Context(), op); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestReportFormats: the report over jobs with known timings gives exactly the golden rows and
// summary in csv (rows on stdout, summary on stderr), json and md, to stdout and to --out.
func TestReportFormats(t *testing.T) {
	f := newBed(t, genesyssim.Config{Users: 1})
	publishReportEvents(t, f, reportRecords())
	window := []string{"--from", "2020-01-01", "--to", "2100-01-01"}
	for _, format := range []string{"csv", "json", "md"} {
		t.Run(format, func(t *testing.T) {
			code, out, errOut := f.ctl(append([]string{"report", "--format", format}, window...)...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, "report."+format, out)
			if format == "csv" {
				golden(t, "report.csv.summary.md", errOut)
			} else if errOut != "" {
				t.Errorf("stderr: %s", errOut)
			}
			file := filepath.Join(t.TempDir(), "r."+format)
			code, out, errOut = f.ctl(append([]string{"report", "--format", format, "--out", file}, window...)...)
			if code != ExitOK || out != "" {
				t.Fatalf("--out: exit %d, stdout %q: %s", code, out, errOut)
			}
			golden(t, "report."+format, string(must(os.ReadFile(file))))
		})
	}
	// The json rows, checked field by field where the goldens could hide a slip.
	_, out, _ := f.ctl(append([]string{"report", "--format", "json"}, window...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	rows := map[string]reportRow{}
	for _, l := range lines[:len(lines)-1] {
		var r reportRow
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		rows[r.JobID] = r
	}
	if len(rows) != 7 {
		t.Fatalf("%d rows, want 7 (the deactivation jobs): %v", len(rows), rows)
	}
	for job, want := range map[string]struct{ sla, from, cut, over string }{
		"fast": {"met", "published", "1m28.25s", ""}, "breach": {"breached", "published", "5h0m0s", "1h0m0s"},
		"scheduled": {"met", "not_before", "45s", ""}, "inactive": {"met", "published", "10s", ""},
		"protected": {"exception", "published", "", ""}, "exhausted": {"exception", "published", "", ""},
		"notfound": {"n/a", "published", "", ""},
	} {
		r := rows[job]
		if r.SLA != want.sla || r.EffectiveFrom != want.from || fmtMS(r.CutAfterMS) != want.cut || fmtMS(r.OverSLAMS) != want.over {
			t.Errorf("%s: sla %s from %s cut %s over %s, want %+v", job, r.SLA, r.EffectiveFrom, fmtMS(r.CutAfterMS), fmtMS(r.OverSLAMS), want)
		}
	}
	if r := rows["scheduled"]; r.Effective != "2026-03-05T17:00:00.000Z" || r.Verified != "no" {
		t.Errorf("scheduled: effective %s verified %q", r.Effective, r.Verified)
	}
	var sum reportSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Events != 11 || sum.Rows != 7 || sum.Breaches != 1 || sum.Met != 3 || sum.Cut.MaxMS != (5*time.Hour).Milliseconds() ||
		sum.Exceptions["protected"] != 1 || sum.Exceptions["exhausted"] != 1 || sum.Exceptions["held"] != 1 {
		t.Errorf("summary %+v", sum)
	}
}

// TestReportWindow: --from and --to select by the time the stream stored the event; the report
// stops at the first event stored at or after --to.
func TestReportWindow(t *testing.T) {
	f := newBed(t, genesyssim.Config{Users: 1})
	recs := reportRecords()
	publishReportEvents(t, f, recs[:2])
	cut := time.Now().UTC() // the events above were stored before it (acknowledged), the next after
	publishReportEvents(t, f, recs[2:3])
	code, out, errOut := f.ctl("report", "--format", "json", "--from", "2020-01-01", "--to", cut.Format(time.RFC3339Nano))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := jsonLines[map[string]any](t, out)
	if len(lines) != 3 || lines[0]["job_id"] != "fast" || lines[1]["job_id"] != "breach" || lines[2]["rows"] != 2.0 {
		t.Errorf("before --to: %v", lines)
	}
	code, out, errOut = f.ctl("report", "--format", "json", "--from", cut.Format(time.RFC3339Nano), "--to", "2100-01-01")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines = jsonLines[map[string]any](t, out)
	if len(lines) != 2 || lines[0]["job_id"] != "protected" {
		t.Errorf("from the cut: %v", lines)
	}
	bad := filepath.Join(t.TempDir(), "missing", "r.csv")
	if code, _, errOut := f.ctl("report", "--from", "2020-01-01", "--to", "2100-01-01", "--out", bad); code != ExitFailure || !strings.Contains(errOut, "no such file") {
		t.Errorf("--out in a missing directory: exit %d: %s", code, errOut)
	}
	// A read that fails (no such stream under this prefix) leaves no file, not even a temporary one.
	dir := t.TempDir()
	if code, _, errOut := f.ctl("report", "--prefix", "nosuch", "--from", "2020-01-01", "--to", "2100-01-01", "--out", filepath.Join(dir, "r.csv")); code != ExitFailure || !strings.Contains(errOut, "NOSUCH_AUDIT") {
		t.Errorf("a failed read: exit %d: %s", code, errOut)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a failed report left %v", left)
	}
}

// TestReportUsage: bad flags exit 2 naming each problem, before anything is read.
func TestReportUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"--from is required", "--to is required"}},
		{[]string{"--from", "2026-02-01", "--to", "2026-01-01"}, []string{"--to 2026-01-01T00:00:00.000Z is not after --from"}},
		{[]string{"--from", "yesterday", "--to", "2026-01-01", "--sla", "-1h", "--format", "xml"},
			[]string{`--from "yesterday": want a time`, "--sla -1h0m0s: must be positive", `--format "xml": want csv, json or md`}},
	} {
		var out, errb strings.Builder
		code := Main(t.Context(), append([]string{"report"}, tc.args...), strings.NewReader(""), &out, &errb)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, ExitUsage)
		}
		for _, w := range tc.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, errb.String(), w)
			}
		}
	}
}

// TestDurationHist: quantiles are upper bounds at most 1 % high, never above the maximum.
func TestDurationHist(t *testing.T) {
	var h durationHist
	for ms := int64(1); ms <= 100_000; ms++ {
		h.add(ms)
	}
	for q, exact := range map[float64]int64{0.5: 50_000, 0.95: 95_000, 1: 100_000} {
		got := h.quantile(q)
		if got < exact || float64(got) > float64(exact)*1.01 {
			t.Errorf("q%.2f = %d, want within 1 %% above %d", q, got, exact)
		}
	}
	var z durationHist
	z.add(0)
	if z.quantile(0.95) != 0 || z.max != 0 {
		t.Errorf("zero: %d", z.quantile(0.95))
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestReportOutcomeOf: the outcome is read after the deployment's own prefix, dots and all.
func TestReportOutcomeOf(t *testing.T) {
	for subject, want := range map[string]audit.Outcome{
		"acme.audit.user.audit.user.cleaned_up.u-1": "cleaned_up", "acme.audit.user.audit.user.deactivated._": "deactivated",
		"acme.audit.user.audit.ops.guard_resumed": "", "other.audit.user.cleaned_up.u-1": "",
	} {
		if got := outcomeOf("acme.audit.user.audit.user.", subject); got != want {
			t.Errorf("%s: %q, want %q", subject, got, want)
		}
	}
}

// TestReportOverTheWorker: events the real worker wrote for the simulator. A job scheduled a
// second ahead is measured from its not_before, a plain one from its publication; both cuts are
// the worker's recorded token revocation.
func TestReportOverTheWorker(t *testing.T) {
	f := newBed(t, genesyssim.Config{Users: 10, RateLimit: 1_000_000})
	f.Worker(worker.Config{})
	var active []genesyssim.User
	for _, u := range f.Sim.Users() {
		if u.Active && !u.Deleted {
			active = append(active, u)
		}
	}
	nb := time.Now().Add(time.Second).UTC().Truncate(time.Millisecond)
	f.Enqueue([]jobs.UserRef{{ID: active[0].ID}}, func(j *jobs.Job) { j.ID, j.NotBefore, j.Ticket = "sched-1", nb, "HR-1" })
	f.Enqueue([]jobs.UserRef{{ID: active[1].ID}}, func(j *jobs.Job) { j.ID, j.Ticket = "now-1", "HR-2" })
	f.WaitDone("sched-1", "now-1")
	code, out, errOut := f.ctl("report", "--format", "json", "--from", "1h", "--to", "2100-01-01", "--sla", "1m")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rows := map[string]reportRow{}
	for _, r := range jsonLines[reportRow](t, out) {
		if r.Kind == "row" {
			rows[r.JobID] = r
		}
	}
	s, n := rows["sched-1"], rows["now-1"]
	if s.EffectiveFrom != "not_before" || s.Effective != fmtMillis(nb) || s.AccessCutFrom != "revoked_at" || s.SLA != "met" ||
		s.CutAfterMS == nil || *s.CutAfterMS < 0 || s.UserID != active[0].ID || s.Ticket != "HR-1" || !s.TokensRevoked {
		t.Errorf("scheduled: %+v", s)
	}
	if n.EffectiveFrom != "published" || n.AccessCutFrom != "revoked_at" || n.SLA != "met" || n.Outcome != "deactivated" || n.EventID != audit.EventID("now-1") {
		t.Errorf("plain: %+v", n)
	}
}

// TestReportCSVNeutralisesFormulas: a reason, ticket or requester that a spreadsheet would run as a
// formula is written as text (a leading apostrophe); numbers and plain text are left alone, and
// the CSV still parses back to one row of the report's columns.
func TestReportCSVNeutralisesFormulas(t *testing.T) {
	var b strings.Builder
	c := newCSVReport(&b)
	row := &reportRow{Seq: 7, JobID: "j-1", RequestedBy: "@SUM(A1:A9)", Ticket: "-2+3", Reason: "=HYPERLINK(\"http://x.example\")",
		UserName: "+1 555", ExternalID: "\tcmd", Outcome: "deactivated", EventID: "-12.5"}
	if err := c.row(row); err != nil {
		t.Fatal(err)
	}
	if err := c.summary(nil); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("csv: %v, %d records", err, len(recs))
	}
	got := map[string]string{}
	for i, name := range recs[0] {
		got[name] = recs[1][i]
	}
	for col, want := range map[string]string{
		"requested_by": "'@SUM(A1:A9)", "ticket": "'-2+3", "reason": "'=HYPERLINK(\"http://x.example\")",
		"user_name": "'+1 555", "external_id": "'\tcmd", "outcome": "deactivated", "event_id": "-12.5", "seq": "7",
	} {
		if got[col] != want {
			t.Errorf("column %s = %q, want %q", col, got[col], want)
		}
	}
}
