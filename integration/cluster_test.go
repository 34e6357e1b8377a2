//go:build integration

package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// natsNodes are the host names of the cluster's nodes on the Docker network; deploy/nats.conf
// routes to exactly these.
var natsNodes = []string{"nats-1", "nats-2", "nats-3"}

// natsCluster is three nats-server containers with JetStream on one network, each run with
// deploy/nats.conf as docker-compose.yml runs them.
type natsCluster struct {
	nodes []*testcontainers.DockerContainer // in the order of natsNodes
}

// innerURLs is the --nats-url of a container on the network: every node.
func (c *natsCluster) innerURLs() string {
	urls := make([]string, len(natsNodes))
	for i, n := range natsNodes {
		urls[i] = "nats://" + n + ":4222"
	}
	return strings.Join(urls, ",")
}

// hostURLs are the client URLs of the running nodes as the test process reaches them (mapped
// ports, which change when a node restarts).
func (c *natsCluster) hostURLs(ctx context.Context) (string, error) {
	var urls []string
	for _, n := range c.nodes {
		ep, err := n.PortEndpoint(ctx, "4222/tcp", "nats")
		if err != nil {
			continue // stopped
		}
		urls = append(urls, ep)
	}
	if len(urls) == 0 {
		return "", fmt.Errorf("no NATS node is running")
	}
	return strings.Join(urls, ","), nil
}

// startCluster starts the three nodes at once and returns when each answers /healthz, which
// needs the cluster formed and JetStream current.
func startCluster(ctx context.Context, t *testing.T, nw *testcontainers.DockerNetwork) *natsCluster {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := &natsCluster{nodes: make([]*testcontainers.DockerContainer, len(natsNodes))}
	errs := make([]error, len(natsNodes))
	var wg sync.WaitGroup
	for i, name := range natsNodes {
		wg.Go(func() {
			c.nodes[i], errs[i] = testcontainers.Run(ctx, natsImage(),
				testcontainers.WithLogger(tclog.NewNoopLogger()),
				network.WithNetwork([]string{name}, nw),
				testcontainers.WithName(nw.Name+"-"+name),
				testcontainers.WithEnv(map[string]string{"NATS_SERVER_NAME": name}),
				testcontainers.WithFiles(testcontainers.ContainerFile{
					HostFilePath: filepath.Join(root, "deploy", "nats.conf"), ContainerFilePath: "/etc/nats/nats.conf", FileMode: 0o644,
				}),
				testcontainers.WithCmd("--config", "/etc/nats/nats.conf"),
				testcontainers.WithExposedPorts("4222/tcp", "8222/tcp"),
				testcontainers.WithWaitStrategy(natsReady()),
			)
		})
	}
	wg.Wait()
	for i, n := range c.nodes {
		watchContainer(t, n, natsNodes[i])
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %s: %v", natsNodes[i], err)
		}
	}
	return c
}

// natsReady waits, from the host, for the node's monitoring /healthz: 200 once the node is in a
// cluster with a JetStream meta leader and its streams are current. No shell in the container.
func natsReady() wait.Strategy {
	return wait.ForHTTP("/healthz").WithPort("8222/tcp").
		WithPollInterval(250 * time.Millisecond).WithStartupTimeout(90 * time.Second)
}

// stopNode stops a node gracefully (SIGTERM; nats-server shuts down and its clients move to the
// other nodes). Its store stays in the container for startNode.
func (c *natsCluster) stopNode(ctx context.Context, i int) error {
	grace := 10 * time.Second
	return c.nodes[i].Stop(ctx, &grace)
}

// startNode starts a stopped node and waits until it has caught up (/healthz 200 again).
func (c *natsCluster) startNode(ctx context.Context, i int) error {
	return c.nodes[i].Start(ctx)
}
