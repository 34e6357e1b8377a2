// Package accounts_test checks deploy/nats-accounts.conf against a real nats-server loaded from
// that file: every role can do its job and is refused, with a permission error, what it must not
// do. The package has only tests.
package accounts_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// confPath is the file under test, relative to this package.
const confPath = "../../deploy/nats-accounts.conf"

// roles are the users of the config; each one's password comes from the environment variable
// GENESYS_NATS_<ROLE>_PASSWORD.
var roles = []string{"producer", "worker", "relay", "auditor", "operator", "provisioner", "ingress"}

// password is the example password of a role in these tests; never use it anywhere else.
func password(role string) string { return "test-only-" + role + "-password" }

func TestMain(m *testing.M) {
	// Set once before any test runs: t.Setenv is not allowed in parallel tests.
	for _, r := range roles {
		os.Setenv("GENESYS_NATS_"+strings.ToUpper(r)+"_PASSWORD", password(r))
	}
	os.Exit(m.Run())
}

// startServer runs nats-server with the config under test, on a random loopback port with its
// store in a temporary directory, until the test ends; it returns the client URL.
func startServer(t *testing.T) string {
	t.Helper()
	opts, err := server.ProcessConfigFile(confPath)
	if err != nil {
		t.Fatalf("load %s: %v", confPath, err)
	}
	opts.Host, opts.Port = "127.0.0.1", -1
	opts.StoreDir = t.TempDir()
	opts.JetStreamMaxMemory, opts.JetStreamMaxStore = 64<<20, 256<<20
	opts.NoLog, opts.NoSigs = true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready after 10s")
	}
	return s.ClientURL()
}

// client is one role's connection. The server reports a refused publish or subscribe
// asynchronously (-ERR 'Permissions Violation ...'); violations collects those reports.
type client struct {
	t          *testing.T
	role       string
	nc         *nats.Conn
	js         jetstream.JetStream
	violations chan string
}

func connect(t *testing.T, url, role string) *client {
	t.Helper()
	c := &client{t: t, role: role, violations: make(chan string, 64)}
	// Each role's replies arrive under its own inbox prefix, as the binaries do (natsconn).
	nc, err := nats.Connect(url, nats.UserInfo(role, password(role)), nats.Name("accounts-test-"+role),
		nats.CustomInboxPrefix(natsconn.InboxPrefixFor(role)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) {
				select {
				case c.violations <- err.Error():
				default:
				}
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", role, err)
	}
	t.Cleanup(nc.Close)
	if c.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	c.nc = nc
	return c
}

// A refused JetStream request gets no answer: deniedCall bounds how long it waits for one.
// violationWait bounds how long the server's report of the violation may take.
const (
	deniedCall    = time.Second
	violationWait = 3 * time.Second
)

// denied runs op, which must be refused: the server must report a permission violation for
// subject (a prefix of the refused subject is enough). JetStream calls also fail (they time out
// or fail fast), which op reports as its error; a core publish has no error to report, so
// mustFail says whether op's error is required.
func (c *client) denied(what, subject string, mustFail bool, op func(ctx context.Context) error) {
	c.t.Helper()
	for len(c.violations) > 0 { // forget earlier reports
		<-c.violations
	}
	ctx, cancel := context.WithTimeout(c.t.Context(), deniedCall)
	defer cancel()
	err := op(ctx)
	if mustFail && err == nil {
		c.t.Errorf("%s: %s was allowed", c.role, what)
		return
	}
	timer := time.NewTimer(violationWait)
	defer timer.Stop()
	for {
		select {
		case v := <-c.violations:
			if strings.Contains(v, subject) {
				return
			}
		case <-timer.C:
			c.t.Errorf("%s: %s failed (%v) without a permission violation for %s", c.role, what, err, subject)
			return
		}
	}
}

// allowed fails the test when op fails.
func (c *client) allowed(what string, op func(ctx context.Context) error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	if err := op(ctx); err != nil {
		var seen []string
		for len(c.violations) > 0 {
			seen = append(seen, <-c.violations)
		}
		c.t.Fatalf("%s: %s: %v (permission violations: %q)", c.role, what, err, seen)
	}
}

// provision provisions the test topology as the provisioner user, the one role that may (review D6).
func provision(t *testing.T, url string) {
	t.Helper()
	p := connect(t, url, "provisioner")
	p.allowed("provision", func(ctx context.Context) error {
		return jobs.Provision(ctx, p.js, jobs.TopologyConfig{Names: names, Storage: jetstream.MemoryStorage, AckWait: 5 * time.Second})
	})
}
