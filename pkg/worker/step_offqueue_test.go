package worker_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

type offQueueRecord struct {
	Status    string   `json:"status"`
	StartTime string   `json:"start_time"`
	Result    string   `json:"result"`
	Would     []string `json:"would"`
}

const (
	routingGet = "GET /api/v2/users/{id}/routingstatus"
	routingPut = "PUT /api/v2/users/{id}/routingstatus"
	scimPatch  = "PATCH /api/v2/scim/v2/users/{id}"
)

// off_queue runs inside the deactivation, before the PATCH: an agent on queue is set OFF_QUEUE
// and the event records the status it had; one already off queue costs one read and says there
// was nothing to do. With the simulator's OffQueueOnDeactivate (Genesys setting inactive users
// off queue by itself, UNCONFIRMED) in either position, the step has done it before the PATCH.
func TestOffQueueBeforeThePatch(t *testing.T) {
	t.Parallel()
	for _, genesysDoesIt := range []bool{false, true} {
		t.Run(map[bool]string{false: "Genesys leaves inactive users on queue", true: "Genesys sets inactive users off queue"}[genesysDoesIt], func(t *testing.T) {
			t.Parallel()
			b := ccBed(t, genesyssim.Config{OffQueueOnDeactivate: genesysDoesIt}, "off_queue")
			on := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingIdle, Presence: genesyssim.PresenceOnQueue})
			off := agent(t, b, 1, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable})

			if got := offboard(t, b, on.ID, "oq-on", false, nil); got != audit.OutcomeDeactivated {
				t.Fatalf("outcome %s", got)
			}
			var rec offQueueRecord
			stepRecord(t, b, "oq-on", "off_queue", &rec)
			if rec.Status != genesyssim.RoutingIdle || rec.StartTime == "" || rec.Result != "set OFF_QUEUE" {
				t.Errorf("off_queue recorded %+v, want the IDLE status before and set OFF_QUEUE", rec)
			}
			if a := agentNow(t, b, on.ID); a.RoutingStatus != genesyssim.RoutingOffQueue {
				t.Errorf("routing status after %s", a.RoutingStatus)
			}
			calls := routes(b, on.ID, func(r string) bool { return r == routingGet || r == routingPut || r == scimPatch })
			if want := []string{routingGet, routingPut, scimPatch}; !slices.Equal(calls, want) {
				t.Errorf("calls %v, want %v: OFF_QUEUE before the PATCH", calls, want)
			}

			if got := offboard(t, b, off.ID, "oq-off", false, nil); got != audit.OutcomeDeactivated {
				t.Fatalf("outcome %s", got)
			}
			stepRecord(t, b, "oq-off", "off_queue", &rec)
			if rec.Status != genesyssim.RoutingOffQueue || !strings.HasPrefix(rec.Result, "nothing to do") {
				t.Errorf("off_queue recorded %+v for an agent off queue, want nothing to do", rec)
			}
			if n := len(routes(b, off.ID, func(r string) bool { return r == routingPut })); n != 0 {
				t.Errorf("%d routing-status PUTs for an agent already off queue", n)
			}
		})
	}
}

// A dry run reads the routing status and says it would set OFF_QUEUE, changing nothing; the
// preview counts the read and the PUT.
func TestOffQueueDryRun(t *testing.T) {
	t.Parallel()
	b := ccBed(t, genesyssim.Config{}, "off_queue")
	u := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingInteracting, Presence: genesyssim.PresenceOnQueue})
	if got := offboard(t, b, u.ID, "oq-dry", false, func(j *jobs.Job) { j.DryRun = true }); got != audit.OutcomeDryRun {
		t.Fatalf("outcome %s", got)
	}
	var rec offQueueRecord
	stepRecord(t, b, "oq-dry", "off_queue", &rec)
	if rec.Status != genesyssim.RoutingInteracting || len(rec.Would) != 1 || !strings.Contains(rec.Would[0], "OFF_QUEUE") {
		t.Errorf("dry run recorded %+v, want the status and what it would do", rec)
	}
	if a := agentNow(t, b, u.ID); a.RoutingStatus != genesyssim.RoutingInteracting {
		t.Errorf("the dry run changed the routing status to %s", a.RoutingStatus)
	}
	var cost struct {
		Steps map[string]int `json:"steps"`
	}
	stepRecord(t, b, "oq-dry", "dry_run", &cost)
	if cost.Steps["off_queue"] != 2 {
		t.Errorf("preview cost %v, want off_queue 2 (the read and the PUT)", cost.Steps)
	}
	if n := len(routes(b, u.ID, func(r string) bool { return r == routingPut || r == scimPatch })); n != 0 {
		t.Errorf("the dry run made %d changes", n)
	}
}

// The permission the routing-status PUT enforces is UNCONFIRMED (the simulator's
// RoutingStatusPermission). A worker whose role lacks it meets a 403 like any missing permission:
// the probe repeats the PUT for a user that does not exist, is refused too, and the fleet pauses
// (no dead letter, the access cut waits) until the permission is granted. When Genesys enforces
// none, the same role sets the agent off queue.
func TestOffQueueRoutingStatusPermission(t *testing.T) {
	t.Parallel()
	base := []string{"directory:user:edit", "oauth:token:delete"}
	for _, enforced := range []string{"", "routing:agent:edit"} {
		t.Run("enforced="+enforced, func(t *testing.T) {
			t.Parallel()
			b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000, RoutingStatusPermission: enforced}})
			if err := b.Sim.SetClientPermissions(genesyssim.DefaultClientID, base); err != nil {
				t.Fatal(err)
			}
			w := b.Worker(worker.Config{Steps: []string{"off_queue"}, ProbeInterval: 100 * time.Millisecond})
			u := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingIdle, Presence: genesyssim.PresenceOnQueue})
			ids := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.ID = "oq-perm" })
			if enforced != "" {
				b.WaitPaused("the fleet to pause", func() bool { p, _ := w.Paused(t.Context()); return p })
				if st, err := b.Status.Get(t.Context(), ids[0]); err == nil && st.State == jobs.StateDone {
					t.Fatalf("the job ended %s while the permission was missing", st.Outcome)
				}
				if now, _ := b.Sim.User(u.ID); !now.Active {
					t.Fatal("the user was deactivated before the agent was set off queue")
				}
				if err := b.Sim.SetClientPermissions(genesyssim.DefaultClientID, append(base, enforced)); err != nil {
					t.Fatal(err)
				}
			}
			st := b.WaitDone(ids...)[ids[0]]
			if st.Outcome != audit.OutcomeDeactivated || len(st.Attempts) != 0 {
				t.Fatalf("outcome %s after %d attempts (%s), want deactivated without a spent attempt", st.Outcome, len(st.Attempts), st.Error)
			}
			if a := agentNow(t, b, u.ID); a.RoutingStatus != genesyssim.RoutingOffQueue {
				t.Errorf("routing status %s", a.RoutingStatus)
			}
			if n := len(b.DeadLetters()); n != 0 {
				t.Errorf("%d dead letters", n)
			}
		})
	}
}
