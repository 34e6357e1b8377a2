//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// composeProject runs docker-compose (the standalone v1 binary, or whatever COMPOSE names, e.g.
// "docker compose") on the repository's docker-compose.yml under its own project name.
type composeProject struct {
	t    *testing.T
	root string
	name string
	env  []string
}

func (p *composeProject) run(ctx context.Context, args ...string) (string, error) {
	bin := strings.Fields(os.Getenv("COMPOSE"))
	if len(bin) == 0 {
		bin = []string{"docker-compose"}
	}
	full := append(bin[1:], append([]string{"-p", p.name, "-f", filepath.Join(p.root, "docker-compose.yml")}, args...)...)
	cmd := exec.CommandContext(ctx, bin[0], full...)
	cmd.Dir, cmd.Env = p.root, append(os.Environ(), p.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", bin[0], strings.Join(full, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// TestComposeSmoke brings docker-compose.yml up with the images built here, waits for both
// workers, the relay and the sink to report healthy (their HEALTHCHECKs run the binaries' own
// `healthcheck`), enqueues the example batch with the enqueue image, and checks that every job
// got exactly one audit event and that the sink holds every one of them, verified.
func TestComposeSmoke(t *testing.T) {
	ctx := scenarioContext(t, 5*time.Minute)
	buildImages(t)
	docker := requireDocker(t)
	root, err := moduleRoot()
	must(t, "module root", err)
	p := &composeProject{t: t, root: root, name: fmt.Sprintf("genesys-smoke-%d", os.Getpid()), env: []string{
		"GENESYS_IMAGE_TAG=" + imageTag, "NATS_IMAGE=" + natsImage(), "NATS_PORT=0", "NATS_MONITOR_PORT=0", "SIM_PORT=0", "SINK_PORT=0",
		"INGRESS_PORT=0", "INGRESS_2_PORT=0",
	}}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := p.run(context.Background(), "logs", "--no-color", "--tail", "20")
			t.Logf("compose logs:\n%s", logs)
		}
		if out, err := p.run(context.Background(), "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})
	_, err = p.run(ctx, "up", "-d")
	must(t, "compose up", err)
	for _, svc := range []string{"worker-1", "worker-2", "relay", "sink", "ingress-1", "ingress-2"} {
		waitHealthy(ctx, t, docker.Client, p, svc)
	}

	out, err := p.run(ctx, "run", "--rm", "-T", "enqueue", "--file", "/examples/offboarding.csv", "--wait", "--timeout", "2m")
	must(t, "enqueue the example batch", err)
	t.Logf("enqueue:\n%s", out)

	addr, err := p.run(ctx, "port", "nats-1", "4222")
	must(t, "NATS port", err)
	nc, err := nats.Connect("nats://"+addr, nats.IgnoreDiscoveredServers())
	must(t, "connect to NATS", err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	must(t, "jetstream", err)
	s := &stack{t: t, js: js}
	// The compose workers run the default contact-center steps: each deactivation is followed by
	// its cleanup job (off queue before the PATCH; queues, station, forwarding, flows, WFM and
	// OAuth clients after), which ends cleaned_up with an audit event of its own.
	// A deactivation publishes its cleanup job before its own ack: once the jobs stream is
	// empty, every job of the batch, cleanups included, has ended.
	rows := exampleRows(t, filepath.Join(root, "examples", "offboarding.csv"))
	for {
		left, err := s.remaining(ctx)
		if err == nil && left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("jobs stream: %d jobs left (%v) at the time limit", left, err)
		case <-time.After(time.Second):
		}
	}
	counts, outcomes, err := s.auditEvents(ctx)
	must(t, "read the audit stream", err)
	byOutcome := map[audit.Outcome]int{}
	for id, n := range counts {
		byOutcome[outcomes[id]]++
		if n != 1 {
			t.Errorf("job %s has %d terminal audit events (outcome %s)", id, n, outcomes[id])
		}
		if outcomes[id] == audit.OutcomeDeactivated && outcomes[jobs.CleanupID(id)] != audit.OutcomeCleanedUp {
			t.Errorf("job %s: its cleanup job %s ended %q, want cleaned_up", id, jobs.CleanupID(id), outcomes[jobs.CleanupID(id)])
		}
	}
	if byOutcome[audit.OutcomeDeactivated] != rows || byOutcome[audit.OutcomeCleanedUp] != rows || len(counts) != 2*rows {
		t.Errorf("audit events by outcome %v, want %d deactivated and %d cleaned_up", byOutcome, rows, rows)
	}

	composeIngress(ctx, t, p, root, s)

	sinkAddr, err := p.run(ctx, "port", "sink", "8090")
	must(t, "sink port", err)
	jobIDs := slices.Collect(maps.Keys(counts))
	for {
		evs, err := sinkEventsAt(ctx, "http://"+sinkAddr)
		missing := notInSink(evs, jobIDs)
		if err == nil && len(missing) == 0 {
			t.Logf("the sink holds all %d audit events of the batch (%d events in all)", len(counts), len(evs))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the sink lacks the audit events of %d jobs, e.g. %v (last error %v)", len(missing), missing[:min(5, len(missing))], err)
		case <-time.After(time.Second):
		}
	}
}

// waitHealthy polls the service's container until Docker reports it healthy.
func waitHealthy(ctx context.Context, t *testing.T, docker *client.Client, p *composeProject, svc string) {
	t.Helper()
	for {
		id, err := p.run(ctx, "ps", "-q", svc)
		if err == nil && id != "" {
			res, err := docker.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
			if err == nil && res.Container.State != nil && res.Container.State.Health != nil &&
				res.Container.State.Health.Status == "healthy" {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s not healthy before the time limit", svc)
		case <-time.After(time.Second):
		}
	}
}

// exampleRows counts the data rows of an example CSV: lines that are neither comments nor the
// header.
func exampleRows(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	must(t, "example batch", err)
	defer f.Close()
	n := -1 // the header
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

// composeIngress posts one signed deactivation, for a user added to the simulator's org, through
// ingress-1 of the compose stack (deploy/ingress.json, the dev fixture secret) and waits, on a
// watch of its status, until a worker has deactivated the user; its audit event names the source.
func composeIngress(ctx context.Context, t *testing.T, p *composeProject, root string, s *stack) {
	t.Helper()
	simAddr, err := p.run(ctx, "port", "genesys-sim", "8089")
	must(t, "simulator port", err)
	users, err := (&simulator{url: "http://" + simAddr}).addUsers(ctx, "smoke-ingress", 1)
	must(t, "add a user", err)
	secret, err := os.ReadFile(filepath.Join(root, "deploy", "dev-ingress-webhook.secret"))
	must(t, "the ingress's dev secret", err)
	sender, err := newWebhookSender(strings.TrimSpace(string(secret)))
	must(t, "sender", err)
	addr, err := p.run(ctx, "port", "ingress-1", "8088")
	must(t, "ingress-1 port", err)
	body := []byte(`{"action":"deactivate","user":{"id":"` + users[0].ID + `"},"reason":"left the company","ticket":"SOAR-1"}`)
	code, answer, err := sender.post(ctx, "http://"+addr, "webhook", "msg_smoke_1", body)
	if err != nil || code != 200 || answer.Accepted != 1 || len(answer.Events) != 1 {
		t.Fatalf("POST through ingress-1: %d %+v (%v), want 200 and one accepted event", code, answer, err)
	}
	id := answer.Events[0].ID
	status, err := jobs.NewStatusStore(ctx, s.js, s.names)
	must(t, "status bucket", err)
	w, err := status.Watch(ctx, id)
	must(t, "watch the job's status", err)
	defer w.Stop() //nolint:errcheck
	for st := (jobs.Status{}); st.State != jobs.StateDone; {
		select {
		case e := <-w.Updates():
			if e != nil && json.Unmarshal(e.Value(), &st) != nil {
				st = jobs.Status{}
			}
		case <-ctx.Done():
			t.Fatalf("job %s from the ingress not done before the time limit", id)
		}
		if st.State == jobs.StateDone && st.Outcome != audit.OutcomeDeactivated {
			t.Fatalf("job %s from the ingress ended %s (%s), want deactivated", id, st.Outcome, st.Error)
		}
	}
	counts, by, err := s.ingressJobs(ctx)
	must(t, "read the ingress's audit events", err)
	if counts[id] != 1 || by[id] != "ingress:webhook" {
		t.Errorf("job %s: %d audit events requested by %q, want 1 by ingress:webhook", id, counts[id], by[id])
	}
	t.Logf("one signed delivery through ingress-1 became job %s, deactivated", id)
}
