package worker_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

const (
	scimGet     = "GET /api/v2/scim/v2/users/{id}"
	platformGet = "GET /api/v2/users/{id}"
	tokenDelete = "DELETE /api/v2/tokens/{userId}"
)

// verifyBed is a bed whose worker reads back every deactivation (no delay: the tests wait for
// the job, not for a clock), with cfg's other settings.
func verifyBed(t *testing.T, sim genesyssim.Config, cfg worker.Config) *testbed.T {
	t.Helper()
	sim.Users, sim.RateLimit = 40, 1_000_000
	b := testbed.New(t, testbed.Config{Sim: sim})
	cfg.Verify = true
	b.Worker(cfg)
	return b
}

// checksOf are the checks of round of the job's event, by name.
func checksOf(t *testing.T, ev audit.Unmapped, round int) map[string]audit.Check {
	t.Helper()
	out := map[string]audit.Check{}
	for _, c := range ev.Verification {
		if c.Round == round {
			out[c.Check] = c
		}
	}
	return out
}

// verifiedOf is unmapped.verified of the job's event, failing the test when it is absent.
func verifiedOf(t *testing.T, ev audit.Unmapped) bool {
	t.Helper()
	if ev.Verified == nil {
		t.Fatalf("the event of %s has no verified (verification %+v)", ev.JobID, ev.Verification)
	}
	return *ev.Verified
}

// A normal deactivation ends verified: SCIM inactive, no token since the revocation and, with
// off_queue, not on queue, each check with its reason; the reads come after the revocation, and
// nothing is an ops event.
func TestVerifyDeactivationVerified(t *testing.T) {
	t.Parallel()
	b := verifyBed(t, genesyssim.Config{}, worker.Config{Steps: []string{"off_queue"}})
	u := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingIdle, Presence: genesyssim.PresenceOnQueue})
	if _, err := b.Sim.Login(u.ID); err != nil { // a token before the deactivation
		t.Fatal(err)
	}
	if got := offboard(t, b, u.ID, "v-ok", false, nil); got != audit.OutcomeDeactivated {
		t.Fatalf("outcome %s", got)
	}
	ev := b.AuditEvents()["v-ok"]
	if !verifiedOf(t, ev) {
		t.Fatalf("verified false: %+v", ev.Verification)
	}
	checks := checksOf(t, ev, 1)
	for _, name := range []string{worker.CheckSCIMActive, worker.CheckTokenAfter, worker.CheckRoutingStatus} {
		c, ok := checks[name]
		if !ok || !c.OK || c.Reason == "" || c.Observed == "" {
			t.Errorf("check %s: %+v (present %t), want ok with what it observed and why", name, c, ok)
		}
	}
	if c := checks[worker.CheckTokenAfter]; !strings.Contains(c.Observed, "lastTokenIssued") || !strings.Contains(c.Observed, "revoked") {
		t.Errorf("the token check observed %q, want the token's date and the revocation's", c.Observed)
	}
	calls := routes(b, u.ID, func(r string) bool { return r == tokenDelete || r == scimGet || r == platformGet || r == routingGet })
	i := slices.Index(calls, tokenDelete)
	if after := calls[i+1:]; i < 0 || !slices.Equal(after, []string{scimGet, platformGet, routingGet}) {
		t.Errorf("calls %v, want the three reads after the revocation", calls)
	}
	if ops := b.OpsEvents("verification_failed"); len(ops) != 0 {
		t.Errorf("ops events for a verified deactivation: %+v", ops)
	}
}

