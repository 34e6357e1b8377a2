package accounts_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// Review L8 under the shipped accounts: the operator may show and clear a
// 429 pause a worker stored in the budget bucket; producer and auditor may
// not touch the bucket.
func TestOperatorClearsA429Pause(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	worker := connect(t, url, "worker")
	provision(t, url)
	var kv jetstream.KeyValue
	worker.allowed("open the budget bucket", func(ctx context.Context) (err error) {
		kv, err = worker.js.KeyValue(ctx, names.BudgetBucket())
		return err
	})
	b, err := budget.New(budget.Config{KV: kv, Key: "acc-client", WorkerID: "w-acc", Limit: 600, Window: time.Minute, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	// The budget records the pause in its key: ask the operator's status after each change of it.
	w, err := kv.Watch(t.Context(), "client.acc-client")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	b.Observe(budget.Response{StatusCode: http.StatusTooManyRequests, RetryAfter: 15 * time.Minute})
	timeout := time.After(10 * time.Second)
	for shown := false; !shown; {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				t.Fatal("the watch of the budget key ended")
			}
		case <-timeout:
			code, out, errOut := ctlAs(t, url, "operator", "budget", "status")
			t.Fatalf("operator: budget status never showed the pause: exit %d\n%s%s", code, out, errOut)
		}
		code, out, _ := ctlAs(t, url, "operator", "budget", "status")
		shown = code == 0 && strings.Contains(out, "client.acc-client: paused by a 429")
	}
	if code, out, errOut := ctlAs(t, url, "operator", "budget", "resume", "--operator", "alice", "--client-id", "acc-client"); code != 0 || !strings.Contains(out, "pause cleared") {
		t.Fatalf("operator: budget resume: exit %d\n%s%s", code, out, errOut)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := b.Wait(ctx, priority.Normal); err != nil {
		t.Fatalf("the worker still holds the pause: %v", err)
	}
	for _, role := range []string{"producer", "auditor"} {
		c := connect(t, url, role)
		c.denied("write the budget bucket", "$KV.genesys-budget", false, func(ctx context.Context) error {
			return c.nc.Publish("$KV.genesys-budget.client.acc-client", []byte(`{}`))
		})
	}
}
