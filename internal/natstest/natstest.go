// Package natstest starts a real NATS server with JetStream inside a test process, so that package
// tests exercise the server they will run against instead of a mock.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

// Start runs a NATS server with JetStream on a random loopback port, storing its data in a
// temporary directory, and returns it with a connected client. Both are shut down when the test
// and its subtests have finished; the caller must not close them itself. JetStream storage is
// capped (64 MiB memory, 256 MiB file) because the machine is shared.
func Start(t testing.TB) (*server.Server, *nats.Conn) {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host:               "127.0.0.1",
		Port:               -1,
		JetStream:          true,
		StoreDir:           t.TempDir(),
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  256 << 20,
		NoLog:              true,
		NoSigs:             true,
	})
	if err != nil {
		t.Fatalf("natstest: new server: %v", err)
	}
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("natstest: server not ready after 10s")
	}
	nc, err := nats.Connect(s.ClientURL(), nats.Name(t.Name()))
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close) // runs before the server shuts down (cleanups run last-in first-out)
	return s, nc
}

// IgnoreSourceSetup is the goleak option every package whose tests provision the topology passes
// to goleak.VerifyTestMain: nats-server v2.15.2 waits for the answer to a stream source's consumer
// create with no way to stop it but its 30 s timer (server/stream.go:4492, 4689), so a server shut
// down while GENESYS_JOBS sets up its source from GENESYS_SCHEDULED leaves that goroutine behind
// for up to 30 s.
func IgnoreSourceSetup() goleak.Option {
	return goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*stream).trySetupSourceConsumer.func3")
}
