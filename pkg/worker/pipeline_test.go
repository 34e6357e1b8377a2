package worker_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

func TestPipeline500Users(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 500, RateLimit: 1_000_000}})
	users := b.Sim.Users()
	before := map[string]genesyssim.User{}
	for _, u := range users {
		before[u.ID] = u
	}
	b.Worker(worker.Config{Concurrency: 8})
	b.Worker(worker.Config{Concurrency: 8})
	ids := b.Enqueue(testbed.Refs(users), nil)
	statuses := b.WaitDone(ids...)

	events := b.AuditEvents()
	if len(events) != len(ids) || len(statuses) != len(ids) {
		t.Errorf("%d audit events and %d status records for %d jobs", len(events), len(statuses), len(ids))
	}
	// A job is acked after its done status is stored: its message leaves the stream a moment later.
	b.WaitUntil("the jobs stream to empty", func() bool { return b.JobsLeft() == 0 })
	calls := b.CallsByUser()
	for i, id := range ids {
		u := before[users[i].ID]
		ev, st := events[id], statuses[id]
		want := audit.OutcomeDeactivated
		switch {
		case u.Deleted:
			want = audit.OutcomeNotFound
		case !u.Active:
			want = audit.OutcomeAlreadyInactive
		}
		if ev.Outcome != want || st.Outcome != want {
			t.Errorf("user %s (active %t deleted %t): event %s status %s, want %s", u.ID, u.Active, u.Deleted, ev.Outcome, st.Outcome, want)
		}
		maxCalls := map[audit.Outcome]int{audit.OutcomeDeactivated: 3, audit.OutcomeAlreadyInactive: 2, audit.OutcomeNotFound: 2}[want]
		if n := len(calls[u.ID]); n > maxCalls {
			t.Errorf("user %s (%s): %d calls %v, want at most %d", u.ID, want, n, calls[u.ID], maxCalls)
		}
		after, _ := b.Sim.User(u.ID)
		if !u.Deleted && (after.Active || after.Tokens != 0) {
			t.Errorf("user %s after the job: active %t tokens %d", u.ID, after.Active, after.Tokens)
		}
		if want == audit.OutcomeDeactivated && (!ev.TokensRevoked || ev.Attempts != 1 || len(ev.CorrelationIDs) != 3 ||
			!slices.Equal(ev.RolesBefore, u.Roles())) {
			t.Errorf("event of %s: %+v (roles before %v)", u.ID, ev, u.Roles())
		}
	}
	if dl := b.DeadLetters(); len(dl) != 0 {
		t.Errorf("%d dead letters, want none", len(dl))
	}
}

func TestPipelineStormsAreRetriedWithoutSpendingAttemptsOn429(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 60, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		Seed: 3, ErrorRate: 0.2, BurstRate: 0.05, BurstLength: 3, BurstRetryAfter: time.Second,
	}}})
	b.Worker(worker.Config{Concurrency: 6, Genesys: b.Client(genesys.WithMaxElapsedTime(10 * time.Second))})
	active := slices.DeleteFunc(b.Sim.Users(), func(u genesyssim.User) bool { return !u.Active || u.Deleted })[:30]
	ids := b.Enqueue(testbed.Refs(active), nil)
	statuses := b.WaitDone(ids...)
	c := b.Sim.Counters()
	if c.ByFault[genesyssim.FaultServerError] == 0 || c.ByStatus[429] == 0 {
		t.Fatalf("faults injected: %v; the storms did not happen", c.ByFault)
	}
	for id, st := range statuses {
		if st.Outcome != audit.OutcomeDeactivated || len(st.Attempts) != 0 {
			t.Errorf("job %s: outcome %s, attempts %v; want deactivated and no attempt spent", id, st.Outcome, st.Attempts)
		}
	}
}

