package accounts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/workercmd"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// D6 of the 2026-12 review: only the provisioner may create or update streams and buckets, so
// that the worker, which writes the audit trail, cannot shrink it.

// ourStreams are the deployment's streams and bucket streams.
var ourStreams = []string{"GENESYS_JOBS", "GENESYS_AUDIT", "GENESYS_DEAD", "GENESYS_ADVISORIES", "GENESYS_SCHEDULED",
	"KV_genesys-status", "KV_genesys-budget", "KV_genesys-guard", "KV_genesys-locks"}

// shrink asks the server to keep one message of stream, discarding old ones (the review's probe),
// without looking the stream up first (which a role may not be allowed to do).
func shrink(c *client, stream string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		return jsRequest(ctx, c, "$JS.API.STREAM.UPDATE."+stream, jetstream.StreamConfig{
			Name: stream, Subjects: []string{"x." + stream}, MaxMsgs: 1, Discard: jetstream.DiscardOld, Storage: jetstream.MemoryStorage,
		})
	}
}

// jsRequest sends a JetStream API request and turns an error answer into an error.
func jsRequest(ctx context.Context, c *client, subject string, body any) error {
	req, err := json.Marshal(body)
	if err != nil {
		return err
	}
	msg, err := c.nc.RequestWithContext(ctx, subject, req)
	if err != nil {
		return err
	}
	var resp struct {
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return err
	}
	if resp.Error != nil {
		return errorString("refused by JetStream: " + resp.Error.Description)
	}
	return nil
}

// denyStreamUpdates checks that c may not update any of our streams.
func denyStreamUpdates(c *client) {
	c.t.Helper()
	for _, s := range ourStreams {
		c.denied("update stream "+s+" to keep one message", "$JS.API.STREAM.UPDATE."+s, true, shrink(c, s))
	}
}

// checkWorkerStreams is the worker's part of D6: no create, update or delete of any stream or
// bucket, no change to the lane consumers; the review's probe leaves the audit stream whole.
func checkWorkerStreams(c *client) {
	t := c.t
	var before jetstream.StreamConfig
	var msgs uint64
	c.allowed("read the audit stream's info", func(ctx context.Context) error {
		s, err := c.js.Stream(ctx, "GENESYS_AUDIT")
		if err == nil {
			before, msgs = s.CachedInfo().Config, s.CachedInfo().State.Msgs
		}
		return err
	})
	probe := before
	probe.MaxMsgs, probe.Discard = 1, jetstream.DiscardOld
	c.denied("shrink the audit stream (review probe 60)", "$JS.API.STREAM.UPDATE.GENESYS_AUDIT", true, func(ctx context.Context) error {
		_, err := c.js.UpdateStream(ctx, probe)
		return err
	})
	denyStreamUpdates(c)
	for _, s := range ourStreams {
		c.denied("create stream "+s, "$JS.API.STREAM.CREATE."+s, true, func(ctx context.Context) error {
			return jsRequest(ctx, c, "$JS.API.STREAM.CREATE."+s, jetstream.StreamConfig{Name: s, Subjects: []string{"x." + s}, Storage: jetstream.MemoryStorage})
		})
		c.denied("delete stream "+s, "$JS.API.STREAM.DELETE."+s, true, func(ctx context.Context) error {
			return jsRequest(ctx, c, "$JS.API.STREAM.DELETE."+s, nil)
		})
	}
	c.denied("create a stream of its own", "$JS.API.STREAM.CREATE.WORKER_OWN", true, func(ctx context.Context) error {
		_, err := c.js.CreateStream(ctx, jetstream.StreamConfig{Name: "WORKER_OWN", Subjects: []string{"worker.own"}, Storage: jetstream.MemoryStorage})
		return err
	})
	for _, name := range []string{"workers-urgent", "workers-normal", "workers-at"} {
		c.denied("change consumer "+name, "$JS.API.CONSUMER.CREATE.GENESYS_JOBS."+name, true, func(ctx context.Context) error {
			_, err := c.js.CreateOrUpdateConsumer(ctx, "GENESYS_JOBS", jetstream.ConsumerConfig{
				Durable: name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Hour, FilterSubject: "genesys.jobs.urgent",
			})
			return err
		})
	}
	c.allowed("read the audit stream's info again", func(ctx context.Context) error {
		s, err := c.js.Stream(ctx, "GENESYS_AUDIT")
		if err != nil {
			return err
		}
		if got := s.CachedInfo(); got.Config.MaxMsgs != before.MaxMsgs || got.Config.Discard != before.Discard || got.State.Msgs < msgs {
			t.Errorf("audit stream changed: max msgs %d, discard %s, %d messages (was %d, %s, %d)",
				got.Config.MaxMsgs, got.Config.Discard, got.State.Msgs, before.MaxMsgs, before.Discard, msgs)
		}
		return nil
	})
}

