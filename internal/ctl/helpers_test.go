package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of http.DefaultTransport clones outlive tests by design.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// patchRoute is the simulator's route of the SCIM deactivation.
const patchRoute = "PATCH /api/v2/scim/v2/users/{id}"

// fixture is a NATS server with the topology provisioned, a Genesys simulator and a real worker
// that has produced one dead letter of each kind, plus one deactivated job:
//
//	exhausted  every PATCH failed with 503 (MaxAttempts 2)
//	conflict   the simulator refused the deactivation with a blocking 409
//	protected  the user holds the protected role Master Admin
//	rejected   the job is invalid
type fixture struct {
	t      *testing.T
	url    string
	js     jetstream.JetStream
	sim    *genesyssim.TestServer
	names  jobs.Names
	pub    *jobs.Publisher
	status *jobs.StatusStore
	stop   func() // stops the fixture's worker
	// job ids by outcome, and the users of the valid ones
	exhausted, conflict, protected, rejected, deactivated string
	users                                                 map[string]genesyssim.User // by job id
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, url: srv.ClientURL(), js: js, names: jobs.Names{Prefix: audit.DefaultPrefix}, users: map[string]genesyssim.User{}}
	f.sim = genesyssim.NewTestServer(t, genesyssim.Config{Users: 20, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		ErrorRate: 1, ErrorStatuses: []int{503}, Routes: []string{patchRoute},
	}})
	ctx := t.Context()
	if err := jobs.Provision(ctx, js, jobs.TopologyConfig{Names: f.names, Storage: jetstream.MemoryStorage, AckWait: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if f.pub, err = jobs.NewPublisher(js, f.names); err != nil {
		t.Fatal(err)
	}
	if f.status, err = jobs.NewStatusStore(ctx, js, f.names); err != nil {
		t.Fatal(err)
	}
	f.stop = f.worker(jobs.Protection{Roles: []string{"master admin"}})
	users := f.sim.Users()
	admin := users[slices.IndexFunc(users, func(u genesyssim.User) bool {
		return u.Active && !u.Deleted && slices.Contains(u.Roles(), "Master Admin")
	})]
	plain := slices.DeleteFunc(slices.Clone(users), func(u genesyssim.User) bool {
		return !u.Active || u.Deleted || slices.Contains(u.Roles(), "Master Admin")
	})
	f.exhausted = f.enqueue("exhausted-1", plain[0])
	f.waitDone(f.exhausted)
	if err := f.sim.SetFaults(genesyssim.Faults{BlockingUsers: []string{plain[1].ID}}); err != nil {
		t.Fatal(err)
	}
	f.conflict = f.enqueue("conflict-1", plain[1])
	f.protected = f.enqueue("protected-1", admin)
	f.deactivated = f.enqueue("deactivated-1", plain[2])
	f.rejected = "rejected-1"
	msg := nats.NewMsg(f.names.NormalSubject())
	msg.Data = []byte(`{"version":1,"id":"rejected-1","action":"fly","user":{"id":"nope"},"requested_by":"hr"}`)
	msg.Header.Set(jetstream.MsgIDHeader, f.rejected)
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	f.waitDone(f.conflict, f.protected, f.deactivated, f.rejected)
	return f
}

// worker starts a jobs.Worker against the simulator; the returned func stops it.
func (f *fixture) worker(protect jobs.Protection) func() {
	f.t.Helper()
	c, err := genesys.NewClient(f.sim.URL, genesys.WithCredentials("sim-client", "sim-secret"),
		genesys.WithLimiter(genesys.NewRateLimiter(1_000_000, time.Second)), genesys.WithMaxElapsedTime(100*time.Millisecond))
	if err != nil {
		f.t.Fatal(err)
	}
	w, err := jobs.NewWorker(f.t.Context(), jobs.WorkerConfig{
		Names: f.names, JetStream: f.js, Genesys: c, Logger: zaptest.NewLogger(f.t), ID: "ctl-test",
		MaxAttempts: 2, Backoff: func(int) time.Duration { return 20 * time.Millisecond },
		AckWait: 5 * time.Second, PollWait: 50 * time.Millisecond, Protect: protect,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(f.t.Context()))
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				f.t.Errorf("worker Run: %v", err)
			}
		})
	}
	f.t.Cleanup(stop)
	return stop
}

// enqueue publishes a deactivation job with id for u and remembers the user.
func (f *fixture) enqueue(id string, u genesyssim.User) string {
	f.t.Helper()
	j := jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr-system",
		Reason: "left the company", Ticket: "HR-7", Priority: jobs.PriorityUrgent}
	if _, err := f.pub.Enqueue(f.t.Context(), j); err != nil {
		f.t.Fatalf("enqueue %s: %v", id, err)
	}
	f.users[id] = u
	return id
}

// waitDone waits (at most 30 s) until every job has a done status, and returns them.
func (f *fixture) waitDone(ids ...string) map[string]jobs.Status {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	out := map[string]jobs.Status{}
	for _, id := range ids {
		for {
			st, err := f.status.Get(f.t.Context(), id)
			if err == nil && st.State == jobs.StateDone {
				out[id] = st
				break
			}
			if time.Now().After(deadline) {
				f.t.Fatalf("job %s not done within 30s: %+v %v", id, st, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return out
}

// ctl runs genesysctl against the fixture's server and returns its exit status and output.
func (f *fixture) ctl(args ...string) (code int, stdout, stderr string) {
	f.t.Helper()
	var out, errb bytes.Buffer
	code = Main(f.t.Context(), append(args, "--nats-url", f.url), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// counts returns how many messages each stream holds.
func (f *fixture) counts() map[string]uint64 {
	f.t.Helper()
	out := map[string]uint64{}
	for _, name := range []string{f.names.JobsStream(), f.names.AuditStream(), f.names.DeadStream(), "KV_" + f.names.StatusBucket()} {
		s, err := f.js.Stream(f.t.Context(), name)
		if err != nil {
			f.t.Fatal(err)
		}
		info, err := s.Info(f.t.Context())
		if err != nil {
			f.t.Fatal(err)
		}
		out[name] = info.State.Msgs
	}
	return out
}

// auditEvent is the part of a stored audit event the tests look at.
type auditEvent struct {
	Subject string
	Type    string              `json:"type"`
	Data    audit.AccountChange `json:"data"`
	Ops     audit.OpsData       `json:"-"`
}

// auditEvents reads every event in the audit stream, in order.
func (f *fixture) auditEvents() []auditEvent {
	f.t.Helper()
	s, err := f.js.Stream(f.t.Context(), f.names.AuditStream())
	if err != nil {
		f.t.Fatal(err)
	}
	info, err := s.Info(f.t.Context())
	if err != nil {
		f.t.Fatal(err)
	}
	var out []auditEvent
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(f.t.Context(), seq)
		if err != nil {
			f.t.Fatal(err)
		}
		ev := auditEvent{Subject: m.Subject}
		if err := json.Unmarshal(m.Data, &ev); err != nil && !strings.Contains(m.Subject, ".ops.") {
			f.t.Fatal(err)
		}
		if strings.Contains(m.Subject, ".ops.") {
			var raw struct {
				Data audit.OpsData `json:"data"`
			}
			if err := json.Unmarshal(m.Data, &raw); err != nil {
				f.t.Fatal(err)
			}
			ev.Ops = raw.Data
		}
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