func TestPipelineExhaustedJobIsDeadLetteredWithEveryAttempt(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 20, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		ErrorRate: 1, ErrorStatuses: []int{503}, Routes: []string{"PATCH /api/v2/scim/v2/users/{id}"},
	}}})
	b.Worker(worker.Config{MaxAttempts: 3, Genesys: b.Client(genesys.WithMaxElapsedTime(100 * time.Millisecond))})
	target := slices.IndexFunc(b.Sim.Users(), func(u genesyssim.User) bool { return u.Active && !u.Deleted })
	user := b.Sim.Users()[target]
	ids := b.Enqueue([]jobs.UserRef{{ID: user.ID}}, nil)
	st := b.WaitDone(ids...)[ids[0]]
	if st.Outcome != audit.OutcomeExhausted || len(st.Attempts) != 3 {
		t.Fatalf("status %+v, want exhausted after 3 attempts", st)
	}
	dl, ok := b.DeadLetters()[ids[0]]
	if !ok || dl.Outcome != audit.OutcomeExhausted || len(dl.Attempts) != 3 {
		t.Fatalf("dead letter %+v", dl)
	}
	for _, a := range dl.Attempts {
		if !strings.Contains(a.Error, "503") {
			t.Errorf("attempt %d error %q does not say what failed", a.N, a.Error)
		}
	}
	ev := b.AuditEvents()[ids[0]]
	if ev.Outcome != audit.OutcomeExhausted || ev.Attempts != 3 || strings.Count(ev.Error, "attempt ") != 3 {
		t.Errorf("audit event %+v", ev)
	}
	if u, _ := b.Sim.User(user.ID); !u.Active {
		t.Errorf("the user was deactivated although every PATCH failed")
	}
}

func TestPipelineOutcomes(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 120, RateLimit: 1_000_000}})
	users := b.Sim.Users()
	admin := users[slices.IndexFunc(users, func(u genesyssim.User) bool {
		return u.Active && !u.Deleted && slices.Contains(u.Roles(), "Master Admin")
	})]
	plain := slices.DeleteFunc(slices.Clone(users), func(u genesyssim.User) bool {
		return !u.Active || u.Deleted || slices.Contains(u.Roles(), "Master Admin")
	})
	b.Worker(worker.Config{Protect: worker.Protection{Roles: []string{"master admin"}, UserNames: []string{plain[1].UserName}}})

	protected := b.Enqueue([]jobs.UserRef{{ID: admin.ID}, {UserName: plain[1].UserName}}, nil)
	dry := b.Enqueue([]jobs.UserRef{{ExternalID: plain[2].ExternalID}}, func(j *jobs.Job) { j.ID += "-dry"; j.DryRun = true })
	unknown := b.Enqueue([]jobs.UserRef{{ID: "00000000-0000-4000-8000-000000000000"}, {ExternalID: `x" or userName pr or externalId eq "y`}, {UserName: "nobody@example.com"}},
		func(j *jobs.Job) { j.ID += "-unknown" })
	byName := b.Enqueue([]jobs.UserRef{{UserName: plain[3].UserName}, {ExternalID: plain[4].ExternalID}}, func(j *jobs.Job) { j.ID += "-byname"; j.Priority = jobs.PriorityUrgent })
	all := slices.Concat(protected, dry, unknown, byName)
	statuses := b.WaitDone(all...)
	events, dead := b.AuditEvents(), b.DeadLetters()

	expect := func(ids []string, want audit.Outcome, deadLettered bool) {
		t.Helper()
		for _, id := range ids {
			if statuses[id].Outcome != want || events[id].Outcome != want {
				t.Errorf("job %s: status %s event %s, want %s", id, statuses[id].Outcome, events[id].Outcome, want)
			}
			if _, ok := dead[id]; ok != deadLettered {
				t.Errorf("job %s: dead-lettered %t, want %t", id, ok, deadLettered)
			}
		}
	}
	expect(protected, audit.OutcomeProtected, true)
	expect(dry, audit.OutcomeDryRun, false)
	expect(unknown, audit.OutcomeNotFound, false)
	expect(byName, audit.OutcomeDeactivated, false)

	for _, r := range b.Sim.Requests() {
		changing := r.Method != http.MethodGet
		if changing && (r.UserID == admin.ID || r.UserID == plain[1].ID || r.UserID == plain[2].ID) {
			t.Errorf("a protected or dry-run user got a changing call: %s %s", r.Method, r.Path)
		}
	}
	if u, _ := b.Sim.User(admin.ID); !u.Active {
		t.Error("the protected admin was deactivated")
	}
	if !strings.Contains(events[protected[0]].Error, "Master Admin") {
		t.Errorf("protected event does not say why: %q", events[protected[0]].Error)
	}
}