// The provisioner changes streams and consumers, nothing else.
func TestProvisionerMayProvisionOnly(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	var out, errOut strings.Builder
	args := []string{"provision", "--nats-url", url, "--nats-user", "provisioner", "--nats-password", password("provisioner")}
	if code := workercmd.Main(t.Context(), args, &out, &errOut); code != 0 {
		t.Fatalf("worker provision as provisioner: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if code := workercmd.Main(t.Context(), append(args, "--check"), &out, &errOut); code != 0 {
		t.Fatalf("worker provision --check as provisioner: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	c := connect(t, url, "provisioner")
	c.denied("delete the audit stream", "$JS.API.STREAM.DELETE.GENESYS_AUDIT", true, func(ctx context.Context) error {
		return c.js.DeleteStream(ctx, "GENESYS_AUDIT")
	})
	c.denied("purge the jobs stream", "$JS.API.STREAM.PURGE.GENESYS_JOBS", true, func(ctx context.Context) error {
		return jsRequest(ctx, c, "$JS.API.STREAM.PURGE.GENESYS_JOBS", nil)
	})
	c.denied("publish a job", "genesys.jobs.normal", true, enqueueJob(c))
	c.denied("publish an audit event", "genesys.audit.user", true, publishUserEvent(c))
	c.denied("write the status bucket", "$KV.genesys-status", true, putStatus(c))
	c.denied("take a job", "$JS.API.CONSUMER.MSG.NEXT.GENESYS_JOBS.workers-urgent", true, func(ctx context.Context) error {
		cons, err := c.js.Consumer(ctx, "GENESYS_JOBS", "workers-urgent")
		if err != nil {
			return err
		}
		_, err = cons.Next(jetstream.FetchMaxWait(500 * time.Millisecond))
		return err
	})
}

// workerArgs are the worker binary's flags for the accounts server and the simulator, as user.
func workerArgs(url, user string, sim *genesyssim.TestServer, extra ...string) []string {
	return append([]string{"--nats-url", url, "--nats-user", user, "--nats-password", password(user),
		"--base-url", sim.URL, "--client-id", "sim-client", "--client-secret", "sim-secret", "--http", "",
		"--rate-per-minute", "1000000", "--skip-self-check", "--log-format", "console"}, extra...)
}

// syncBuffer is a strings.Builder the worker's logger and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// The worker binary runs on the provisioned topology as the worker user, and refuses to run,
// naming the difference and the fix, on a missing one or one the provisioner weakened.
func TestWorkerRunsOnlyOnTheRequiredTopology(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})

	var logs syncBuffer
	code := refusedMain(t, workerArgs(url, "worker", sim), &logs)
	if code != 1 || !strings.Contains(logs.String(), "stream GENESYS_AUDIT is missing") ||
		!strings.Contains(logs.String(), "NATS user worker may not provision") || !strings.Contains(logs.String(), "worker provision --prefix genesys") {
		t.Fatalf("worker on an empty server: exit %d, want 1 naming what is missing and the fix\n%s", code, logs.String())
	}

	prov := []string{"provision", "--nats-url", url, "--nats-user", "provisioner", "--nats-password", password("provisioner")}
	if code := workercmd.Main(t.Context(), prov, io.Discard, io.Discard); code != 0 {
		t.Fatalf("worker provision: exit %d", code)
	}
	runs(t, url, sim)

	// The provisioner shortens the audit stream's max age and caps its messages: workers stop.
	p := connect(t, url, "provisioner")
	p.allowed("weaken the audit stream", func(ctx context.Context) error {
		s, err := p.js.Stream(ctx, "GENESYS_AUDIT")
		if err != nil {
			return err
		}
		sc := s.CachedInfo().Config
		sc.MaxAge, sc.MaxMsgs = 48*time.Hour, 5
		_, err = p.js.UpdateStream(ctx, sc)
		return err
	})
	for _, mode := range []string{"auto", "verify"} {
		logs = syncBuffer{}
		code := refusedMain(t, workerArgs(url, "worker", sim, "--provision", mode), &logs)
		for _, want := range []string{"GENESYS_AUDIT max age 48h0m0s (want at least 9600h0m0s)", "GENESYS_AUDIT max messages 5", "worker provision --prefix genesys --replicas 1 --ack-wait 30s"} {
			if code != 1 || !strings.Contains(logs.String(), want) {
				t.Errorf("--provision %s on a weakened audit stream: exit %d, want 1 naming %q\n%s", mode, code, want, logs.String())
			}
		}
	}
	var out, errOut strings.Builder
	if code := workercmd.Main(t.Context(), append(prov, "--check"), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "GENESYS_AUDIT max age") {
		t.Errorf("worker provision --check: exit %d, stderr %q; want 1 naming the max age", code, errOut.String())
	}
	// Provisioning again repairs it, and workers run again.
	if code := workercmd.Main(t.Context(), prov, io.Discard, io.Discard); code != 0 {
		t.Fatalf("worker provision: exit %d", code)
	}
	runs(t, url, sim)
}

// refusedMain runs the worker binary, which should refuse to start; were it to run, it is stopped
// after 30 s and reports its exit status 0.
func refusedMain(t *testing.T, args []string, logs io.Writer) int {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return workercmd.Main(ctx, args, io.Discard, logs)
}

// runs starts the worker binary as the worker user, has the producer enqueue a job and wait for it
// (the producer's replies come through its own inbox prefix), and stops the worker.
func runs(t *testing.T, url string, sim *genesyssim.TestServer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var logs syncBuffer
	done := make(chan int, 1)
	go func() { done <- workercmd.Main(ctx, workerArgs(url, "worker", sim), io.Discard, &logs) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	users := sim.Users()
	u := users[slices.IndexFunc(users, func(u genesyssim.User) bool {
		return u.Active && !u.Deleted && !slices.Contains(u.Roles(), "Master Admin")
	})]
	producer := connect(t, url, "producer")
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("topology-%d", time.Now().UnixNano())
	producer.allowed("enqueue", func(ctx context.Context) error {
		_, err := pub.Enqueue(ctx, jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr"})
		return err
	})
	select {
	case code := <-done:
		stopped = true
		t.Fatalf("worker exited %d on the provisioned topology\n%s", code, logs.String())
	default:
	}
	if st := waitDone(t, producer, id); st.State != jobs.StateDone {
		t.Fatalf("job %s: %+v", id, st)
	}
	cancel()
	stopped = true
	if code := <-done; code != 0 {
		t.Errorf("worker exit %d after stop, want 0\n%s", code, logs.String())
	}
}
