package enqueue_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
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

// bed is an internal/testbed bed: NATS with the topology provisioned and a Genesys simulator
// seeded like the dev org (genesyssim.Config{}); newWorkerBed adds a worker that protects the
// "Master Admin" role as the dev worker does.
type bed struct{ *testbed.T }

func newBed(t *testing.T) *bed { t.Helper(); return &bed{testbed.New(t, testbed.Config{})} }

// newWorkerBed is a bed with a running worker.
func newWorkerBed(t *testing.T) *bed {
	t.Helper()
	b := newBed(t)
	b.Worker(worker.Config{Protect: worker.Protection{Roles: []string{genesyssim.RoleMasterAdmin}}})
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
	return runMain(t, stdin, append([]string{"--nats-url", b.URL}, args...)...)
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
	s, err := b.JS.Stream(t.Context(), b.Names.JobsStream())
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
