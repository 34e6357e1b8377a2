package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/ctl"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

var names = jobs.Names{Prefix: "genesys"}

// TestRoles provisions the topology as the provisioner user (as `worker provision` does), has the
// worker user verify it (as the worker binary does at start), runs a worker against the
// simulator, publishes jobs as the producer, and then checks each role's rights in parallel
// subtests.
func TestRoles(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	topo := jobs.TopologyConfig{Names: names, Storage: jetstream.MemoryStorage, AckWait: 5 * time.Second}
	provisioner := connect(t, url, "provisioner")
	provisioner.allowed("provision", func(ctx context.Context) error { return jobs.Provision(ctx, provisioner.js, topo) })
	worker := connect(t, url, "worker")
	worker.allowed("verify the topology", func(ctx context.Context) error { return jobs.Verify(ctx, worker.js, topo) })
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 20, RateLimit: 1_000_000})
	runWorker(t, worker, sim)

	users := sim.Users()
	admin := users[slices.IndexFunc(users, func(u genesyssim.User) bool {
		return u.Active && !u.Deleted && slices.Contains(u.Roles(), "Master Admin")
	})]
	plain := users[slices.IndexFunc(users, func(u genesyssim.User) bool {
		return u.Active && !u.Deleted && !slices.Contains(u.Roles(), "Master Admin")
	})]
	producer := connect(t, url, "producer")
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	for id, u := range map[string]genesyssim.User{"acc-deactivate": plain, "acc-protected": admin} {
		producer.allowed("enqueue "+id, func(ctx context.Context) error {
			_, err := pub.Enqueue(ctx, jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr"})
			return err
		})
	}
	// The producer follows its jobs as enqueue --wait does: a watch on the status bucket.
	want := map[string]audit.Outcome{"acc-deactivate": audit.OutcomeDeactivated, "acc-protected": audit.OutcomeProtected}
	for id, outcome := range want {
		if st := waitDone(t, producer, id); st.Outcome != outcome {
			t.Fatalf("job %s ended %s, want %s", id, st.Outcome, outcome)
		}
	}
	if u, _ := sim.User(plain.ID); u.Active {
		t.Error("the worker did not deactivate the user")
	}
	// Undo: a reactivation reads the user's last deactivation event from the audit stream. Only
	// operators may publish reactivations.
	operator := connect(t, url, "operator")
	opPub, err := jobs.NewPublisher(operator.js, names)
	if err != nil {
		t.Fatal(err)
	}
	operator.allowed("enqueue acc-reactivate", func(ctx context.Context) error {
		_, err := opPub.Enqueue(ctx, jobs.Job{ID: "acc-reactivate", Action: jobs.ActionReactivate, User: jobs.UserRef{ID: plain.ID}, RequestedBy: "hr"})
		return err
	})
	if st := waitDone(t, operator, "acc-reactivate"); st.Outcome != audit.OutcomeReactivated {
		t.Fatalf("job acc-reactivate ended %s %q, want reactivated", st.Outcome, st.Error)
	}
	if u, _ := sim.User(plain.ID); !u.Active {
		t.Error("the worker did not reactivate the user")
	}

	t.Run("producer", func(t *testing.T) { t.Parallel(); checkProducer(t, url, connect(t, url, "producer")) })
	t.Run("worker", func(t *testing.T) { t.Parallel(); checkWorker(connect(t, url, "worker")) })
	t.Run("auditor", func(t *testing.T) { t.Parallel(); checkAuditor(t, connect(t, url, "auditor")) })
	t.Run("relay", func(t *testing.T) { t.Parallel(); checkRelay(t, connect(t, url, "relay")) })
	t.Run("operator", func(t *testing.T) { t.Parallel(); checkOperator(t, url, connect(t, url, "operator")) })
}

// runWorker runs a worker.Worker as the worker user until the test ends. It protects Master Admins,
// so that a job for one leaves a dead letter.
func runWorker(t *testing.T, c *client, sim *genesyssim.TestServer) {
	t.Helper()
	g, err := genesys.NewClient(sim.URL, genesys.WithCredentials("sim-client", "sim-secret"),
		genesys.WithLimiter(genesys.NewRateLimiter(1_000_000, time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(t.Context(), worker.Config{Names: names, JetStream: c.js, Genesys: g, Logger: zaptest.NewLogger(t),
		ID: "accounts-test", AckWait: 5 * time.Second, PollWait: 50 * time.Millisecond,
		Protect: worker.Protection{Roles: []string{"master admin"}}})
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker Run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// waitDone follows a job's status as c until it is done (at most 30 s).
func waitDone(t *testing.T, c *client, id string) jobs.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	store, err := jobs.NewStatusStore(ctx, c.js, names)
	if err != nil {
		t.Fatalf("%s: open status: %v", c.role, err)
	}
	w, err := store.Watch(ctx, id)
	if err != nil {
		t.Fatalf("%s: watch status: %v", c.role, err)
	}
	defer w.Stop() //nolint:errcheck
	for {
		select {
		case e := <-w.Updates():
			var st jobs.Status
			if e != nil && json.Unmarshal(e.Value(), &st) == nil && st.State == jobs.StateDone {
				return st
			}
		case <-ctx.Done():
			t.Fatalf("%s: job %s not done within 30s", c.role, id)
		}
	}
}

// readAll reads every message of stream on filter through an ack-less consumer.
func readAll(ctx context.Context, js jetstream.JetStream, stream, filter string) ([]jetstream.Msg, error) {
	cons, err := js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{FilterSubject: filter, AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute})
	if err != nil {
		return nil, err
	}
	n := cons.CachedInfo().NumPending
	if n == 0 {
		return nil, nil
	}
	batch, err := cons.Fetch(int(n), jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		return nil, err
	}
	var out []jetstream.Msg
	for m := range batch.Messages() {
		out = append(out, m)
	}
	return out, batch.Error()
}

// ctlAs runs genesysctl as the NATS user role.
func ctlAs(t *testing.T, url, role string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--nats-url", url, "--nats-user", role, "--nats-password", password(role))
	code := ctl.Main(t.Context(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}
