//go:build integration

package integration

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// stack is one deployment of the project for one scenario: its own network, NATS cluster,
// simulator, workers, webhook relay and sink, and a NATS connection of the test process through the mapped ports.
// Everything is removed when the test ends.
type stack struct {
	t       *testing.T
	docker  *testcontainers.DockerClient
	net     *testcontainers.DockerNetwork
	nats    *natsCluster
	sim     *simulator
	workers []*testcontainers.DockerContainer
	relay   *testcontainers.DockerContainer // relay run, delivering every audit event to the sink
	sink    *testcontainers.DockerContainer // relay sink
	names   jobs.Names
	nc      *nats.Conn
	js      jetstream.JetStream
	status  *jobs.StatusStore
}

// newStack starts a NATS cluster, the simulator and n workers, and waits until every worker is
// ready (its /readyz answers 200: streams provisioned, NATS connected, the self-check passed);
// then the sink and the relay.
func newStack(ctx context.Context, t *testing.T, n int) *stack {
	t.Helper()
	buildImages(t)
	s := &stack{t: t, docker: requireDocker(t)}
	nw, err := tcnetwork.New(ctx)
	testcontainers.CleanupNetwork(t, nw)
	if err != nil {
		t.Fatalf("network: %v", err)
	}
	s.net = nw
	s.nats = startCluster(ctx, t, nw)
	s.sim = startSimulator(ctx, t, nw)
	s.workers = make([]*testcontainers.DockerContainer, n)
	errs := make([]error, n)
	// The first worker provisions the R3 streams alone, so that the scenarios start alike; the
	// others start together once the streams exist. (Workers racing to create them on a fresh
	// cluster retry for up to a minute, jobs.Provision: the compose smoke test starts two at once.)
	s.workers[0], errs[0] = s.runWorker(ctx, 0)
	var wg sync.WaitGroup
	for i := 1; i < n && errs[0] == nil; i++ {
		wg.Go(func() { s.workers[i], errs[i] = s.runWorker(ctx, i) })
	}
	wg.Wait()
	for i, w := range s.workers {
		watchContainer(t, w, workerName(i))
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %s: %v", workerName(i), err)
		}
	}
	s.startRelay(ctx)
	s.connect(ctx)
	return s
}

func workerName(i int) string { return "worker-" + strconv.Itoa(i+1) }

// runWorker starts worker i: every NATS node, streams with three replicas, the simulator over
// plain HTTP with the explicit opt-in, and the fleet budget (the simulator's limit).
func (s *stack) runWorker(ctx context.Context, i int) (*testcontainers.DockerContainer, error) {
	return testcontainers.Run(ctx, imageName("worker"),
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		tcnetwork.WithNetwork([]string{workerName(i)}, s.net),
		testcontainers.WithName(s.net.Name+"-"+workerName(i)),
		testcontainers.WithEnv(map[string]string{"GENESYS_CLIENT_SECRET": simClientSecret}),
		testcontainers.WithCmd(
			"--nats-url", s.nats.innerURLs(), "--replicas", "3",
			"--base-url", "http://sim:8089", "--insecure-http", "--client-id", simClientID,
			"--rate-per-minute", strconv.Itoa(simBudget), "--worker-id", workerName(i),
			// The batch is one big offboarding on purpose: the mass-deactivation guard must not hold it.
			"--guard-limit", "100000",
			// Scenario 3's scheduled jobs are urgent, 40 of them: above the default urgent guard of 10.
			"--guard-urgent-limit", "100000",
			// The scenarios' budget arithmetic (a batch of 1,000 users spanning a few windows) is
			// the base plan's three calls per user; the contact-center steps run in the compose
			// smoke test and in pkg/worker's tests on a real NATS server.
			"--steps", "none",
			// and the read-back (two more calls per user, after a 2 s delay) is off for the same reason.
			"--verify=false",
			"--ack-wait", "10s", "--shutdown-timeout", "5s", "--http", ":8080",
		),
		testcontainers.WithExposedPorts("8080/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/readyz").WithPort("8080/tcp").
			WithPollInterval(250*time.Millisecond).WithStartupTimeout(90*time.Second)),
	)
}

// connect opens the test's own NATS connection to every node through the mapped ports.
func (s *stack) connect(ctx context.Context) {
	s.t.Helper()
	urls, err := s.nats.hostURLs(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	// The cluster gossips its nodes' inner addresses (nats-2:4222), which the host cannot reach.
	s.nc, err = nats.Connect(urls, nats.IgnoreDiscoveredServers(), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.Name("integration-test"))
	if err != nil {
		s.t.Fatalf("connect to NATS at %s: %v", urls, err)
	}
	s.t.Cleanup(s.nc.Close)
	if s.js, err = jetstream.New(s.nc); err != nil {
		s.t.Fatal(err)
	}
	// The workers provisioned the topology before they turned ready.
	if s.status, err = jobs.NewStatusStore(ctx, s.js, s.names); err != nil {
		s.t.Fatal(err)
	}
}

// kill sends SIGKILL to worker i: no graceful shutdown, its jobs in flight are left unacked.
func (s *stack) kill(ctx context.Context, i int) error {
	_, err := s.docker.ContainerKill(ctx, s.workers[i].GetContainerID(), client.ContainerKillOptions{Signal: "KILL"})
	return err
}

// restart stops worker i gracefully (SIGTERM, then SIGKILL after grace) and starts it again,
// returning when it is ready.
func (s *stack) restart(ctx context.Context, i int, grace time.Duration) error {
	if err := s.workers[i].Stop(ctx, &grace); err != nil {
		return err
	}
	return s.workers[i].Start(ctx)
}

// cut disconnects worker i from the stack's network: it keeps running but reaches neither NATS
// nor the simulator. reconnect undoes it.
func (s *stack) cut(ctx context.Context, i int) error {
	_, err := s.docker.NetworkDisconnect(ctx, s.net.ID, client.NetworkDisconnectOptions{Container: s.workers[i].GetContainerID(), Force: true})
	return err
}

func (s *stack) reconnect(ctx context.Context, i int) error {
	_, err := s.docker.NetworkConnect(ctx, s.net.ID, client.NetworkConnectOptions{
		Container:      s.workers[i].GetContainerID(),
		EndpointConfig: &network.EndpointSettings{Aliases: []string{workerName(i)}},
	})
	return err
}

// watchContainer removes c when the test ends and, if the test failed, first logs the tail of
// its output (the only way to see inside a scratch container).
func watchContainer(t *testing.T, c *testcontainers.DockerContainer, name string) {
	t.Helper()
	testcontainers.CleanupContainer(t, c)
	if c == nil {
		return
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rc, err := c.Logs(ctx)
		if err != nil {
			t.Logf("%s: no logs: %v", name, err)
			return
		}
		defer rc.Close()
		var tail []string
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			if tail = append(tail, sc.Text()); len(tail) > 30 {
				tail = tail[1:]
			}
		}
		t.Logf("last %d log lines of %s:\n%s", len(tail), name, joinLines(tail))
	})
}

func joinLines(lines []string) string {
	var out string
	for _, l := range lines {
		out += fmt.Sprintln("  ", l)
	}
	return out
}
