package enqueue_test

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
)

const timeout = "--timeout=60s"

func TestOffboardingWaitExitsZeroWithSummary(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	r := b.run(t, "", "--file", example("offboarding.csv"), "--wait", timeout)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stdout, ": queued\n"); n != 6 {
		t.Errorf("%d rows queued, want 6:\n%s", n, r.stdout)
	}
	if !regexp.MustCompile(`Summary: 6 rows\n\s+deactivated\s+6\n`).MatchString(r.stdout) {
		t.Errorf("no summary of 6 deactivated:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "6/6 done  deactivated 6") {
		t.Errorf("no final progress line on stderr:\n%s", r.stderr)
	}
	for _, u := range b.Sim.Users() {
		if strings.Contains(r.stdout, "user_name:"+u.UserName+":") && u.Active {
			t.Errorf("%s is still active", u.UserName)
		}
	}
}

func TestEdgeCasesSkipInvalidWaitExitsOneWithEachOutcome(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	r := b.run(t, "", "--file", example("edge-cases.csv"), "--skip-invalid", "--wait", timeout)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`line 10: j-\w+ user_name:jonas.kowalski.2@example.com: already_inactive\n`,
		`line 11: j-\w+ user_name:nonexistent@example.com: not_found`,
		`line 12: j-\w+ user_name:noor.dubois.1@example.com: protected: .*Master Admin`,
		`line 13: j-\w+ user_name:kemi.garcia.67@example.com: deactivated\n`,
		`line 14: invalid, skipped: user: exactly one of id, external_id and user_name is required\n`,
	} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "line 14: user: exactly one of id, external_id and user_name is required") {
		t.Errorf("stderr does not report line 14:\n%s", r.stderr)
	}
}

func TestEdgeCasesWithoutSkipInvalidPublishNothing(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	r := b.run(t, "", "--file", example("edge-cases.csv"), "--wait")
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "line 14: user: exactly one") || !strings.Contains(r.stderr, "nothing published") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if n := b.published(t); n != 0 {
		t.Errorf("%d jobs published, want 0", n)
	}
}

