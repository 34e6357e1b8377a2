package ctl

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// TestReadCommands runs the commands that only read against one fixture; none may change
// anything, which the last subtest checks.
func TestReadCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// A webhook relay dead letter shares the stream and has another layout: genesysctl leaves it out.
	if _, err := f.JS.Publish(t.Context(), "genesys.dead.relay.sink", []byte(`{"event_id":"e1","endpoint":"sink"}`)); err != nil {
		t.Fatal(err)
	}
	// The worker stops first: a job's status is done a moment before its ack takes it off the
	// jobs stream, and the counts below must not move by that ack.
	if err := f.worker.Stop(); err != nil {
		t.Fatal(err)
	}
	before := f.counts()

	t.Run("status", func(t *testing.T) {
		code, out, errOut := f.ctl("status", f.exhausted, f.deactivated)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{"job exhausted-1", "outcome       exhausted", "attempts      2", "#1 ", "#2 ", "503",
			"job deactivated-1", "outcome       deactivated", "tokens_revoked"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("status json and a missing job", func(t *testing.T) {
		code, out, errOut := f.ctl("status", "--output", "json", f.conflict, "no-such-job")
		if code != ExitFailure || !strings.Contains(errOut, "no-such-job: no status record") {
			t.Fatalf("exit %d, stderr %q; want 1 naming the missing job", code, errOut)
		}
		lines := jsonLines[statusLine](t, out)
		if len(lines) != 2 || !lines[0].Found || lines[0].Outcome != audit.OutcomeConflict || lines[1].Found {
			t.Fatalf("json lines %+v", lines)
		}
		if !lines[0].Steps.Resolved || lines[0].Steps.UserID != f.users[f.conflict].ID || lines[0].FinishedAt.IsZero() {
			t.Errorf("status %+v lacks steps or times", lines[0].Status)
		}
	})
	t.Run("jobs by outcome", func(t *testing.T) {
		code, out, errOut := f.ctl("jobs", "--outcome", "exhausted", "--output", "json")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := jsonLines[jobLine](t, out)
		if len(lines) != 1 || lines[0].JobID != f.exhausted || lines[0].User != f.users[f.exhausted].ID ||
			!strings.Contains(lines[0].Error, "503") || lines[0].Time == "" || lines[0].RequestedBy != "hr-system" {
			t.Fatalf("jobs --outcome exhausted: %+v", lines)
		}
		code, out, _ = f.ctl("jobs", "--outcome", "deactivated", "--since", "1h")
		if code != ExitOK || !strings.Contains(out, f.deactivated) || !strings.Contains(out, "1 job deactivated since") {
			t.Errorf("text output (exit %d):\n%s", code, out)
		}
		code, out, _ = f.ctl("jobs", "--outcome", "deactivated", "--since", "2099-01-01")
		if code != ExitOK || !strings.Contains(out, "0 jobs") {
			t.Errorf("jobs since the future (exit %d):\n%s", code, out)
		}
	})
	t.Run("dead list", func(t *testing.T) {
		code, out, errOut := f.ctl("dead", "list", "--output", "json")
		if code != ExitOK || errOut != "" {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		got := map[string]audit.Outcome{}
		replayable := map[string]bool{}
		for _, l := range jsonLines[deadLine](t, out) {
			got[l.JobID], replayable[l.JobID] = l.Outcome, l.Replayable
		}
		want := map[string]audit.Outcome{f.exhausted: audit.OutcomeExhausted, f.conflict: audit.OutcomeConflict,
			f.protected: audit.OutcomeProtected, f.rejected: audit.OutcomeRejected}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("dead letters (-want +got):\n%s", diff)
		}
		if replayable[f.rejected] || !replayable[f.conflict] {
			t.Errorf("replayable %v: want every one but the rejected job", replayable)
		}
		code, out, _ = f.ctl("dead", "list", "--outcome", "conflict", "--since", "1h")
		if code != ExitOK || !strings.Contains(out, f.conflict) || strings.Contains(out, f.exhausted) || !strings.Contains(out, "1 dead letter\n") {
			t.Errorf("dead list --outcome conflict (exit %d):\n%s", code, out)
		}
	})
	t.Run("dead show", func(t *testing.T) {
		code, out, errOut := f.ctl("dead", "show", f.conflict)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{"dead letter conflict-1", "outcome       conflict", "genesys       409", `"reason": "left the company"`,
			"replayable    yes", "status record:", "steps"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		code, out, _ = f.ctl("dead", "show", "--output", "json", f.exhausted)
		lines := jsonLines[shown](t, out)
		if code != ExitOK || len(lines) != 1 || len(lines[0].DeadLetter.Attempts) != 2 || lines[0].Status == nil || len(lines[0].Status.Attempts) != 2 {
			t.Fatalf("dead show --output json exhausted (exit %d): %s", code, out)
		}
		code, out, _ = f.ctl("dead", "show", f.rejected)
		if code != ExitOK || !strings.Contains(out, "replayable    no: it was rejected") {
			t.Errorf("dead show rejected (exit %d):\n%s", code, out)
		}
		if code, _, errOut := f.ctl("dead", "show", f.deactivated); code != ExitFailure || !strings.Contains(errOut, "no dead letter") {
			t.Errorf("dead show of a job without one: exit %d, %q", code, errOut)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		for _, args := range badArgs(f) {
			code, out, errOut := f.ctl(args...)
			if code != ExitUsage || out != "" || !strings.Contains(errOut, "genesysctl") {
				t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 with a message and no output", args, code, out, errOut)
			}
		}
		if diff := cmp.Diff(before, f.counts()); diff != "" {
			t.Errorf("streams changed (-before +after):\n%s", diff)
		}
	})
}

// badArgs are command lines that must exit 2 without touching NATS.
func badArgs(f *fixture) [][]string {
	return [][]string{
		{}, {"frobnicate"}, {"dead"}, {"dead", "explode"}, {"dead", "--all"},
		{"status"}, {"status", "bad..id"}, {"status", strings.Repeat("x", jobs.MaxIDLength+1)}, {"status", "x", "--output", "yaml"},
		{"status", "x", "--no-such-flag"}, {"status", "x", "--timeout", "0s"}, {"status", "x", "--prefix", "bad prefix"},
		{"jobs"}, {"jobs", "--outcome", "exploded"}, {"jobs", "--outcome", "deactivated", "extra"},
		{"jobs", "--outcome", "deactivated", "--since", "yesterday"}, {"jobs", "--outcome", "deactivated", "--since", "-1h"},
		{"jobs", "--outcome", "deactivated", "--limit", "-1"},
		{"dead", "list", "--outcome", "deactivated"}, {"dead", "show"}, {"dead", "show", "a", "b"},
		{"dead", "replay", f.exhausted}, // no --operator
		{"dead", "replay", "--operator", "alice"}, {"dead", "replay", "--operator", "alice", "--all", f.exhausted},
		{"dead", "replay", "--operator", "alice", "--outcome", "conflict", f.conflict},
		{"dead", "replay", "--operator", "alice", "--all", "--outcome", "deactivated"},
		{"dead", "replay", "--operator", "bad\nname", f.exhausted},
		{"dead", "purge", "--operator", "alice", f.conflict}, // no --yes
		{"dead", "purge", "--yes", f.conflict},               // no --operator
		{"dead", "purge", "--operator", "alice", "--yes"},
		{"status", "x", "--nats-user", "u", "--nats-token", "t"},
	}
}
