package accounts_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/jobwait"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// Issue 20 under the shipped accounts: with the guard tripped, the producer's enqueue --wait and
// the operator's genesysctl status both name the guard for a held job, and the producer reads
// nothing it could change (its diagnosis reads are refused nowhere but the budget bucket).
func TestHeldJobNamedUnderAccounts(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 10, RateLimit: 1_000_000})
	wc := connect(t, url, "worker")
	g, err := genesys.NewClient(sim.URL, genesys.WithCredentials("sim-client", "sim-secret"),
		genesys.WithLimiter(genesys.NewRateLimiter(1_000_000, time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(t.Context(), worker.Config{Names: names, JetStream: wc.js, Genesys: g, Logger: zaptest.NewLogger(t),
		ID: "accounts-waiting", AckWait: 5 * time.Second, PollWait: 50 * time.Millisecond,
		Guard: jobs.GuardConfig{Limit: 1, UrgentLimit: 1, Window: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker Run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })

	var plain []genesyssim.User
	for _, u := range sim.Users() {
		if u.Active && !u.Deleted && !slices.Contains(u.Roles(), "Master Admin") {
			plain = append(plain, u)
		}
	}
	operator := connect(t, url, "operator")
	guard, err := operator.js.KeyValue(t.Context(), names.GuardBucket())
	if err != nil {
		t.Fatal(err)
	}
	watch, err := guard.Watch(t.Context(), "state")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop() //nolint:errcheck
	producer := connect(t, url, "producer")
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Enqueue(t.Context(), jobs.Job{ID: "acc-first", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: plain[0].ID}, RequestedBy: "hr"}); err != nil {
		t.Fatal(err)
	}
	// One deactivation takes the only slot; the guard holds when the other reaches it.
	if _, err := pub.Enqueue(t.Context(), jobs.Job{ID: "acc-held", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: plain[1].ID}, RequestedBy: "hr"}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for held := false; !held; {
		select {
		case e := <-watch.Updates():
			var st jobs.GuardState
			held = e != nil && json.Unmarshal(e.Value(), &st) == nil && st.Held
		case <-timeout:
			t.Fatal("the guard did not hold within 30 s")
		}
	}

	var out, errOut strings.Builder
	code := enqueue.Main(t.Context(), []string{"--nats-url", url, "--nats-user", "producer", "--nats-password", password("producer"),
		"--user-id", plain[2].ID, "--reason", "left", "--wait", "--timeout", "300ms", "--output", "json"}, strings.NewReader(""), &out, &errOut)
	var res enqueue.Result
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil || code != 1 {
		t.Fatalf("enqueue as producer: exit %d %v\n%s\n%s", code, err, out.String(), errOut.String())
	}
	if res.Waiting == nil || res.Waiting.Reason != jobwait.Guard || !strings.Contains(res.Waiting.Text, "genesysctl guard resume --operator NAME") {
		t.Errorf("enqueue as producer: waiting %+v", res.Waiting)
	}
	if res.Waiting != nil {
		for _, u := range res.Waiting.Unread {
			if !strings.Contains(u, names.BudgetBucket()) {
				t.Errorf("the producer could not read %s", u)
			}
		}
	}

	// Which of the two jobs took the slot is the worker's choice (both may be fetched at once): the
	// held one is the one without a status record.
	held := "acc-held"
	store, err := jobs.NewStatusStore(t.Context(), operator.js, names)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(t.Context(), held); !errors.Is(err, jobs.ErrNoStatus) {
		held = "acc-first"
	}
	code, stdout, stderr := ctlAs(t, url, "operator", "status", held, "--output", "json")
	var line struct {
		Waiting *jobwait.Diagnosis `json:"waiting"`
	}
	if err := json.Unmarshal([]byte(stdout), &line); err != nil || code != 1 || line.Waiting == nil || line.Waiting.Reason != jobwait.Guard {
		t.Fatalf("genesysctl status as operator: exit %d %v\n%s\n%s", code, err, stdout, stderr)
	}
	if len(line.Waiting.Unread) > 0 {
		t.Errorf("the operator could not read %v", line.Waiting.Unread)
	}
}
