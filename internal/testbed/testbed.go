// Package testbed is the one test bed of this repository: a real in-process nats-server with the
// topology provisioned, the Genesys simulator on loopback, and what tests and benchmarks use to
// run workers, enqueue jobs and wait for their results, on events (KV watches, stream consumers,
// the simulator's requests), never on sleep loops.
//
// Start builds a bed for code that is not a test (bench/); the caller calls Close. New builds one
// for a test: it fails the test on any error and closes the bed when the test ends. Everything
// the worker needs is in worker.go, so that moving the worker to its own package is one edit.
package testbed

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Timeout bounds every wait of a test bed (T) that has no deadline of its own.
const Timeout = 30 * time.Second

// Config says what a bed runs. The zero value is the bed most tests want.
type Config struct {
	// Sim configures the simulator. Defaults to genesyssim's defaults.
	Sim genesyssim.Config
	// Topology is what Provision creates; Names is the bed's. Defaults to memory storage and an
	// AckWait of 5 s (as the workers' default, see WorkerDefaults).
	Topology jobs.TopologyConfig
	// FileStorage keeps JetStream on disk in a temporary directory, with larger limits (512 MiB
	// memory, 1 GiB file): what the benchmarks measure. Defaults to memory (64 MiB / 256 MiB).
	FileStorage bool
	// NoProvision starts NATS without the topology (for tests of Provision itself, or of
	// commands that must refuse an unprovisioned server).
	NoProvision bool
}

// bedInbox starts the reply subjects of the bed's own connection, so that Activity can tell the
// bed's messages (a condition reading a stream, say) from the ones of what it watches.
const bedInbox = "_TESTBED"

// Bed is a running test bed. Its fields are set by Start and are read-only. It is safe for
// concurrent use; Close ends it.
type Bed struct {
	Server *server.Server
	URL    string     // NATS client URL
	NC     *nats.Conn // the bed's own connection; workers get their own
	JS     jetstream.JetStream
	Names  jobs.Names

	Sim    *genesyssim.Server
	SimURL string // base URL of the simulator, without a trailing slash

	Pub    *jobs.Publisher   // nil with NoProvision
	Status *jobs.StatusStore // nil with NoProvision

	natsOpts   *server.Options // what RestartNATS starts again
	simChanges *broadcast
	pauses     *broadcast // see PauseChanges
	closers    []func()
}

// Start runs a bed until Close. It is for code that is not a test; tests use New.
func Start(ctx context.Context, cfg Config) (_ *Bed, err error) {
	b := &Bed{Names: cfg.Topology.Names, simChanges: newBroadcast(), pauses: newBroadcast()}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if err := b.startNATS(cfg.FileStorage); err != nil {
		return nil, err
	}
	if err := b.startSim(cfg.Sim); err != nil {
		return nil, err
	}
	if cfg.NoProvision {
		return b, nil
	}
	topo := cfg.Topology
	topo.Storage = jetstream.MemoryStorage
	if cfg.FileStorage {
		topo.Storage = jetstream.FileStorage
	}
	topo.AckWait = cmp.Or(topo.AckWait, defaultAckWait)
	if err := jobs.Provision(ctx, b.JS, topo); err != nil {
		return nil, err
	}
	if b.Pub, err = jobs.NewPublisher(b.JS, b.Names); err != nil {
		return nil, err
	}
	if b.Status, err = jobs.NewStatusStore(ctx, b.JS, b.Names); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Bed) startNATS(onDisk bool) error {
	dir, err := os.MkdirTemp("", "testbed-nats-")
	if err != nil {
		return err
	}
	b.closers = append(b.closers, func() { os.RemoveAll(dir) })
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir,
		JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 256 << 20, NoLog: true, NoSigs: true}
	if onDisk {
		opts.JetStreamMaxMemory, opts.JetStreamMaxStore = 512<<20, 1<<30
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("testbed: nats server: %w", err)
	}
	srv.Start()
	b.closers = append(b.closers, func() { b.Server.Shutdown(); b.Server.WaitForShutdown() })
	b.Server = srv
	if !srv.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("testbed: nats server not ready after 10s")
	}
	b.URL, b.natsOpts = srv.ClientURL(), opts.Clone()
	b.natsOpts.Port = srv.Addr().(*net.TCPAddr).Port
	if b.NC, err = nats.Connect(b.URL, nats.CustomInboxPrefix(bedInbox)); err != nil {
		return fmt.Errorf("testbed: connect: %w", err)
	}
	b.closers = append(b.closers, b.NC.Close)
	b.JS, err = jetstream.New(b.NC)
	return err
}

// RestartNATS shuts the NATS server down and starts it again on the same port and store
// directory, as an operator's restart would; the bed's and the workers' connections reconnect by
// themselves. Only a bed with FileStorage keeps its streams across it. Call it from the test's
// goroutine, while nothing else reads Server.
func (b *Bed) RestartNATS() error {
	b.Server.Shutdown()
	b.Server.WaitForShutdown()
	srv, err := server.NewServer(b.natsOpts.Clone())
	if err != nil {
		return fmt.Errorf("testbed: restart nats server: %w", err)
	}
	srv.Start()
	b.Server = srv
	if !srv.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("testbed: nats server not ready 10s after its restart")
	}
	return nil
}

// startSim serves the simulator through a handler that tells SimChanges about each request.
func (b *Bed) startSim(cfg genesyssim.Config) error {
	sim, err := genesyssim.New(cfg)
	if err != nil {
		return fmt.Errorf("testbed: simulator: %w", err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sim.ServeHTTP(w, r)
		b.simChanges.notify()
	}))
	b.closers = append(b.closers, hs.Close)
	b.Sim, b.SimURL = sim, hs.URL
	return nil
}

// Close stops the simulator and NATS and removes their data. It is safe to call twice.
func (b *Bed) Close() {
	for _, c := range slices.Backward(b.closers) {
		c()
	}
	b.closers = nil
}

// ActiveUsers returns up to n simulator users that a deactivation would change, in the
// simulator's order; n < 0 means all of them.
func (b *Bed) ActiveUsers(n int) []genesyssim.User {
	us := slices.DeleteFunc(b.Sim.Users(), func(u genesyssim.User) bool { return !u.Active || u.Deleted })
	if n < 0 {
		return us
	}
	return us[:min(n, len(us))]
}

// Refs refers to each user by id.
func Refs(users []genesyssim.User) []jobs.UserRef {
	refs := make([]jobs.UserRef, 0, len(users))
	for _, u := range users {
		refs = append(refs, jobs.UserRef{ID: u.ID})
	}
	return refs
}