// decodeResults parses --output json: every stdout line must be one Result.
func decodeResults(t *testing.T, stdout string) []enqueue.Result {
	t.Helper()
	var out []enqueue.Result
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		var r enqueue.Result
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("stdout line %q is not a result: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// outcomes maps line → outcome (and error presence) of results.
func outcomes(rs []enqueue.Result) map[int]string {
	out := map[int]string{}
	for _, r := range rs {
		out[r.Line] = string(r.Outcome)
		if r.Error != "" {
			out[r.Line] += " (error)"
		}
	}
	return out
}

func TestOutputJSONTwiceReportsDuplicatesAndSameOutcomes(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	args := []string{"--file", example("edge-cases.csv"), "--skip-invalid", "--wait", timeout, "--output", "json"}
	first := b.run(t, "", args...)
	if first.code != 1 {
		t.Fatalf("first run: exit %d\nstderr:\n%s", first.code, first.stderr)
	}
	want := map[int]string{10: "already_inactive", 11: "not_found (error)", 12: "protected (error)", 13: "deactivated", 14: "invalid (error)"}
	rs1 := decodeResults(t, first.stdout)
	if diff := cmp.Diff(want, outcomes(rs1)); diff != "" {
		t.Errorf("first run outcomes (-want +got):\n%s", diff)
	}
	second := b.run(t, "", args...)
	if second.code != 1 {
		t.Fatalf("second run: exit %d\nstderr:\n%s", second.code, second.stderr)
	}
	rs2 := decodeResults(t, second.stdout)
	if diff := cmp.Diff(want, outcomes(rs2)); diff != "" {
		t.Errorf("second run outcomes (-want +got):\n%s", diff)
	}
	for i, r := range rs2 {
		if r.Outcome == enqueue.OutcomeInvalid {
			continue
		}
		if !r.Duplicate || r.JobID != rs1[i].JobID {
			t.Errorf("second run, line %d: duplicate %v, id %s; want a duplicate of %s", r.Line, r.Duplicate, r.JobID, rs1[i].JobID)
		}
	}
	if n := strings.Count(second.stderr, ": duplicate: published before, not queued again\n"); n != 4 {
		t.Errorf("second run reports %d duplicates on stderr, want 4:\n%s", n, second.stderr)
	}
	if got := b.published(t); got != 4 {
		t.Errorf("jobs stream stored %d jobs, want 4", got)
	}
}

func TestNewIDsPublishesNewJobs(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	args := []string{"--file", example("offboarding.jsonl"), "--wait", timeout, "--output", "json"}
	first := b.run(t, "", args...)
	second := b.run(t, "", append(args, "--new-ids")...)
	if first.code != 0 || second.code != 0 {
		t.Fatalf("exit %d and %d, want 0\nstderr:\n%s\n%s", first.code, second.code, first.stderr, second.stderr)
	}
	rs1, rs2 := decodeResults(t, first.stdout), decodeResults(t, second.stdout)
	for i := range rs2 {
		if rs2[i].Duplicate || rs2[i].JobID == rs1[i].JobID {
			t.Errorf("line %d: --new-ids reused %s (duplicate %v)", rs2[i].Line, rs2[i].JobID, rs2[i].Duplicate)
		}
		if rs1[i].Outcome != "deactivated" || rs2[i].Outcome != "already_inactive" {
			t.Errorf("line %d: outcomes %s then %s, want deactivated then already_inactive", rs1[i].Line, rs1[i].Outcome, rs2[i].Outcome)
		}
	}
	if got := b.published(t); got != 12 {
		t.Errorf("jobs stream stored %d jobs, want 12", got)
	}
}

func TestSingleUser(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	r := b.run(t, "", "--email", "ada.rossi.3@example.com", "--reason", "left", "--ticket", "HR-1", "--urgent", "--dry-run", "--wait", timeout)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if !regexp.MustCompile(`flags: j-\w+ user_name:ada.rossi.3@example.com: dry_run\n`).MatchString(r.stdout) {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	// The dry run changed nothing, and the real request that follows is a different job.
	r = b.run(t, "", "--user-name", "ada.rossi.3@example.com", "--reason", "left", "--ticket", "HR-1", "--wait", timeout)
	if r.code != 0 || !strings.Contains(r.stdout, ": deactivated\n") || strings.Contains(r.stdout, "duplicate") {
		t.Errorf("real run after dry run: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// Reactivating a file of users undoes their deactivation: the same rows with
// --action reactivate end "reactivated" and exit 0.
func TestReactivateFile(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	if r := b.run(t, "", "--file", example("offboarding.csv"), "--wait", timeout); r.code != 0 {
		t.Fatalf("deactivate: exit %d\n%s", r.code, r.stderr)
	}
	r := b.run(t, "", "--file", example("offboarding.csv"), "--action", "reactivate", "--wait", timeout)
	if r.code != 0 || strings.Count(r.stdout, ": reactivated\n") != 6 {
		t.Errorf("reactivate: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestStdin(t *testing.T) {
	t.Parallel()
	b := newWorkerBed(t)
	for _, file := range []string{"offboarding.csv", "offboarding.jsonl"} {
		data, err := os.ReadFile(example(file))
		if err != nil {
			t.Fatal(err)
		}
		r := b.run(t, string(data), "--file", "-", "--wait", timeout, "--output", "json")
		if r.code != 0 {
			t.Fatalf("%s on stdin: exit %d\nstderr:\n%s", file, r.code, r.stderr)
		}
		if rs := decodeResults(t, r.stdout); len(rs) != 6 {
			t.Errorf("%s on stdin: %d results, want 6", file, len(rs))
		}
	}
	if got := b.published(t); got != 6 { // the same requests in either format: the same jobs
		t.Errorf("jobs stream stored %d jobs, want 6", got)
	}
}

func TestWithoutWaitExitsZeroAfterPublishing(t *testing.T) {
	t.Parallel()
	b := newBed(t) // no worker: jobs stay queued
	r := b.run(t, "", "--file", example("offboarding.csv"))
	if r.code != 0 || !strings.Contains(r.stdout, "6 jobs published, 0 of them duplicates of earlier runs\n") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if got := b.published(t); got != 6 {
		t.Errorf("jobs stream stored %d jobs, want 6", got)
	}
}

func TestWaitTimeoutReportsPending(t *testing.T) {
	t.Parallel()
	b := newBed(t) // no worker: nothing ends
	r := b.run(t, "", "--user-name", "ada.rossi.3@example.com", "--wait", "--timeout", "300ms", "--output", "json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", r.code, r.stderr)
	}
	rs := decodeResults(t, r.stdout)
	if len(rs) != 1 || rs[0].Outcome != enqueue.OutcomePending {
		t.Errorf("results %+v, want one pending", rs)
	}
	if !strings.Contains(r.stderr, "1 job not done after 300ms") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

func TestPublishFailureExitsOne(t *testing.T) {
	t.Parallel()
	s, _ := natstest.Start(t) // no topology: no stream stores jobs
	r := runMain(t, "", "--nats-url", s.ClientURL(), "--file", example("offboarding.csv"))
	if r.code != 1 || !strings.Contains(r.stderr, "publishing stopped after 0 of 6 jobs") || !strings.Contains(r.stderr, "is GENESYS_JOBS provisioned?") {
		t.Errorf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runMain(t, "", "--nats-url", s.ClientURL(), "--file", example("offboarding.csv"), "--wait")
	if r.code != 1 || !strings.Contains(r.stderr, "open the job status bucket genesys-status") {
		t.Errorf("--wait: exit %d, want 1\nstderr:\n%s", r.code, r.stderr)
	}
}
