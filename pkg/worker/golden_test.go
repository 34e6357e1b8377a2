package worker_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
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

// The golden test records what each outcome stores: the terminal audit event
// (the message body in the audit stream), the job's status record (the value
// in the status bucket), the dead letter where the outcome has one, and the
// subjects and message ids they were stored under. Each outcome runs a real
// job through a real worker on its own NATS server and simulator, with fixed
// clocks and ids, and the stored bytes must equal testdata/golden/ byte for
// byte after one substitution (normaliseGolden). Rewrite the files with
//
//	go test ./pkg/worker -run TestGolden -update
//
// and name every change of a golden file in the commit that makes it.

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var (
	// goldenNow is the worker's and the simulator's clock.
	goldenNow    = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	goldenOrigin = audit.Origin{Source: "urn:offboard-dev:genesys-deactivator:golden", ProductVersion: "golden"}
)

const goldenWorkerID = "golden-worker"

// goldenUser is the one user each case works on, added to an otherwise empty
// simulated org (the seeded roles and divisions have fixed ids).
func goldenUser(active bool) genesyssim.User {
	return genesyssim.User{
		ID: "6f0b1c7e-1f7a-4c1e-9b43-2a7d2f0c9a11", UserName: "ada.golden@example.com", DisplayName: "Ada Golden",
		Title: "Agent", ExternalID: "00ugolden00000000001", EmployeeNumber: "E-1001", Department: "Support",
		Active: active, Tokens: 2,
		Grants: []genesyssim.Grant{{RoleName: genesyssim.RoleEmployee}, {RoleName: genesyssim.RoleAgent, DivisionName: "Sales"}},
	}
}

func goldenJob(id string) jobs.Job {
	return jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: goldenUser(true).ID},
		Reason: "left the company", RequestedBy: "hr-system", Ticket: "HR-1",
		RequestedAt: time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)}
}

type goldenCase struct {
	outcome audit.Outcome
	sim     genesyssim.Config // Users and Now are set by the test
	worker  worker.Config     // the connections, ID, Origin and clock are set by the test
	// run adds the user, enqueues, and returns the job whose results are golden once it is done.
	run func(g *goldenBed) string
}

