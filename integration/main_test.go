//go:build integration

package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

func TestMain(m *testing.M) {
	// Before any testcontainers call: its configuration is read once.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" && engineOnThisMachine() {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	os.Exit(m.Run())
}

// engineOnThisMachine reports whether the Docker engine runs in this machine's own network
// namespace, where published ports are on 127.0.0.1. Testcontainers assumes otherwise whenever it
// finds /.dockerenv (it then dials the default gateway, as from a container that shares the
// host's socket), which is wrong in a sandbox container that runs its own engine: there the
// engine's bridge, docker0, is one of our own interfaces.
func engineOnThisMachine() bool {
	host := os.Getenv("DOCKER_HOST")
	if host != "" && !strings.HasPrefix(host, "unix://") {
		return false
	}
	_, err := net.InterfaceByName("docker0")
	return err == nil
}

var (
	dockerOnce sync.Once
	dockerCli  *testcontainers.DockerClient
	dockerErr  error
)

// requireDocker returns a client of the Docker engine, or skips the test when none answers
// (fails it when GENESYS_REQUIRE_DOCKER=1).
func requireDocker(t *testing.T) *testcontainers.DockerClient {
	t.Helper()
	dockerOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		dockerCli, dockerErr = testcontainers.NewDockerClientWithOpts(ctx)
		if dockerErr == nil {
			_, dockerErr = dockerCli.Info(ctx, client.InfoOptions{})
		}
	})
	if dockerErr != nil {
		msg := fmt.Sprintf("no Docker engine answers (%v); the container tests need one", dockerErr)
		if os.Getenv("GENESYS_REQUIRE_DOCKER") == "1" {
			t.Fatal(msg + " and GENESYS_REQUIRE_DOCKER=1 requires them")
		}
		t.Skip(msg + "; set GENESYS_REQUIRE_DOCKER=1 to make this a failure")
	}
	return dockerCli
}

// scenarioContext bounds a scenario's wall time: everything it waits for ends with the context.
func scenarioContext(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	t.Cleanup(func() {
		cancel()
		t.Logf("scenario %s took %s (limit %s)", t.Name(), time.Since(start).Round(100*time.Millisecond), limit)
	})
	return ctx
}