func TestPipelineMalformedInputIsRejected(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 10, RateLimit: 1_000_000}})
	b.Worker(worker.Config{})
	valid := `{"version":1,"id":"%s","action":"deactivate","user":{"id":"6f0b1c7e-1f7a-4c1e-9b43-2a7d2f0c9a11"},"requested_by":"hr"}`
	bad := map[string]string{
		"broken-json":     `{"version":1,"id":"broken-json",`,
		"wrong-types":     `{"version":"1","id":42,"action":true,"user":[],"requested_by":null}`,
		"unknown-version": `{"version":9,"id":"unknown-version"}`,
		"oversized":       `{"version":1,"id":"oversized","reason":"` + strings.Repeat("x", jobs.MaxJobSize) + `"}`,
		"path-trick":      `{"version":1,"id":"path-trick","action":"deactivate","user":{"id":"../tokens/me"},"requested_by":"hr"}`,
		"escaped-slash":   `{"version":1,"id":"escaped-slash","action":"deactivate","user":{"id":"6f0b1c7e%2F..%2Ftokens"},"requested_by":"hr"}`,
		"two-identifiers": `{"version":1,"id":"two-identifiers","action":"deactivate","user":{"id":"6f0b1c7e-1f7a-4c1e-9b43-2a7d2f0c9a11","user_name":"a@b.c"},"requested_by":"hr"}`,
		"not-utf8":        "{\"version\":1,\"id\":\"not-utf8\",\"reason\":\"\xff\"}",
		"unknown-field":   strings.Replace(fmt.Sprintf(valid, "unknown-field"), `"requested_by"`, `"requestedBy":"x","requested_by"`, 1),
		"empty":           ``,
		"unknown-action":  strings.Replace(fmt.Sprintf(valid, "unknown-action"), "deactivate", "erase", 1),
	}
	for id, body := range bad {
		msg := nats.NewMsg(b.Names.NormalSubject())
		msg.Data = []byte(body)
		msg.Header.Set(jetstream.MsgIDHeader, id)
		if _, err := b.JS.PublishMsg(t.Context(), msg); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
	ids := make([]string, 0, len(bad))
	for id := range bad {
		ids = append(ids, id)
	}
	statuses := b.WaitDone(ids...)
	events, dead := b.AuditEvents(), b.DeadLetters()
	for _, id := range ids {
		if statuses[id].Outcome != audit.OutcomeRejected || events[id].Outcome != audit.OutcomeRejected || events[id].Attempts != 0 {
			t.Errorf("%s: status %s event %+v, want rejected without an attempt", id, statuses[id].Outcome, events[id])
		}
		if dead[id].Reason == "" || !strings.Contains(dead[id].Reason, "jobs:") {
			t.Errorf("%s: dead letter reason %q is not a clear error", id, dead[id].Reason)
		}
	}
	if n := len(b.Sim.Requests()); n != 0 {
		t.Errorf("rejected jobs made %d Genesys calls", n)
	}
	// The worker is still alive: a valid job after all that is done.
	ok := b.Enqueue([]jobs.UserRef{{ID: b.Sim.Users()[0].ID}}, nil)
	b.WaitDone(ok...)
}

func TestPipelineRefusedCredentialsPauseTheFleet(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	if err := b.Sim.SetClientEnabled("sim-client", false); err != nil {
		t.Fatal(err)
	}
	w1 := b.Worker(worker.Config{ProbeInterval: 200 * time.Millisecond})
	w2 := b.Worker(worker.Config{ProbeInterval: 200 * time.Millisecond})
	active := slices.DeleteFunc(b.Sim.Users(), func(u genesyssim.User) bool { return !u.Active || u.Deleted })[:10]
	ids := b.Enqueue(testbed.Refs(active), nil)

	b.WaitPaused("the fleet to pause", func() bool {
		p1, _ := w1.Paused(t.Context())
		p2, _ := w2.Paused(t.Context())
		return p1 && p2
	})
	seen := len(b.Sim.Requests())
	testbed.WaitFor(t, "a few probe rounds while refused", b.SimChanges(), testbed.Until[struct{}](func() bool {
		return len(b.Sim.Requests()) >= seen+4 // while paused, only the probes call Genesys
	}))
	for _, id := range ids {
		if st, err := b.Status.Get(t.Context(), id); err == nil && (st.State == jobs.StateDone || len(st.Attempts) > 0) {
			t.Errorf("job %s moved while the fleet was paused: %+v", id, st)
		}
	}
	if len(b.DeadLetters()) != 0 || len(b.AuditEvents()) != 0 {
		t.Error("a paused fleet dead-lettered or finished jobs")
	}
	ops := 0
	for _, m := range b.StreamMsgs(b.Names.AuditStream()) {
		if strings.HasSuffix(m.Subject, ".audit.ops.fleet_paused") {
			ops++
		}
	}
	if ops == 0 {
		t.Error("no fleet_paused ops event")
	}

	if err := b.Sim.SetClientEnabled("sim-client", true); err != nil {
		t.Fatal(err)
	}
	for id, st := range b.WaitDone(ids...) {
		if st.Outcome != audit.OutcomeDeactivated || len(st.Attempts) != 0 {
			t.Errorf("job %s after resuming: %s, attempts %v", id, st.Outcome, st.Attempts)
		}
	}
	b.WaitPaused("readiness to return", func() bool {
		p1, _ := w1.Paused(t.Context())
		p2, _ := w2.Paused(t.Context())
		return !p1 && !p2
	})
}