// A user already inactive is verified too (inactive, no token since this job's revocation); a
// dry run is not (nothing was changed): its event has no verified.
func TestVerifyAlreadyInactiveAndDryRun(t *testing.T) {
	t.Parallel()
	b := verifyBed(t, genesyssim.Config{}, worker.Config{})
	users := plainActive(b.Sim)
	inactive, err := b.Sim.AddUser(genesyssim.User{UserName: "gone.already@example.com", DisplayName: "Gone Already", ExternalID: "00ugone0000000000001", Tokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := offboard(t, b, inactive.ID, "v-inactive", false, nil); got != audit.OutcomeAlreadyInactive {
		t.Fatalf("outcome %s", got)
	}
	if got := offboard(t, b, users[1].ID, "v-dry", false, func(j *jobs.Job) { j.DryRun = true }); got != audit.OutcomeDryRun {
		t.Fatalf("outcome %s", got)
	}
	evs := b.AuditEvents()
	if !verifiedOf(t, evs["v-inactive"]) || len(checksOf(t, evs["v-inactive"], 1)) != 2 {
		t.Errorf("already inactive: verified %v, checks %+v; want verified with 2 checks", evs["v-inactive"].Verified, evs["v-inactive"].Verification)
	}
	if ev := evs["v-dry"]; ev.Verified != nil || len(ev.Verification) != 0 {
		t.Errorf("a dry run was read back: %v %+v", *ev.Verified, ev.Verification)
	}
}

// recordingObserver keeps the read-back rounds the worker reports.
type recordingObserver struct {
	mu      sync.Mutex
	rounds  []bool
	onRound func() // called after each round, when set
}

func (o *recordingObserver) JobFinished(audit.Outcome, jobs.Priority, time.Duration, time.Duration) {}
func (o *recordingObserver) Deactivated(jobs.Priority, time.Duration)                               {}
func (o *recordingObserver) AttemptFailed()                                                         {}
func (o *recordingObserver) Paused(bool)                                                            {}

func (o *recordingObserver) Verified(ok bool, _ []string) {
	o.mu.Lock()
	o.rounds = append(o.rounds, ok)
	o.mu.Unlock()
	if o.onRound != nil {
		o.onRound()
	}
}

// A deactivation Genesys silently ignores (200, active:false in the body, nothing stored) stays
// deactivated but ends verified:false with the failed SCIM check, an ops event names the user,
// the job and the check, and with alert nothing is repeated.
func TestVerifyIgnoredDeactivationAlerts(t *testing.T) {
	t.Parallel()
	obs := &recordingObserver{}
	b := verifyBed(t, genesyssim.Config{}, worker.Config{Observer: obs})
	u := plainActive(b.Sim)[0]
	if err := b.Sim.SetFaults(genesyssim.Faults{IgnoreDeactivateUsers: []string{u.ID}}); err != nil {
		t.Fatal(err)
	}
	if got := offboard(t, b, u.ID, "v-ignored", false, nil); got != audit.OutcomeDeactivated {
		t.Fatalf("outcome %s", got)
	}
	ev := b.AuditEvents()["v-ignored"]
	if verifiedOf(t, ev) {
		t.Fatalf("verified true although the user is active: %+v", ev.Verification)
	}
	if c := checksOf(t, ev, 1)[worker.CheckSCIMActive]; c.OK || c.Observed != "active=true" {
		t.Errorf("SCIM check %+v, want failed with active=true", c)
	}
	if len(checksOf(t, ev, 2)) != 0 {
		t.Errorf("alert repeated the read-back: %+v", ev.Verification)
	}
	if now, _ := b.Sim.User(u.ID); !now.Active {
		t.Error("the user is inactive: the fault did not hold")
	}
	ops := b.OpsEvents("verification_failed")
	if len(ops) != 1 {
		t.Fatalf("%d verification_failed ops events, want 1", len(ops))
	}
	if f := ops[0].Fields; f["user_id"] != u.ID || f["job_id"] != "v-ignored" || f["failed_checks"] != worker.CheckSCIMActive || f["round"] != "1" {
		t.Errorf("ops event fields %v", f)
	}
	if n := len(routes(b, u.ID, func(r string) bool { return r == scimPatch })); n != 1 {
		t.Errorf("%d PATCHes with alert, want 1", n)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if !slices.Equal(obs.rounds, []bool{false}) {
		t.Errorf("observer heard %v, want one failed round", obs.rounds)
	}
}

// With retry, a silently ignored deactivation is deactivated again and ends verified, both rounds
// in the event; when Genesys ignores every PATCH, the cut is repeated once only and the job ends
// verified:false with both rounds failed (never a loop).
func TestVerifyIgnoredDeactivationRetry(t *testing.T) {
	t.Parallel()
	b := verifyBed(t, genesyssim.Config{}, worker.Config{OnUnverified: worker.OnUnverifiedRetry})
	users := plainActive(b.Sim)
	if err := b.Sim.SetFaults(genesyssim.Faults{IgnoreDeactivateUsers: []string{users[0].ID}}); err != nil {
		t.Fatal(err)
	}
	if got := offboard(t, b, users[0].ID, "v-retry", false, nil); got != audit.OutcomeDeactivated {
		t.Fatalf("outcome %s", got)
	}
	ev := b.AuditEvents()["v-retry"]
	if !verifiedOf(t, ev) || checksOf(t, ev, 1)[worker.CheckSCIMActive].OK || !checksOf(t, ev, 2)[worker.CheckSCIMActive].OK {
		t.Errorf("verified %v, checks %+v; want round 1 failed, round 2 verified", *ev.Verified, ev.Verification)
	}
	if now, _ := b.Sim.User(users[0].ID); now.Active {
		t.Error("the user is still active after the repeated cut")
	}
	calls := routes(b, users[0].ID, func(r string) bool { return r == scimPatch || r == tokenDelete })
	if want := []string{scimPatch, tokenDelete, scimPatch, tokenDelete}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want the cut twice: %v", calls, want)
	}

	if err := b.Sim.SetFaults(genesyssim.Faults{IgnoreDeactivateRate: 1}); err != nil {
		t.Fatal(err)
	}
	if got := offboard(t, b, users[1].ID, "v-retry-ignored", false, nil); got != audit.OutcomeDeactivated {
		t.Fatalf("outcome %s", got)
	}
	ev = b.AuditEvents()["v-retry-ignored"]
	if verifiedOf(t, ev) || checksOf(t, ev, 1)[worker.CheckSCIMActive].OK || checksOf(t, ev, 2)[worker.CheckSCIMActive].OK {
		t.Errorf("verified %v, checks %+v; want both rounds failed", *ev.Verified, ev.Verification)
	}
	if n := len(routes(b, users[1].ID, func(r string) bool { return r == scimPatch })); n != 2 {
		t.Errorf("%d PATCHes, want 2 (the cut repeated once)", n)
	}
	var rounds []string
	for _, op := range b.OpsEvents("verification_failed") {
		if op.Fields["job_id"] == "v-retry-ignored" {
			rounds = append(rounds, op.Fields["round"])
		}
	}
	if !slices.Equal(rounds, []string{"1", "2"}) {
		t.Errorf("verification_failed rounds %v, want 1 and 2", rounds)
	}
}

// A token issued after the revocation (the user logs in between the revocation and the
// read-back: Genesys ignored the PATCH, so it lets them) fails the token check; the retry's
// second revocation is later than that token, and round 2 passes.
func TestVerifyTokenAfterRevocation(t *testing.T) {
	t.Parallel()
	sim := genesyssim.Config{Users: 40, RateLimit: 1_000_000}
	b := testbed.New(t, testbed.Config{Sim: sim})
	u := plainActive(b.Sim)[0]
	logins := 0
	login := worker.Step{Name: "test_login", Phase: worker.PhaseCut, Do: func(ctx context.Context, r *worker.Run) error {
		if logins > 0 {
			return nil
		}
		logins++
		_, err := b.Sim.Login(r.User().ID)
		return err
	}}
	cfg := worker.Config{Verify: true, OnUnverified: worker.OnUnverifiedRetry}
	cfg.Plan = func(j jobs.Job) []worker.Step {
		plan := cfg.DefaultPlan(j)
		if i := slices.IndexFunc(plan, func(s worker.Step) bool { return s.Name == "revoke_tokens" }); i >= 0 {
			plan = slices.Insert(plan, i+1, login)
		}
		return plan
	}
	b.Worker(cfg)
	if err := b.Sim.SetFaults(genesyssim.Faults{IgnoreDeactivateUsers: []string{u.ID}}); err != nil {
		t.Fatal(err)
	}
	if got := offboard(t, b, u.ID, "v-token", false, nil); got != audit.OutcomeDeactivated {
		t.Fatalf("outcome %s", got)
	}
	ev := b.AuditEvents()["v-token"]
	c1 := checksOf(t, ev, 1)[worker.CheckTokenAfter]
	if c1.OK || !strings.Contains(c1.Reason, "after the revocation") {
		t.Errorf("round 1 token check %+v, want failed: a token after the revocation", c1)
	}
	if c2 := checksOf(t, ev, 2)[worker.CheckTokenAfter]; !c2.OK || !verifiedOf(t, ev) {
		t.Errorf("round 2 token check %+v, verified %v; want passed after the second revocation", c2, *ev.Verified)
	}
	ops := b.OpsEvents("verification_failed")
	if len(ops) != 1 || !strings.Contains(ops[0].Fields["failed_checks"], worker.CheckTokenAfter) {
		t.Errorf("ops events %+v, want one naming %s", ops, worker.CheckTokenAfter)
	}
}

// A verify job (genesysctl verify) reads the user back now against the revocation of the user's
// last deactivation, changes nothing and ends verified or unverified, activity Other; an
// unverified one is also the ops event.
func TestVerifyJob(t *testing.T) {
	t.Parallel()
	b := verifyBed(t, genesyssim.Config{}, worker.Config{})
	users := plainActive(b.Sim)
	verifyJob := func(userID, id string) jobs.Status {
		ids := b.Enqueue([]jobs.UserRef{{ID: userID}}, func(j *jobs.Job) { j.ID, j.Action = id, jobs.ActionVerify })
		return b.WaitDone(ids...)[ids[0]]
	}
	if _, err := b.Sim.Login(users[0].ID); err != nil {
		t.Fatal(err)
	}
	if got := offboard(t, b, users[0].ID, "vj-off", false, nil); got != audit.OutcomeDeactivated {
		t.Fatalf("outcome %s", got)
	}
	if st := verifyJob(users[0].ID, "vj-ok"); st.Outcome != audit.OutcomeVerified {
		t.Fatalf("verify job of a deactivated user: %s", st.Outcome)
	}
	ev := b.AuditEvents()["vj-ok"]
	if !verifiedOf(t, ev) || !strings.Contains(checksOf(t, ev, 1)[worker.CheckTokenAfter].Observed, "vj-off") {
		t.Errorf("verified %v, checks %+v; want verified against vj-off's revocation", *ev.Verified, ev.Verification)
	}

	// Genesys ignored the deactivation, and the user logged in since.
	if err := b.Sim.SetFaults(genesyssim.Faults{IgnoreDeactivateUsers: []string{users[1].ID}}); err != nil {
		t.Fatal(err)
	}
	if got := offboard(t, b, users[1].ID, "vj-ignored", false, nil); got != audit.OutcomeDeactivated {
		t.Fatalf("outcome %s", got)
	}
	if _, err := b.Sim.Login(users[1].ID); err != nil {
		t.Fatal(err)
	}
	before := len(b.Sim.Requests())
	if st := verifyJob(users[1].ID, "vj-bad"); st.Outcome != audit.OutcomeUnverified {
		t.Fatalf("verify job of a user Genesys left active: %s", st.Outcome)
	}
	ev = b.AuditEvents()["vj-bad"]
	c := checksOf(t, ev, 1)
	if verifiedOf(t, ev) || c[worker.CheckSCIMActive].OK || c[worker.CheckTokenAfter].OK {
		t.Errorf("checks %+v; want SCIM and token failed", ev.Verification)
	}
	for _, r := range b.Sim.Requests()[before:] {
		if !strings.HasPrefix(r.Route, "GET ") && !strings.HasPrefix(r.Route, "POST /oauth") {
			t.Errorf("a verify job sent %s", r.Route)
		}
	}
	found := false
	for _, op := range b.OpsEvents("verification_failed") {
		found = found || op.Fields["job_id"] == "vj-bad" && op.Fields["action"] == "verify"
	}
	if !found {
		t.Error("no verification_failed ops event for the unverified verify job")
	}
	// A user this system never deactivated, who holds a token: it cannot be judged.
	if _, err := b.Sim.Login(users[2].ID); err != nil {
		t.Fatal(err)
	}
	if st := verifyJob(users[2].ID, "vj-never"); st.Outcome != audit.OutcomeUnverified {
		t.Fatalf("verify job of an active user never deactivated: %s", st.Outcome)
	}
}

// failingPatches fails every SCIM PATCH with a transport error while on is set.
type failingPatches struct {
	next http.RoundTripper
	on   atomic.Bool
}

func (f *failingPatches) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPatch && f.on.Load() {
		return nil, errors.New("test: connection reset")
	}
	return f.next.RoundTrip(r)
}

// failOnceObserver turns the failing PATCHes off once an attempt failed.
type failOnceObserver struct {
	recordingObserver
	patches *failingPatches
}

func (o *failOnceObserver) AttemptFailed() { o.patches.on.Store(false) }

// An attempt that fails during the repeated cut (after round 1 was recorded failed) is delivered
// again: the redelivery finishes round 2 from the record (it does not start over, and publishes
// no second ops event for round 1), and the job ends verified.
func TestVerifyRedeliveredDuringTheRetry(t *testing.T) {
	t.Parallel()
	sim := genesyssim.Config{Users: 40, RateLimit: 1_000_000}
	b := testbed.New(t, testbed.Config{Sim: sim})
	u := plainActive(b.Sim)[0]
	patches := &failingPatches{next: http.DefaultTransport}
	obs := &failOnceObserver{patches: patches}
	b.Worker(worker.Config{Verify: true, OnUnverified: worker.OnUnverifiedRetry, Observer: obs,
		Genesys: b.Client(genesys.WithHTTPClient(&http.Client{Transport: patches}), genesys.WithMaxElapsedTime(100*time.Millisecond))})
	if err := b.Sim.SetFaults(genesyssim.Faults{IgnoreDeactivateUsers: []string{u.ID}}); err != nil {
		t.Fatal(err)
	}
	// The first PATCH goes through (and is ignored); the read-back fails; the repeated cut's
	// PATCH fails until the attempt has failed.
	var once sync.Once
	obs.onRound = func() { once.Do(func() { patches.on.Store(true) }) }
	st := b.WaitDone(b.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.ID = "v-redelivered" })...)["v-redelivered"]
	if st.Outcome != audit.OutcomeDeactivated || len(st.Attempts) != 1 {
		t.Fatalf("outcome %s after %d failed attempts, want deactivated after 1", st.Outcome, len(st.Attempts))
	}
	ev := b.AuditEvents()["v-redelivered"]
	if !verifiedOf(t, ev) || len(checksOf(t, ev, 1)) != 2 || len(checksOf(t, ev, 2)) != 2 || checksOf(t, ev, 1)[worker.CheckSCIMActive].OK {
		t.Errorf("verified %v, checks %+v; want round 1 failed and round 2 verified, once each", *ev.Verified, ev.Verification)
	}
	if ops := b.OpsEvents("verification_failed"); len(ops) != 1 {
		t.Errorf("%d verification_failed ops events, want 1", len(ops))
	}
	if now, _ := b.Sim.User(u.ID); now.Active {
		t.Error("the user is still active")
	}
}

// A dry run previews the read-back's calls: 2, 3 after off_queue.
func TestVerifyDryRunPreview(t *testing.T) {
	t.Parallel()
	b := verifyBed(t, genesyssim.Config{}, worker.Config{Steps: []string{"off_queue"}})
	u := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingIdle, Presence: genesyssim.PresenceOnQueue})
	if got := offboard(t, b, u.ID, "v-preview", false, func(j *jobs.Job) { j.DryRun = true }); got != audit.OutcomeDryRun {
		t.Fatalf("outcome %s", got)
	}
	var cost struct {
		Calls     int            `json:"calls"`
		BaseCalls int            `json:"base_calls"`
		Steps     map[string]int `json:"steps"`
	}
	stepRecord(t, b, "v-preview", "dry_run", &cost)
	if cost.Steps["verify"] != 3 || cost.Calls != cost.BaseCalls+cost.Steps["off_queue"]+3 {
		t.Errorf("preview %+v, want verify 3 in the total", cost)
	}
}
