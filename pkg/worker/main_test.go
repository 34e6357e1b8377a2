package worker_test

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// childEnv makes the test binary run as a worker process instead of the
// tests: TestPipelineWorkerKilledMidBatch starts it and kills it.
const childEnv = "JOBS_TEST_CHILD_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChildWorker())
	}
	goleak.VerifyTestMain(m,
		// Idle keep-alive connections of http.DefaultTransport clones outlive tests by design.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		natstest.IgnoreSourceSetup(),
	)
}

// runChildWorker is a worker process connected to the parent test's NATS
// server and simulator. It runs until it is killed.
func runChildWorker() int {
	nc, err := nats.Connect(os.Getenv("CHILD_NATS_URL"))
	if err != nil {
		return 2
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return 2
	}
	c, err := testbed.NewClient(os.Getenv("CHILD_SIM_URL"))
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	w, err := testbed.RunWorker(ctx, worker.Config{JetStream: js, Genesys: c, ID: "child", Concurrency: 4})
	if err != nil {
		return 2
	}
	<-ctx.Done()
	if err := w.Stop(); err != nil {
		return 1
	}
	return 0
}