func TestPipelineUrgentJobOvertakesBacklog(t *testing.T) {
	t.Parallel()
	// Throughput is held by a slow Genesys: every call takes 15 ms.
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 2400, RateLimit: 1_000_000, Faults: genesyssim.Faults{LatencyMin: 15 * time.Millisecond, LatencyMax: 15 * time.Millisecond}}})
	const concurrency = 4
	b.Worker(worker.Config{Concurrency: concurrency})
	active := slices.DeleteFunc(b.Sim.Users(), func(u genesyssim.User) bool { return !u.Active || u.Deleted })
	if len(active) < 2001 {
		t.Fatalf("only %d active users", len(active))
	}
	normal := b.Enqueue(testbed.Refs(active[1:2001]), nil) // 2,000 deactivations, three calls each
	b.WaitUntil("the backlog to start", func() bool {
		st, err := b.Status.Get(t.Context(), normal[20])
		return err == nil && st.State == jobs.StateDone
	})
	target := active[0]
	published := time.Now()
	urgent := b.Enqueue([]jobs.UserRef{{ID: target.ID}}, func(j *jobs.Job) { j.ID = "urgent-1"; j.Priority = jobs.PriorityUrgent })
	done := b.WaitDone(urgent...)[urgent[0]]
	overtaken := 0
	for _, id := range normal {
		st, err := b.Status.Get(t.Context(), id)
		if err == nil && st.State == jobs.StateDone && st.FinishedAt.After(published) && st.FinishedAt.Before(done.FinishedAt) {
			overtaken++
		}
	}
	if overtaken > concurrency {
		t.Errorf("%d normal jobs finished between the urgent job's publication and its end, want at most %d (the in-flight limit)", overtaken, concurrency)
	}
	t.Logf("urgent job done %s after publication; %d normal jobs finished in between", done.FinishedAt.Sub(published), overtaken)
}

// holdTransport holds every request that names one of its users until release is closed.
type holdTransport struct {
	users   []string
	held    chan struct{} // gets a value when a request is first held
	release chan struct{}
}

func (h *holdTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	for _, u := range h.users {
		if strings.Contains(r.URL.String(), u) {
			select {
			case h.held <- struct{}{}:
			default:
			}
			select {
			case <-h.release:
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Every slot of a worker busy with a normal job that does not finish: an urgent job still starts
// and finishes, in the slot the worker keeps for urgent jobs alone.
func TestPipelineUrgentJobDoesNotWaitForASlot(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 20, RateLimit: 1_000_000}})
	active := slices.DeleteFunc(b.Sim.Users(), func(u genesyssim.User) bool { return !u.Active || u.Deleted })
	hold := &holdTransport{users: []string{active[1].ID, active[2].ID}, held: make(chan struct{}, 1), release: make(chan struct{})}
	released := sync.OnceFunc(func() { close(hold.release) })
	t.Cleanup(released)
	b.Worker(worker.Config{Concurrency: 1, Genesys: b.Client(genesys.WithHTTPClient(&http.Client{Transport: hold}))})
	normal := b.Enqueue(testbed.Refs(active[1:3]), nil)
	select {
	case <-hold.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the normal job never reached Genesys")
	}
	urgent := b.Enqueue([]jobs.UserRef{{ID: active[0].ID}}, func(j *jobs.Job) { j.ID = "urgent-1"; j.Priority = jobs.PriorityUrgent })
	b.WaitDone(urgent...)
	for _, id := range normal {
		if st, err := b.Status.Get(t.Context(), id); err == nil && st.State == jobs.StateDone {
			t.Errorf("normal job %s finished while its Genesys call was held", id)
		}
	}
	released()
	b.WaitDone(normal...)
}
