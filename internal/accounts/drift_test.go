package accounts_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// The drift watch under the accounts: the worker user runs it (its feed consumer, its bucket,
// its lease, an urgent re-deactivation job); the operator reads its status; a producer may not
// read or write its list.
func TestDriftWatchUnderAccounts(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	worker := connect(t, url, "worker")
	sim := genesyssim.NewTestServer(t, genesyssim.Config{Users: 5, RateLimit: 1_000_000})
	runWorker(t, worker, sim)
	u, err := sim.AddUser(genesyssim.User{UserName: "drift-leaver@example.com", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	producer := connect(t, url, "producer")
	pub, err := jobs.NewPublisher(producer.js, names)
	if err != nil {
		t.Fatal(err)
	}
	producer.allowed("publish a deactivation", func(ctx context.Context) error {
		_, err := pub.Enqueue(ctx, jobs.Job{ID: "acc-drift-leaver", Action: jobs.ActionDeactivate, User: jobs.UserRef{ID: u.ID}, RequestedBy: "hr"})
		return err
	})
	if st := waitDone(t, producer, "acc-drift-leaver"); st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("deactivation: %s %s", st.Outcome, st.Error)
	}

	g, err := genesys.NewClient(sim.URL, genesys.WithCredentials("sim-client", "sim-secret"),
		genesys.WithLimiter(genesys.NewRateLimiter(1_000_000, time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	var found sync.WaitGroup
	found.Add(1)
	obs := &onFound{f: sync.OnceFunc(found.Done)}
	watcher := connect(t, url, "worker")
	w, err := drift.New(t.Context(), drift.Config{Names: names, JetStream: watcher.js, Genesys: g, ClientID: "sim-client",
		RatePerMinute: 6_000_000, Share: 1, Policy: drift.PolicyRedeactivate, Instance: "acc-drift", MinCycle: 20 * time.Millisecond,
		Logger: zaptest.NewLogger(t), Observer: obs})
	if err != nil {
		t.Fatalf("drift watch as the worker: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	if err := sim.ActivateAsAdmin(u.ID, "Pat Admin"); err != nil {
		t.Fatal(err)
	}
	found.Wait() // bounded by the test's timeout
	var ev struct {
		Data audit.OpsData `json:"data"`
	}
	producer.allowed("read the finding", func(ctx context.Context) error {
		s, err := producer.js.Stream(ctx, names.AuditStream())
		if err != nil {
			return err
		}
		m, err := s.GetLastMsgForSubject(ctx, names.OpsAuditSubject(drift.OpsKind))
		if err != nil {
			return err
		}
		return json.Unmarshal(m.Data, &ev)
	})
	f := ev.Data.Fields
	if f["user_id"] != u.ID || !strings.Contains(f["reactivated_by"], "Pat Admin") || f["redeactivation_job"] == "" {
		t.Fatalf("finding %v", f)
	}
	if st := waitDone(t, producer, f["redeactivation_job"]); st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("re-deactivation: %s %s", st.Outcome, st.Error)
	}
	code, out, errOut := ctlAs(t, url, "operator", "drift", "status", "--output", "json")
	if code != 0 {
		t.Fatalf("drift status as operator: exit %d\n%s%s", code, out, errOut)
	}
	var st struct {
		Leader string `json:"leader"`
		Status struct {
			Findings map[string]int `json:"findings"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Leader != "acc-drift" || st.Status.Findings["active_again"] != 1 {
		t.Errorf("drift status as operator: %s (%v)", out, err)
	}
	producer.denied("read the watch list", "$JS.API.STREAM.INFO.KV_genesys-watch", true, func(ctx context.Context) error {
		_, err := producer.js.KeyValue(ctx, names.WatchBucket())
		return err
	})
	operator := connect(t, url, "operator")
	operator.denied("write the watch list", "$KV.genesys-watch", true, func(ctx context.Context) error {
		_, err := operator.js.Publish(ctx, "$KV.genesys-watch.user.forged", []byte(`{}`))
		return err
	})
	if !strings.Contains(out, "acc-drift") {
		t.Errorf("status does not name the active instance: %s", out)
	}
}

type onFound struct{ f func() }

func (o *onFound) Active(bool)                          {}
func (o *onFound) Watched(int)                          {}
func (o *onFound) Checked(string, time.Time, time.Time) {}
func (o *onFound) Found(string)                         { o.f() }
func (o *onFound) CycleDone(time.Duration)              {}
