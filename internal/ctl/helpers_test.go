package ctl

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of http.DefaultTransport clones outlive tests by design.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		natstest.IgnoreSourceSetup(),
	)
}

// patchRoute is the simulator's route of the SCIM deactivation.
const patchRoute = "PATCH /api/v2/scim/v2/users/{id}"

// fixture is a bed (internal/testbed) whose worker has produced one dead letter of each kind,
// plus one deactivated job:
//
//	exhausted  every PATCH failed with 503 (MaxAttempts 2)
//	conflict   the simulator refused the deactivation with a blocking 409
//	protected  the user holds the protected role Master Admin
//	rejected   the job is invalid
type fixture struct {
	*testbed.T
	worker *testbed.Worker // the fixture's worker
	// job ids by outcome, and the users of the valid ones
	exhausted, conflict, protected, rejected, deactivated string
	users                                                 map[string]genesyssim.User // by job id
}

// newBed is a bed with the topology under the default prefix, as genesysctl expects it.
func newBed(t *testing.T, sim genesyssim.Config) *fixture {
	t.Helper()
	b := testbed.New(t, testbed.Config{Sim: sim, Topology: jobs.TopologyConfig{Names: jobs.Names{Prefix: audit.DefaultPrefix}}})
	return &fixture{T: b, users: map[string]genesyssim.User{}}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := newBed(t, genesyssim.Config{Users: 20, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		ErrorRate: 1, ErrorStatuses: []int{503}, Routes: []string{patchRoute},
	}})
	f.worker = f.startWorker(worker.Protection{Roles: []string{"master admin"}})
	users := f.Sim.Users()
	admin := users[slices.IndexFunc(users, func(u genesyssim.User) bool {
		return u.Active && !u.Deleted && slices.Contains(u.Roles(), "Master Admin")
	})]
	plain := slices.DeleteFunc(slices.Clone(users), func(u genesyssim.User) bool {
		return !u.Active || u.Deleted || slices.Contains(u.Roles(), "Master Admin")
	})
	f.exhausted = f.enqueue("exhausted-1", plain[0])
	f.WaitDone(f.exhausted)
	if err := f.Sim.SetFaults(genesyssim.Faults{BlockingUsers: []string{plain[1].ID}}); err != nil {
		t.Fatal(err)
	}
	f.conflict = f.enqueue("conflict-1", plain[1])
	f.protected = f.enqueue("protected-1", admin)
	f.deactivated = f.enqueue("deactivated-1", plain[2])
	f.rejected = "rejected-1"
	msg := nats.NewMsg(f.Names.NormalSubject())
	msg.Data = []byte(`{"version":1,"id":"rejected-1","action":"fly","user":{"id":"nope"},"requested_by":"hr"}`)
	msg.Header.Set(jetstream.MsgIDHeader, f.rejected)
	if _, err := f.JS.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	f.WaitDone(f.conflict, f.protected, f.deactivated, f.rejected)
	return f
}

// startWorker starts a worker that gives up on a failing PATCH fast (two attempts of 100 ms).
func (f *fixture) startWorker(protect worker.Protection) *testbed.Worker {
	f.TB.Helper()
	return f.Worker(worker.Config{ID: "ctl-test", MaxAttempts: 2, Protect: protect,
		Genesys: f.Client(genesys.WithMaxElapsedTime(100 * time.Millisecond))})
}

// enqueue publishes a deactivation job with id for u and remembers the user.
func (f *fixture) enqueue(id string, u genesyssim.User) string {
	f.TB.Helper()
	f.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.ID, j.Ticket, j.Priority = id, "HR-7", jobs.PriorityUrgent })
	f.users[id] = u
	return id
}

// ctl runs genesysctl against the fixture's server and returns its exit status and output.
func (f *fixture) ctl(args ...string) (code int, stdout, stderr string) {
	f.TB.Helper()
	var out, errb bytes.Buffer
	code = Main(f.TB.Context(), append(args, "--nats-url", f.URL), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// counts returns how many messages each stream holds.
func (f *fixture) counts() map[string]uint64 {
	f.TB.Helper()
	out := map[string]uint64{}
	for _, name := range []string{f.Names.JobsStream(), f.Names.AuditStream(), f.Names.DeadStream(), "KV_" + f.Names.StatusBucket()} {
		out[name] = f.StreamCount(name)
	}
	return out
}

// auditEvent is the part of a stored audit event the tests look at.
type auditEvent struct {
	Subject string              `json:"-"` // the NATS subject (not the CloudEvent's "subject", the user id)
	Type    string              `json:"type"`
	Data    audit.AccountChange `json:"data"`
	Ops     audit.OpsData       `json:"-"`
}

// auditEvents reads every event in the audit stream, in order.
func (f *fixture) auditEvents() []auditEvent {
	f.TB.Helper()
	var out []auditEvent
	for _, m := range f.StreamMsgs(f.Names.AuditStream()) {
		ev := auditEvent{Subject: m.Subject}
		if !strings.Contains(m.Subject, ".ops.") {
			if err := json.Unmarshal(m.Data, &ev); err != nil {
				f.TB.Fatal(err)
			}
			out = append(out, ev)
			continue
		}
		var raw struct {
			Type string        `json:"type"`
			Data audit.OpsData `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &raw); err != nil {
			f.TB.Fatal(err)
		}
		ev.Type, ev.Ops = raw.Type, raw.Data
		out = append(out, ev)
	}
	return out
}

// jsonLines decodes one JSON object per line into T.
func jsonLines[T any](t *testing.T, s string) []T {
	t.Helper()
	var out []T
	for line := range strings.Lines(s) {
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, v)
	}
	return out
}
