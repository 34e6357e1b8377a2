package ctl

import (
	"context"
	"fmt"
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

// The guard commands with --reactivations show and decide on the
// reactivation guard (review D4): a worker whose reactivation limit is 1
// holds the second of two forced reactivations until an operator resumes it;
// the mass-deactivation guard is not involved.
func TestGuardCommandsOnTheReactivationGuard(t *testing.T) {
	t.Parallel()
	srv, nc := natstest.Start(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, url: srv.ClientURL(), js: js, names: jobs.Names{Prefix: audit.DefaultPrefix}, users: map[string]genesyssim.User{}}
	f.sim = genesyssim.NewTestServer(t, genesyssim.Config{Users: 60, RateLimit: 1_000_000})
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
		AckWait: 5 * time.Second, PollWait: 50 * time.Millisecond, Guard: jobs.GuardConfig{Limit: 5},
		ReactivateGuard: jobs.GuardConfig{Limit: 1, Window: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-done })

	inactive := slices.DeleteFunc(f.sim.Users(), func(u genesyssim.User) bool { return u.Active || u.Deleted })
	if len(inactive) < 2 {
		t.Fatalf("the simulator has %d inactive users, the test needs 2", len(inactive))
	}
	var ids []string
	for i, u := range inactive[:2] {
		j := jobs.Job{ID: fmt.Sprintf("undo-%d", i), Action: jobs.ActionReactivate, Force: true, User: jobs.UserRef{ID: u.ID}, RequestedBy: "ops"}
		if _, err := f.pub.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	waitUntil(t, "the reactivation guard to hold", func() bool {
		code, out, _ := f.ctl("guard", "status", "--reactivations")
		return code == ExitOK && strings.Contains(out, "1 reactivations in the window; held: true")
	})
	if code, out, _ := f.ctl("guard", "status"); code != ExitOK || !strings.Contains(out, "held: nothing") {
		t.Errorf("the mass-deactivation guard: exit %d %q, want nothing held", code, out)
	}
	code, out, errOut := f.ctl("guard", "resume", "--reactivations", "--operator", "erin")
	if code != ExitOK || !strings.Contains(out, "held: false") {
		t.Fatalf("resume: exit %d %q %q", code, out, errOut)
	}
	for id, st := range f.waitDone(ids...) {
		if st.Outcome != audit.OutcomeReactivated {
			t.Errorf("job %s: %s", id, st.Outcome)
		}
	}
}
