package worker_test

import (
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

type presenceRecord struct {
	Presence     string   `json:"presence"`
	DefinitionID string   `json:"definition_id"`
	Result       string   `json:"result"`
	Would        []string `json:"would"`
}

const (
	presencePatch = "PATCH /api/v2/users/{id}/presences/purecloud"
	presenceDefs  = "GET /api/v2/presence/definitions"
)

// presence runs in the cleanup job. Whether revoking a user's tokens sets them Offline is
// UNCONFIRMED (the simulator's OfflineOnTokenDelete): when it does not, the step sets the
// presence Offline and records the one before; when it does, it finds nothing to do. The Offline
// definition is read once per worker, not per user.
func TestPresenceOffline(t *testing.T) {
	t.Parallel()
	for _, tokenDeleteDoesIt := range []bool{false, true} {
		t.Run(map[bool]string{false: "token deletion keeps the presence", true: "token deletion sets Offline"}[tokenDeleteDoesIt], func(t *testing.T) {
			t.Parallel()
			b := ccBed(t, genesyssim.Config{OfflineOnTokenDelete: tokenDeleteDoesIt}, "presence")
			users := []genesyssim.User{
				agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceBusy}),
				agent(t, b, 1, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingIdle, Presence: genesyssim.PresenceOnQueue}),
			}
			for i, u := range users {
				id := []string{"pr-busy", "pr-onqueue"}[i]
				if got := offboard(t, b, u.ID, id, true, nil); got != audit.OutcomeCleanedUp {
					t.Fatalf("%s: %s", id, got)
				}
				if a := agentNow(t, b, u.ID); a.Presence != genesyssim.PresenceOffline {
					t.Errorf("%s: presence after %s", id, a.Presence)
				}
				var rec presenceRecord
				stepRecord(t, b, jobs.CleanupID(id), "presence", &rec)
				patches := len(routes(b, u.ID, func(r string) bool { return r == presencePatch }))
				switch {
				case tokenDeleteDoesIt && (rec.Presence != genesyssim.PresenceOffline || !strings.HasPrefix(rec.Result, "nothing to do") || patches != 0):
					t.Errorf("%s: recorded %+v after %d PATCHes; want nothing to do, the token deletion set Offline", id, rec, patches)
				case !tokenDeleteDoesIt && (rec.Presence != []string{genesyssim.PresenceBusy, genesyssim.PresenceOnQueue}[i] || rec.Result != "set Offline" || patches != 1):
					t.Errorf("%s: recorded %+v after %d PATCHes; want the presence before and set Offline", id, rec, patches)
				}
			}
			defs := 0
			for _, r := range b.Sim.Requests() {
				if r.Route == presenceDefs {
					defs++
				}
			}
			if want := map[bool]int{false: 1, true: 0}[tokenDeleteDoesIt]; defs != want {
				t.Errorf("%d reads of the presence definitions for two users, want %d (once per worker)", defs, want)
			}
		})
	}
}

// A dry run of the deactivation previews presence: it reads, says it would set Offline, and
// changes nothing; the preview counts the read, the definitions and the PATCH.
func TestPresenceDryRun(t *testing.T) {
	t.Parallel()
	b := ccBed(t, genesyssim.Config{}, "presence")
	u := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable})
	if got := offboard(t, b, u.ID, "pr-dry", true, func(j *jobs.Job) { j.DryRun = true }); got != audit.OutcomeDryRun {
		t.Fatalf("outcome %s", got)
	}
	var rec presenceRecord
	stepRecord(t, b, "pr-dry", "presence", &rec)
	if rec.Presence != genesyssim.PresenceAvailable || len(rec.Would) != 1 || !strings.Contains(rec.Would[0], "Offline") {
		t.Errorf("dry run recorded %+v", rec)
	}
	if a := agentNow(t, b, u.ID); a.Presence != genesyssim.PresenceAvailable {
		t.Errorf("the dry run changed the presence to %s", a.Presence)
	}
	var cost struct {
		Steps map[string]int `json:"steps"`
	}
	stepRecord(t, b, "pr-dry", "dry_run", &cost)
	if cost.Steps["presence"] != 3 {
		t.Errorf("preview cost %v, want presence 3 (read, definitions, PATCH)", cost.Steps)
	}
}

// The permission of the presence PATCH is UNCONFIRMED (the simulator's PresencePermission). When
// Genesys enforces one the worker's role lacks, the cleanup job ends conflict, dead-lettered with
// the step's name, and the access cut stands; when it enforces none, the same role sets Offline.
func TestPresencePermission(t *testing.T) {
	t.Parallel()
	perms := []string{"directory:user:edit", "oauth:token:delete", "presence:presenceDefinition:view"}
	for _, enforced := range []string{"", "presence:userPresence:edit"} {
		t.Run("enforced="+enforced, func(t *testing.T) {
			t.Parallel()
			b := ccBed(t, genesyssim.Config{PresencePermission: enforced}, "presence")
			if err := b.Sim.SetClientPermissions(genesyssim.DefaultClientID, perms); err != nil {
				t.Fatal(err)
			}
			u := agent(t, b, 0, genesyssim.AgentState{RoutingStatus: genesyssim.RoutingOffQueue, Presence: genesyssim.PresenceAvailable})
			got := offboard(t, b, u.ID, "pr-perm", true, nil)
			now, _ := b.Sim.User(u.ID)
			if now.Active {
				t.Fatal("the user is active")
			}
			presence := agentNow(t, b, u.ID).Presence
			if enforced == "" {
				if got != audit.OutcomeCleanedUp || presence != genesyssim.PresenceOffline {
					t.Errorf("cleanup %s, presence %s; want cleaned_up and Offline", got, presence)
				}
				return
			}
			dl, ok := b.DeadLetters()[jobs.CleanupID("pr-perm")]
			if got != audit.OutcomeConflict || !ok || !strings.Contains(dl.Reason, "presence") || presence != genesyssim.PresenceAvailable {
				t.Errorf("cleanup %s, dead letter %v %q, presence %s; want conflict naming the step, presence kept", got, ok, dl.Reason, presence)
			}
		})
	}
}
