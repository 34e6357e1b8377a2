package ctl

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// Review L8: `genesysctl budget resume --operator NAME` clears a long 429
// pause that a worker holds, records who did it, and the worker takes
// requests again.
func TestBudgetResumeClearsTheFleetPause(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 1})
	ctx := t.Context()
	kv, err := f.JS.KeyValue(ctx, f.Names.BudgetBucket())
	if err != nil {
		t.Fatal(err)
	}
	b, err := budget.New(budget.Config{KV: kv, Key: "sim-client", WorkerID: "w-1", Limit: 600, Window: time.Minute, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	b.Observe(budget.Response{StatusCode: http.StatusTooManyRequests, RetryAfter: 15 * time.Minute})
	testbed.WaitFor(t, "budget status to show the 429 pause", f.Watch(f.Names.BudgetBucket()), testbed.Until[jetstream.KeyValueEntry](func() bool {
		_, out, _ := f.ctl("budget", "status")
		return strings.Contains(out, "paused by a 429")
	}))

	if code, _, _ := f.ctl("budget", "resume"); code != ExitUsage {
		t.Errorf("budget resume without --operator: exit %d, want %d", code, ExitUsage)
	}
	code, out, errText := f.ctl("budget", "resume", "--operator", "alice")
	if code != ExitOK || !strings.Contains(out, "client.sim-client: pause cleared") {
		t.Fatalf("budget resume: exit %d\n%s%s", code, out, errText)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.Wait(wctx, priority.Normal); err != nil {
		t.Fatalf("the worker still holds the pause after the resume: %v", err)
	}
	var found bool
	for _, ev := range f.auditEvents() {
		if strings.HasSuffix(ev.Subject, ".ops.budget_resumed") && ev.Ops.Fields["operator"] == "alice" && ev.Ops.Fields["budget"] == "client.sim-client" {
			found = true
		}
	}
	if !found {
		t.Error("no budget_resumed ops event naming alice")
	}
	if _, out, _ := f.ctl("budget", "status"); !strings.Contains(out, "not paused") {
		t.Errorf("budget status after the resume: %s", out)
	}
}