func goldenCases() []goldenCase {
	enqueue := func(edit func(*jobs.Job)) func(g *goldenBed) string {
		return func(g *goldenBed) string {
			g.addUser(goldenUser(true))
			j := goldenJob("golden-" + string(g.outcome))
			if edit != nil {
				edit(&j)
			}
			g.enqueue(j)
			return j.ID
		}
	}
	return []goldenCase{
		{outcome: audit.OutcomeDeactivated, run: enqueue(nil)},
		{outcome: audit.OutcomeAlreadyInactive, run: func(g *goldenBed) string {
			g.addUser(goldenUser(false))
			g.enqueue(goldenJob("golden-already_inactive"))
			return "golden-already_inactive"
		}},
		{outcome: audit.OutcomeNotFound, run: enqueue(func(j *jobs.Job) { j.User.ID = "00000000-0000-4000-8000-000000000000" })},
		{outcome: audit.OutcomeDryRun, run: enqueue(func(j *jobs.Job) { j.DryRun = true })},
		{outcome: audit.OutcomeReactivated, sim: genesyssim.Config{RemoveRolesOnDeactivate: true}, run: func(g *goldenBed) string {
			g.addUser(goldenUser(true))
			off := goldenJob("golden-reactivated-off")
			g.enqueue(off)
			g.WaitDone(off.ID)
			on := goldenJob("golden-reactivated")
			on.Action, on.Reason, on.Ticket = jobs.ActionReactivate, "rehired", "HR-2"
			g.enqueue(on)
			return on.ID
		}},
		{outcome: audit.OutcomeProtected, worker: worker.Config{Protect: worker.Protection{UserNames: []string{"Ada.Golden@example.com"}}},
			run: enqueue(nil)},
		{outcome: audit.OutcomeRejected, run: func(g *goldenBed) string {
			// Undecodable: recorded under its Nats-Msg-Id.
			msg := nats.NewMsg(g.Names.NormalSubject())
			msg.Data = []byte(`{"version":1,"id":"golden-rejected","action":"deactivate",`)
			msg.Header.Set(jetstream.MsgIDHeader, "golden-rejected")
			if _, err := g.JS.PublishMsg(g.TB.Context(), msg); err != nil {
				g.TB.Fatal(err)
			}
			return "golden-rejected"
		}},
		{outcome: audit.OutcomeConflict, sim: genesyssim.Config{Faults: genesyssim.Faults{BlockingUsers: []string{goldenUser(true).ID}}},
			run: enqueue(nil)},
		{outcome: audit.OutcomeExhausted, sim: genesyssim.Config{Faults: genesyssim.Faults{
			ErrorRate: 1, ErrorStatuses: []int{503}, Routes: []string{"PATCH /api/v2/scim/v2/users/{id}"}}},
			worker: worker.Config{MaxAttempts: 2}, run: enqueue(nil)},
		{outcome: audit.OutcomeDropped, worker: worker.Config{Concurrency: 1, Guard: jobs.GuardConfig{Limit: 1, Window: time.Hour}},
			run: func(g *goldenBed) string {
				// The first deactivation fills the guard, the second is held, an operator drops it.
				g.addUser(goldenUser(true))
				other := goldenUser(true)
				other.ID, other.UserName, other.ExternalID, other.EmployeeNumber = "0c3e4f5a-6b7c-4d8e-9f01-23456789abcd", "bruno.golden@example.com", "00ugolden00000000002", "E-1002"
				other.DisplayName = "Bruno Golden"
				g.addUser(other)
				first := goldenJob("golden-dropped-first")
				first.User.ID = other.ID
				g.enqueue(first)
				g.enqueue(goldenJob("golden-dropped"))
				guard, err := jobs.NewGuard(g.TB.Context(), g.JS, g.Names, jobs.GuardConfig{Limit: 1, Window: time.Hour}, goldenOrigin)
				if err != nil {
					g.TB.Fatal(err)
				}
				// "state" is the default guard's key in the guard bucket.
				g.waitKey(g.Names.GuardBucket(), "state", func(v []byte) bool {
					var st jobs.GuardState
					return json.Unmarshal(v, &st) == nil && st.Held
				})
				if _, err := guard.DropHeld(g.TB.Context(), jobs.GuardDecision{Operator: "golden-operator", At: goldenNow}); err != nil {
					g.TB.Fatal(err)
				}
				return "golden-dropped"
			}},
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, c := range goldenCases() {
		t.Run(string(c.outcome), func(t *testing.T) { // one at a time: ten beds at once load the package's timing-sensitive tests
			g := newGoldenBed(t, c)
			id := c.run(g)
			g.WaitDone(id)
			ctx := t.Context()

			stored := func(stream, msgID string) *jetstream.RawStreamMsg {
				s, err := g.JS.Stream(ctx, stream)
				if err != nil {
					t.Fatal(err)
				}
				info, err := s.Info(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
					if m, err := s.GetMsg(ctx, seq); err == nil && m.Header.Get(jetstream.MsgIDHeader) == msgID {
						return m
					}
				}
				return nil
			}
			event := stored(g.Names.AuditStream(), audit.EventID(id))
			if event == nil {
				t.Fatalf("no audit event for %s", id)
			}
			status, err := g.kv(g.Names.StatusBucket()).Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			subjects := fmt.Sprintf("event %s %s\n", event.Subject, event.Header.Get(jetstream.MsgIDHeader))
			g.check(string(c.outcome)+".event.json", event.Data)
			g.check(string(c.outcome)+".status.json", status.Value())
			dead := stored(g.Names.DeadStream(), jobs.DeadLetterMsgID(id))
			if (dead != nil) != c.outcome.DeadLetter() {
				t.Errorf("dead letter stored: %t, want %t", dead != nil, c.outcome.DeadLetter())
			}
			if dead != nil {
				subjects += fmt.Sprintf("deadletter %s %s\n", dead.Subject, dead.Header.Get(jetstream.MsgIDHeader))
				g.check(string(c.outcome)+".deadletter.json", dead.Data)
			}
			g.check(string(c.outcome)+".subjects.txt", []byte(subjects))
		})
	}
}

// normaliseGolden is the one substitution made before comparing: the
// simulator draws each request's correlation id at random (crypto/rand in
// genesyssim, echoed as the error body's contextId), and the worker records
// them in the event's correlation ids, in error texts and in the dead
// letter's Genesys error. Each id the simulator issued becomes
// "sim-correlation-id:<route>" of the request that drew it, so the golden
// file still says which call's id was recorded where. Nothing else changes.
func normaliseGolden(data []byte, requests []genesyssim.Request) []byte {
	for _, r := range requests {
		if r.CorrelationID != "" {
			data = bytes.ReplaceAll(data, []byte(r.CorrelationID), []byte("sim-correlation-id:"+r.Route))
		}
	}
	return data
}

// goldenBed is a test bed (internal/testbed) with one worker on a fixed clock.
type goldenBed struct {
	*testbed.T
	outcome audit.Outcome
}

func newGoldenBed(t *testing.T, c goldenCase) *goldenBed {
	t.Helper()
	simCfg := c.sim
	simCfg.Users, simCfg.RateLimit, simCfg.Now = -1, 1_000_000, func() time.Time { return goldenNow }
	g := &goldenBed{T: testbed.New(t, testbed.Config{Sim: simCfg}), outcome: c.outcome}

	cfg := c.worker
	cfg.ID, cfg.Origin = goldenWorkerID, goldenOrigin
	cfg.SnapshotGrants, cfg.SnapshotQueues = true, true
	// One try per call: an error text then says "gave up after 1 attempts" whatever the timing.
	cfg.Genesys = g.Client(genesys.WithMaxElapsedTime(time.Nanosecond))
	g.Worker(cfg, func(w *worker.Worker) { worker.SetClock(w, func() time.Time { return goldenNow }) })
	return g
}

func (g *goldenBed) addUser(u genesyssim.User) {
	g.TB.Helper()
	if _, err := g.Sim.AddUser(u); err != nil {
		g.TB.Fatal(err)
	}
}

func (g *goldenBed) enqueue(j jobs.Job) {
	g.TB.Helper()
	if _, err := g.Pub.Enqueue(g.TB.Context(), j); err != nil {
		g.TB.Fatalf("enqueue %s: %v", j.ID, err)
	}
}

func (g *goldenBed) kv(bucket string) jetstream.KeyValue {
	g.TB.Helper()
	kv, err := g.JS.KeyValue(g.TB.Context(), bucket)
	if err != nil {
		g.TB.Fatal(err)
	}
	return kv
}

// waitKey watches key in bucket until its value satisfies ok.
func (g *goldenBed) waitKey(bucket, key string, ok func([]byte) bool) {
	g.TB.Helper()
	testbed.WaitFor(g.TB, bucket+" "+key, g.Watch(bucket, key), func(e jetstream.KeyValueEntry) bool {
		return e.Operation() == jetstream.KeyValuePut && ok(e.Value())
	})
}

// check compares what was stored, after normaliseGolden, with the golden
// file, or rewrites the file under -update.
func (g *goldenBed) check(name string, stored []byte) {
	g.TB.Helper()
	got := normaliseGolden(stored, g.Sim.Requests())
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			g.TB.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			g.TB.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		g.TB.Fatalf("%s is missing (run with -update to write it); stored:\n%s", path, got)
	}
	if err != nil {
		g.TB.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		at := 0
		for at < min(len(got), len(want)) && got[at] == want[at] {
			at++
		}
		near := func(b []byte) []byte { return b[max(at-60, 0):min(at+60, len(b))] }
		g.TB.Errorf("%s differs from what was stored at byte %d:\nstored: …%s…\ngolden: …%s…\nstored in full: %s\n(run with -update to accept it, and name the change in the commit)",
			path, at, near(got), near(want), got)
	}
}
