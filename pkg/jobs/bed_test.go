package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// bed is a real NATS server with the topology provisioned, a Genesys
// simulator, and what the tests use to publish jobs and read results.
type bed struct {
	t      *testing.T
	nc     *nats.Conn
	js     jetstream.JetStream
	sim    *genesyssim.TestServer
	names  jobs.Names
	pub    *jobs.Publisher
	status *jobs.StatusStore
}

func newBed(t *testing.T, simCfg genesyssim.Config) *bed {
	t.Helper()
	return newBedTopology(t, simCfg, nil)
}

// newBedTopology is newBed with the topology changed by edit.
func newBedTopology(t *testing.T, simCfg genesyssim.Config, edit func(*jobs.TopologyConfig)) *bed {
	t.Helper()
	_, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{t: t, nc: nc, js: js, sim: genesyssim.NewTestServer(t, simCfg)}
	ctx := t.Context()
	topo := jobs.TopologyConfig{Names: b.names, Storage: jetstream.MemoryStorage, AckWait: 5 * time.Second}
	if edit != nil {
		edit(&topo)
	}
	if err := jobs.Provision(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	if b.pub, err = jobs.NewPublisher(js, b.names); err != nil {
		t.Fatal(err)
	}
	if b.status, err = jobs.NewStatusStore(ctx, js, b.names); err != nil {
		t.Fatal(err)
	}
	return b
}

// client is a Genesys client for the simulator with fast retries.
func (b *bed) client(opts ...genesys.Option) *genesys.Client {
	b.t.Helper()
	opts = append([]genesys.Option{
		genesys.WithCredentials("sim-client", "sim-secret"),
		genesys.WithLimiter(genesys.NewRateLimiter(1_000_000, time.Second)),
		genesys.WithMaxElapsedTime(2 * time.Second),
	}, opts...)
	c, err := genesys.NewClient(b.sim.URL, opts...)
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

// worker starts a worker; the returned stop ends it and waits for Run.
func (b *bed) worker(cfg jobs.WorkerConfig) (*jobs.Worker, func()) {
	b.t.Helper()
	cfg.JetStream = b.js
	cfg.Names = b.names
	if cfg.Genesys == nil {
		cfg.Genesys = b.client()
	}
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(b.t)
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(int) time.Duration { return 20 * time.Millisecond }
	}
	cfg.AckWait = 5 * time.Second
	cfg.PollWait = 50 * time.Millisecond
	w, err := jobs.NewWorker(b.t.Context(), cfg)
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(b.t.Context()))
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				b.t.Errorf("Run: %v", err)
			}
		})
	}
	b.t.Cleanup(stop)
	return w, stop
}

// enqueue publishes a deactivation job for each user reference.
func (b *bed) enqueue(refs []jobs.UserRef, edit func(*jobs.Job)) []string {
	b.t.Helper()
	ids := make([]string, 0, len(refs))
	for i, ref := range refs {
		j := jobs.Job{ID: fmt.Sprintf("job-%d-%s", i, strings.ReplaceAll(b.t.Name(), "/", "_")), Action: jobs.ActionDeactivate, User: ref, RequestedBy: "hr-system", Reason: "left the company", Ticket: "HR-1"}
		if edit != nil {
			edit(&j)
		}
		if _, err := b.pub.Enqueue(b.t.Context(), j); err != nil {
			b.t.Fatalf("enqueue %+v: %v", ref, err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

// waitDone waits until every job has a done status and returns them.
func (b *bed) waitDone(ids []string, within time.Duration) map[string]jobs.Status {
	b.t.Helper()
	deadline := time.Now().Add(within)
	out := map[string]jobs.Status{}
	for _, id := range ids {
		for {
			st, err := b.status.Get(b.t.Context(), id)
			if err == nil && st.State == jobs.StateDone {
				out[id] = st
				break
			}
			if time.Now().After(deadline) {
				b.t.Fatalf("job %s not done within %s (%d of %d done): %+v %v", id, within, len(out), len(ids), st, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return out
}

// streamMsgs reads every message stored in a stream.
func (b *bed) streamMsgs(stream string) []*jetstream.RawStreamMsg {
	b.t.Helper()
	ctx := b.t.Context()
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		b.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted (work queue)
		}
		out = append(out, m)
	}
	return out
}

// auditEvents reads the user events of the audit stream, keyed by job id,
// and fails the test if any job has two or any event breaks the schema.
func (b *bed) auditEvents() map[string]audit.Unmapped {
	b.t.Helper()
	schema := compileSchema(b.t, audit.Schema())
	out := map[string]audit.Unmapped{}
	for _, m := range b.streamMsgs(b.names.AuditStream()) {
		if !strings.Contains(m.Subject, ".audit.user.") {
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(m.Data)))
		if err != nil {
			b.t.Fatal(err)
		}
		if err := schema.Validate(doc); err != nil {
			b.t.Errorf("audit event on %s breaks its schema: %v\n%s", m.Subject, err, m.Data)
		}
		var ev struct {
			Data audit.AccountChange `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			b.t.Fatal(err)
		}
		u := ev.Data.Unmapped
		if _, dup := out[u.JobID]; dup {
			b.t.Errorf("job %s has two terminal audit events", u.JobID)
		}
		if want := "." + string(u.Outcome) + "."; !strings.Contains(m.Subject, want) {
			b.t.Errorf("event of outcome %s on subject %s", u.Outcome, m.Subject)
		}
		out[u.JobID] = u
	}
	return out
}

// eventMessage returns the OCSF message of a job's terminal audit event.
func (b *bed) eventMessage(jobID string) string {
	b.t.Helper()
	for _, m := range b.streamMsgs(b.names.AuditStream()) {
		var ev struct {
			Data audit.AccountChange `json:"data"`
		}
		if json.Unmarshal(m.Data, &ev) == nil && ev.Data.Unmapped.JobID == jobID {
			return ev.Data.Message
		}
	}
	return ""
}

func (b *bed) deadLetters() map[string]jobs.DeadLetter {
	b.t.Helper()
	out := map[string]jobs.DeadLetter{}
	for _, m := range b.streamMsgs(b.names.DeadStream()) {
		var dl jobs.DeadLetter
		if err := json.Unmarshal(m.Data, &dl); err != nil {
			b.t.Fatal(err)
		}
		out[dl.JobID] = dl
	}
	return out
}

func (b *bed) jobsLeft() uint64 {
	b.t.Helper()
	s, err := b.js.Stream(b.t.Context(), b.names.JobsStream())
	if err != nil {
		b.t.Fatal(err)
	}
	info, err := s.Info(b.t.Context())
	if err != nil {
		b.t.Fatal(err)
	}
	return info.State.Msgs
}

// callsByUser counts the simulator's API requests per user id and route.
func (b *bed) callsByUser() map[string][]string {
	out := map[string][]string{}
	for _, r := range b.sim.Requests() {
		if r.UserID != "" {
			out[r.UserID] = append(out[r.UserID], r.Route)
		}
	}
	return out
}

func compileSchema(t *testing.T, data []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func refsByID(users []genesyssim.User) []jobs.UserRef {
	refs := make([]jobs.UserRef, 0, len(users))
	for _, u := range users {
		refs = append(refs, jobs.UserRef{ID: u.ID})
	}
	return refs
}
