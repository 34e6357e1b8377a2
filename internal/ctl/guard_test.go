package ctl

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// guardFixture is a worker whose guard holds after two deactivations, with
// four jobs queued: two done, two held.
func guardFixture(t *testing.T) (*fixture, []string) {
	t.Helper()
	srv, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, url: srv.ClientURL(), js: js, names: jobs.Names{Prefix: audit.DefaultPrefix}, users: map[string]genesyssim.User{}}
	f.sim = genesyssim.NewTestServer(t, genesyssim.Config{Users: 30, RateLimit: 1_000_000})
	ctx := t.Context()
	if err := jobs.Provision(ctx, js, jobs.TopologyConfig{Names: f.names, Storage: jetstream.MemoryStorage, AckWait: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if f.pub, err = jobs.NewPublisher(js, f.names); err != nil {
		t.Fatal(err)
	}
	if f.status, err = jobs.NewStatusStore(ctx, js, f.names); err != nil {
		t.Fatal(err)
	}
	c, err := genesys.NewClient(f.sim.URL, genesys.WithCredentials("sim-client", "sim-secret"), genesys.WithLimiter(genesys.NewRateLimiter(1_000_000, time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := jobs.NewWorker(ctx, jobs.WorkerConfig{Names: f.names, JetStream: js, Genesys: c, Logger: zaptest.NewLogger(t),
		AckWait: 5 * time.Second, PollWait: 50 * time.Millisecond, Guard: jobs.GuardConfig{Limit: 2, UrgentLimit: 1, Window: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-done })
	plain := slices.DeleteFunc(f.sim.Users(), func(u genesyssim.User) bool { return !u.Active || u.Deleted })
	var ids []string
	for i, u := range plain[:4] {
		id := "guard-" + string(rune('a'+i))
		j := jobs.Job{ID: id, Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr"}
		if _, err := f.pub.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	waitUntil(t, "the guard to hold", func() bool {
		code, out, _ := f.ctl("guard", "status")
		return code == ExitOK && strings.Contains(out, "held: normal") && strings.Contains(out, "2 deactivations")
	})
	return f, ids
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGuardCommands(t *testing.T) {
	t.Parallel()
	f, ids := guardFixture(t)
	before := f.counts()
	for _, bad := range [][]string{
		{"guard"},
		{"guard", "sideways"},
		{"guard", "resume"}, // no --operator
		{"guard", "set-limit", "--operator", "x"}, // no limit
		{"guard", "set-limit", "--operator", "x", "--limit", "-1"},
		{"guard", "drop-held", "--operator", "x"},       // no --yes
		{"guard", "resume", "--operator", "x", "extra"}, // stray argument
		{"guard", "status", "--output", "yaml"},
	} {
		if code, _, errOut := f.ctl(bad...); code != ExitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with an error", bad, code, errOut)
		}
	}
	if diff := f.counts(); diff[f.names.AuditStream()] != before[f.names.AuditStream()] {
		t.Error("a refused command changed something")
	}
	code, out, errOut := f.ctl("guard", "status", "--output", "json")
	if code != ExitOK || !strings.Contains(out, `"held":true`) || !strings.Contains(out, `"count":2`) {
		t.Errorf("status json: exit %d %q %q", code, out, errOut)
	}
	// Raising the limit lets the two held jobs through; the decision is audited.
	code, out, errOut = f.ctl("guard", "set-limit", "--operator", "dana", "--limit", "10")
	if code != ExitOK || !strings.Contains(out, "held: nothing") {
		t.Fatalf("set-limit: exit %d %q %q", code, out, errOut)
	}
	for id, st := range f.waitDone(ids...) {
		if st.Outcome != audit.OutcomeDeactivated {
			t.Errorf("job %s: %s", id, st.Outcome)
		}
	}
	found := false
	for _, ev := range f.auditEvents() {
		if strings.HasSuffix(ev.Subject, ".audit.ops.guard_limit_set") && ev.Ops.Fields["operator"] == "dana" && ev.Ops.Fields["nats_user"] == "anonymous" {
			found = true
		}
	}
	if !found {
		t.Error("no guard_limit_set ops event naming dana")
	}
	if code, out, _ := f.ctl("guard", "status"); code != ExitOK || !strings.Contains(out, "set_limit  dana") {
		t.Errorf("status does not show the decision: %q", out)
	}
}
