package workercmd

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{} // closed by the next Write; nil until someone waits
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written != nil {
		close(s.written)
		s.written = nil
	}
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// waitFor waits, at most within, until cond holds of what was written, asking it again after
// each write.
func (s *syncBuffer) waitFor(t *testing.T, within time.Duration, what string, cond func(string) bool) {
	t.Helper()
	timeout := time.After(within)
	for {
		s.mu.Lock()
		text := s.b.String()
		if s.written == nil {
			s.written = make(chan struct{})
		}
		written := s.written
		s.mu.Unlock()
		if cond(text) {
			return
		}
		select {
		case <-written:
		case <-timeout:
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
	}
}

// says is a condition of waitFor: the text holds want.
func says(want string) func(string) bool {
	return func(text string) bool { return strings.Contains(text, want) }
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestEveryFlagHasUsage(t *testing.T) {
	t.Parallel()
	var cfg Config
	fs := newFlagSet(&cfg, io.Discard)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		if strings.TrimSpace(f.Usage) == "" {
			t.Errorf("flag --%s has no usage text", f.Name)
		}
		if !strings.HasPrefix(f.Name, "nats-") && !strings.Contains(f.Usage, "(env GENESYS_") {
			t.Errorf("flag --%s does not name its environment variable", f.Name)
		}
	})
	if n < 30 {
		t.Errorf("only %d flags", n)
	}
	var out bytes.Buffer
	if code := Main(t.Context(), []string{"--help"}, &out, &out); code != 0 || !strings.Contains(out.String(), "--client-secret-file") {
		t.Errorf("--help: exit %d\n%s", code, out.String())
	}
}

func TestUsageNeverShowsSecretsFromTheEnvironment(t *testing.T) {
	t.Setenv("GENESYS_CLIENT_SECRET", "ENV-SECRET-42")
	t.Setenv("NATS_PASSWORD", "ENV-NATS-SECRET-43")
	t.Setenv("NATS_TOKEN", "ENV-NATS-TOKEN-44")
	var out bytes.Buffer
	if code := Main(context.Background(), []string{"--client-secrt", "typo"}, &out, &out); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	for _, secret := range []string{"ENV-SECRET-42", "ENV-NATS-SECRET-43", "ENV-NATS-TOKEN-44"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("usage shows %s", secret)
		}
	}
	var cfg Config
	newFlagSet(&cfg, io.Discard)
	if cfg.ClientSecret != "ENV-SECRET-42" {
		t.Errorf("GENESYS_CLIENT_SECRET not read: %q", cfg.ClientSecret)
	}
}

// Every flag that shapes the worker reaches its configuration.
func TestFlagsReachTheWorker(t *testing.T) {
	t.Parallel()
	var cfg Config
	fs := newFlagSet(&cfg, io.Discard)
	err := fs.Parse([]string{"--worker-id", "w7", "--concurrency", "9", "--max-attempts", "6", "--ack-wait", "45s",
		"--shutdown-timeout", "7s", "--probe-interval", "3s", "--protect-roles", "Admin, Master Admin", "--protect-users", "a@b.c",
		"--guard-limit", "11", "--guard-urgent-limit", "2", "--guard-reactivate-limit", "3", "--guard-window", "30m", "--remove-grants-on-conflict", "--snapshot-grants", "--snapshot-queues",
		"--scheduled-keep", "720h", "--delete-after", "720h", "--delete-method", "users", "--guard-delete-limit", "4",
		"--verify-delay", "500ms", "--on-unverified", "retry"})
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.workerConfig()
	want := worker.Config{ID: "w7", Concurrency: 9, MaxAttempts: 6, AckWait: 45 * time.Second, ShutdownTimeout: 7 * time.Second,
		ProbeInterval: 3 * time.Second, ScheduledKeep: 720 * time.Hour,
		Protect: worker.Protection{Roles: []string{"Admin", "Master Admin"}, UserIDs: []string{"a@b.c"}, UserNames: []string{"a@b.c"}, ExternalIDs: []string{"a@b.c"}},
		Guard:   jobs.GuardConfig{Limit: 11, UrgentLimit: 2, Window: 30 * time.Minute}, RemoveGrantsOnConflict: true, SnapshotGrants: true, SnapshotQueues: true,
		ReactivateGuard: jobs.GuardConfig{Limit: 3, Window: 30 * time.Minute},
		Steps:           worker.DefaultSteps(), OAuthClientPolicy: worker.OAuthClientsReport,
		DeleteAfter: 720 * time.Hour, DeleteMethod: worker.DeleteUsers, DeleteGuard: jobs.GuardConfig{Limit: 4, Window: 30 * time.Minute},
		Verify: true, VerifyDelay: 500 * time.Millisecond, OnUnverified: worker.OnUnverifiedRetry}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("worker config\n got %+v\nwant %+v", got, want)
	}
}

