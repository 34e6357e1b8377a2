package enqueue_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
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

// bed is a NATS server with the topology provisioned and, when asked for, a worker carrying jobs
// out against a Genesys simulator seeded like the dev org (genesyssim.Config{}), which protects
// the "Master Admin" role as the dev worker does.
type bed struct {
	url   string
	js    jetstream.JetStream
	names jobs.Names
	sim   *genesyssim.TestServer
}

func newBed(t *testing.T) *bed {
	t.Helper()
	s, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	b := &bed{url: s.ClientURL(), js: js}
	if err := jobs.Provision(t.Context(), js, jobs.TopologyConfig{Names: b.names, Storage: jetstream.MemoryStorage, AckWait: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	return b
}

// newWorkerBed is a bed with a running worker.
func newWorkerBed(t *testing.T) *bed {
	t.Helper()
	b := newBed(t)
	b.sim = genesyssim.NewTestServer(t, genesyssim.Config{})
	client, err := genesys.NewClient(b.sim.URL,
		genesys.WithCredentials(genesyssim.DefaultClientID, genesyssim.DefaultClientSecret),
		genesys.WithLimiter(genesys.NewRateLimiter(1_000_000, time.Second)),
		genesys.WithMaxElapsedTime(2*time.Second),
	)
	if err != nil {
		t.Fatal(err)
	}
	w, err := jobs.NewWorker(t.Context(), jobs.WorkerConfig{
		Names: b.names, JetStream: b.js, Genesys: client, Logger: zaptest.NewLogger(t),
		Backoff: func(int) time.Duration { return 20 * time.Millisecond },
		AckWait: 5 * time.Second, PollWait: 50 * time.Millisecond,
		Protect: jobs.Protection{Roles: []string{genesyssim.RoleMasterAdmin}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("worker Run: %v", err)
			}
		})
	})
	return b
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the command against the bed's server with stdin.
func (b *bed) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runMain(t, stdin, append([]string{"--nats-url", b.url}, args...)...)
}

func runMain(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := enqueue.Main(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// published is how many messages the jobs stream has ever stored.
func (b *bed) published(t *testing.T) uint64 {
	t.Helper()
	s, err := b.js.Stream(t.Context(), b.names.JobsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

// example is the path of a file in the repository's examples directory.
func example(name string) string {
	return filepath.Join("..", "..", "examples", name) // tests run in the package directory
}