func TestBadConfigurationExits2(t *testing.T) {
	t.Parallel()
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("s3cret\n"), 0o600)
	base := []string{"--region", "eu-central-1", "--client-id", "id", "--client-secret-file", secretFile}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, "flag provided but not defined"},
		{"argument", append(base, "extra"), "unexpected argument"},
		{"no region", []string{"--client-id", "id", "--client-secret-file", secretFile}, "set --region or --base-url"},
		{"unknown region", []string{"--region", "mars-1", "--client-id", "id", "--client-secret-file", secretFile}, "not a Genesys Cloud region"},
		{"no client id", []string{"--region", "us-east-1", "--client-secret-file", secretFile}, "set --client-id"},
		{"missing secret file", []string{"--region", "us-east-1", "--client-id", "id", "--client-secret-file", "/nonexistent/secret"}, "cannot read /nonexistent/secret"},
		{"no secret", []string{"--region", "us-east-1", "--client-id", "id"}, "set --client-secret-file"},
		{"two NATS auth methods", append(base, "--nats-user", "u", "--nats-token", "t"), "one NATS authentication method"},
		{"bad concurrency", append(base, "--concurrency", "0"), "--concurrency"},
		{"bad prefix", append(base, "--prefix", "a..b"), "prefix"},
		{"bad log format", append(base, "--log-format", "xml"), "--log-format"},
		{"bad log level", append(base, "--log-level", "loud"), "--log-level"},
		{"bad duration", append(base, "--ack-wait", "soon"), "invalid value"},
		{"scheduled keep under 1s", append(base, "--scheduled-keep", "500ms"), "--scheduled-keep"},
		{"unknown step", append(base, "--steps", "default,queuez"), `--steps: unknown step "queuez"; the optional steps are: `},
		{"none and a step", append(base, "--steps", "none,all"), "'none' cannot be combined"},
		{"bad OAuth client policy", append(base, "--oauth-clients-policy", "delete"), `--oauth-clients-policy "delete": want report or disable`},
		{"bad delete method", append(base, "--delete-method", "hard"), `--delete-method "hard": want scim or users`},
		{"negative delete-after", append(base, "--delete-after", "-1h"), `--delete-after and --guard-delete-limit must not be negative`},
		{"bad on-unverified", append(base, "--on-unverified", "ignore"), `--on-unverified "ignore": want alert or retry`},
		{"negative verify-delay", append(base, "--verify-delay", "-1s"), `--verify-delay must not be negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			if code := Main(t.Context(), tt.args, &out, &errb); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q does not say %q", errb.String(), tt.want)
			}
		})
	}
}

// env is a NATS server (not provisioned) and a simulator for running the worker against.
type env struct {
	bed    *testbed.T
	ns     *server.Server
	js     jetstream.JetStream
	sim    *genesyssim.Server
	simURL string
}

func newEnv(t *testing.T, simCfg genesyssim.Config) *env {
	t.Helper()
	b := testbed.New(t, testbed.Config{Sim: simCfg, NoProvision: true})
	return &env{bed: b, ns: b.Server, js: b.JS, sim: b.Sim, simURL: b.SimURL}
}

func (e *env) args(extra ...string) []string {
	return append([]string{"--nats-url", e.ns.ClientURL(), "--base-url", e.simURL, "--client-id", "sim-client",
		"--client-secret", "sim-secret", "--http", "", "--rate-per-minute", "1000000", "--probe-interval", "200ms"}, extra...)
}

// start runs Main in the background; the returned function stops it and
// returns its exit status and how long the shutdown took.
func start(t *testing.T, args []string, stderr io.Writer) func() (int, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- Main(ctx, args, io.Discard, stderr) }()
	var once sync.Once
	var code int
	var took time.Duration
	stop := func() (int, time.Duration) {
		once.Do(func() {
			begin := time.Now()
			cancel()
			code = <-done
			took = time.Since(begin)
		})
		return code, took
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestGracefulShutdownWithJobsInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, genesyssim.Config{Users: 40, RateLimit: 1_000_000, Faults: genesyssim.Faults{
		LatencyMin: 400 * time.Millisecond, LatencyMax: 400 * time.Millisecond, Routes: []string{"DELETE /api/v2/tokens/{userId}"},
	}})
	var logs syncBuffer
	stop := start(t, e.args("--shutdown-timeout", "100ms", "--concurrency", "4", "--skip-self-check"), &logs)
	logs.waitFor(t, 10*time.Second, "the worker to start (after it provisioned the topology)", says("worker started"))
	pub, err := jobs.NewPublisher(e.js, jobs.Names{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, u := range e.sim.Users() {
		if u.Active && !u.Deleted && !slices.Contains(u.Roles(), "Master Admin") && len(ids) < 12 {
			id := fmt.Sprintf("shutdown-%d", i)
			ids = append(ids, id)
			if _, err := pub.Enqueue(t.Context(), jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "test"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Wait until jobs are in flight (their token revocation is slow), then stop.
	testbed.WaitFor(t, "jobs in flight", e.bed.SimChanges(), testbed.Until[struct{}](func() bool {
		return len(e.sim.Requests()) > 0 && strings.Contains(fmt.Sprint(e.sim.Counters().ByRoute), "PATCH")
	}))
	code, took := stop()
	if code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0\n%s", code, logs.String())
	}
	if took > 3*time.Second {
		t.Errorf("shutdown took %s with a 100ms timeout", took)
	}
	if !strings.Contains(logs.String(), "handing the job back") {
		t.Fatalf("no job was in flight at shutdown; the test proves nothing:\n%s", logs.String())
	}
	// A second worker finishes everything: nothing lost, no attempt spent.
	stop2 := start(t, e.args("--skip-self-check", "--concurrency", "8"), &logs)
	statuses := e.bed.WaitDone(ids...)
	for _, id := range ids {
		if st := statuses[id]; st.State != jobs.StateDone || st.Outcome != audit.OutcomeDeactivated || len(st.Attempts) != 0 {
			t.Errorf("job %s: %s with attempts %v", id, st.Outcome, st.Attempts)
		}
	}
	if code, _ := stop2(); code != 0 {
		t.Errorf("second worker exit %d", code)
	}
}

func TestSelfCheckNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		client genesyssim.Client
		secret string
		want   string
	}{
		{"wrong secret", genesyssim.Client{ID: "sim-client", Secret: "other"}, "sim-secret", "refused the OAuth client credentials"},
		{"no edit permission", genesyssim.Client{ID: "sim-client", Secret: "sim-secret", Permissions: []string{"oauth:token:delete"}}, "sim-secret", "directory:user:edit"},
		{"no token permission", genesyssim.Client{ID: "sim-client", Secret: "sim-secret", Permissions: []string{"directory:user:edit"}}, "sim-secret", "oauth:token:delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, genesyssim.Config{Users: 5, Clients: []genesyssim.Client{tt.client}})
			var logs syncBuffer
			code := Main(t.Context(), e.args(), io.Discard, &logs)
			if code != 1 || !strings.Contains(logs.String(), tt.want) {
				t.Errorf("exit %d, logs do not name %q:\n%s", code, tt.want, logs.String())
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := newEnv(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	addr := freeAddr(t)
	var logs syncBuffer
	start(t, append(e.args(), "--http", addr), &logs)
	url := "http://" + addr
	// The worker is ready once it says it started (its HTTP listener is bound before).
	logs.waitFor(t, 10*time.Second, "the worker to start", says("worker started"))
	if code := Main(t.Context(), []string{"healthcheck", "--url", url + "/readyz"}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("healthcheck /readyz exit %d after the worker started\n%s", code, logs.String())
	}
	if code := Main(t.Context(), []string{"healthcheck", "--url", url + "/healthz"}, io.Discard, io.Discard); code != 0 {
		t.Errorf("healthcheck /healthz exit %d", code)
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"genesys_api_requests_total", "genesys_consumer_pending_jobs", "genesys_fleet_paused", "go_goroutines"} {
		if !strings.Contains(string(body), name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// Genesys refuses us: the fleet pauses and readiness turns false.
	if err := e.sim.SetClientEnabled("sim-client", false); err != nil {
		t.Fatal(err)
	}
	pub, _ := jobs.NewPublisher(e.js, jobs.Names{})
	if _, err := pub.Enqueue(t.Context(), jobs.Job{ID: "ready-1", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: e.sim.Users()[0].ID}, RequestedBy: "t"}); err != nil {
		t.Fatal(err)
	}
	// The worker logs the pause after it paused; readiness is false from then on.
	logs.waitFor(t, 10*time.Second, "the fleet to pause", says("pausing the fleet"))
	if code := Main(t.Context(), []string{"healthcheck", "--url", url + "/readyz"}, io.Discard, io.Discard); code != 1 {
		t.Errorf("healthcheck /readyz exit %d with the fleet paused, want 1", code)
	}
	if code := Main(t.Context(), []string{"healthcheck", "--url", "http://127.0.0.1:1/healthz", "--timeout", "200ms"}, io.Discard, io.Discard); code != 1 {
		t.Errorf("healthcheck of nothing exit %d, want 1", code)
	}
}

// TestNoSecretInLogsOrMetricsOnStartupFailures runs every start-up failure
// path with recognisable secrets and checks the logs and the metrics.
func TestNoSecretInLogsOrMetricsOnStartupFailures(t *testing.T) {
	t.Parallel()
	const genesysSecret = "GENESYS-SECRET-9f8e7d"
	const natsSecret = "NATS-SECRET-1a2b3c"
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "genesys")
	natsFile := filepath.Join(dir, "nats")
	os.WriteFile(secretFile, []byte(genesysSecret+"\n"), 0o600)
	os.WriteFile(natsFile, []byte(natsSecret+"\n"), 0o600)

	e := newEnv(t, genesyssim.Config{Users: 5, Clients: []genesyssim.Client{{ID: "sim-client", Secret: "not-the-secret"}}})
	authed := natsWithPassword(t, natsSecret)
	scenarios := map[string][]string{
		"NATS unreachable":        {"--nats-url", "nats://127.0.0.1:1", "--nats-user", "w", "--nats-password", natsSecret, "--base-url", e.simURL, "--client-id", "sim-client", "--client-secret", genesysSecret},
		"NATS refuses password":   {"--nats-url", authed, "--nats-user", "w", "--nats-password", "wrong-" + natsSecret, "--base-url", e.simURL, "--client-id", "sim-client", "--client-secret", genesysSecret},
		"NATS password in URL":    {"--nats-url", "nats://w:" + natsSecret + "@127.0.0.1:1", "--base-url", e.simURL, "--client-id", "sim-client", "--client-secret", genesysSecret},
		"Genesys refuses secret":  {"--nats-url", e.ns.ClientURL(), "--base-url", e.simURL, "--client-id", "sim-client", "--client-secret-file", secretFile},
		"Genesys unreachable":     {"--nats-url", authed, "--nats-user", "w", "--nats-password-file", natsFile, "--base-url", "http://127.0.0.1:1", "--client-id", "sim-client", "--client-secret", genesysSecret},
		"Genesys plain http":      {"--nats-url", e.ns.ClientURL(), "--base-url", "http://genesys.example:80", "--client-id", "sim-client", "--client-secret", genesysSecret},
		"secret and secret file":  {"--region", "us-east-1", "--client-id", "x", "--client-secret", genesysSecret, "--client-secret-file", secretFile},
		"bad HTTP address":        {"--nats-url", e.ns.ClientURL(), "--base-url", e.simURL, "--client-id", "sim-client", "--client-secret", genesysSecret, "--http", "256.0.0.1:99999"},
		"NATS token and password": {"--nats-url", e.ns.ClientURL(), "--nats-token", natsSecret, "--nats-user", "u", "--nats-password", natsSecret, "--region", "us-east-1", "--client-id", "x", "--client-secret", genesysSecret},
	}
	for name, args := range scenarios {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // "Genesys unreachable" retries until then
			defer cancel()
			var out, logs syncBuffer
			code := Main(ctx, append(args, "--http", "", "--log-level", "debug"), &out, &logs)
			if code == 0 {
				t.Errorf("exit 0; the scenario is meant to fail")
			}
			for _, secret := range []string{genesysSecret, natsSecret} {
				if strings.Contains(logs.String()+out.String(), secret) {
					t.Errorf("a secret is in the output:\n%s%s", out.String(), logs.String())
				}
			}
		})
	}
	// Metrics after a refused self-check hold no secret either.
	m := newMetrics()
	cfg := Config{NATS: natsconnOptions(e.ns.ClientURL()), BaseURL: e.simURL, ClientID: "sim-client", ClientSecret: genesysSecret,
		RatePerMinute: 1000, Replicas: 1, AckWait: 30 * time.Second, Concurrency: 1, MaxAttempts: 1, ShutdownTimeout: time.Second, ProbeInterval: time.Second, LogLevel: "info"}
	if err := run(t.Context(), cfg, zap.NewNop(), io.Discard, m); err == nil {
		t.Fatal("run succeeded with a refused secret")
	}
	families, err := m.reg.Gather()
	if err != nil || len(families) == 0 {
		t.Fatalf("gather: %d families, %v", len(families), err)
	}
	if strings.Contains(fmt.Sprint(families), genesysSecret) {
		t.Error("a secret is in the metrics")
	}
}
