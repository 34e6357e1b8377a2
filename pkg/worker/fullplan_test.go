package worker_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// End-to-end tests of the full plan (issue 15, "It must show"): a real in-process nats-server,
// the simulator, and a worker running every optional step it knows with the OAuth client policy
// "disable". The agents' contact-center state is set with the simulator's accessors; what the
// worker did is read back from the audit events, the dead letters, the job statuses, the
// simulator's state and its request log.

// The simulator routes these tests count that the other step tests do not name already.
const (
	stationGet       = "GET /api/v2/users/{id}/station"
	stationAssocDel  = "DELETE /api/v2/users/{id}/station/associatedstation"
	stationDefault   = "DELETE /api/v2/users/{id}/station/defaultstation"
	flowUnlock       = "POST /api/v2/flows/actions/unlock"
	oauthClientPut   = "PUT /api/v2/oauth/clients/{clientId}"
	verifierDel      = "DELETE /api/v2/users/{id}/verifiers/{verifierId}"
	wfmUnitGet       = "GET /api/v2/workforcemanagement/agents/{agentId}/managementunit"
	fullPlanMaxTries = 3
)

// cleanStepNames are the clean-phase steps of the full plan, in plan order.
var cleanStepNames = []string{"presence", "queues", "station", "forwarding", "flows", "wfm", "oauth_clients", "mfa"}

// fullPlanBed is a bed of 40 users with one worker running the full plan: every optional step
// of worker.OptionalSteps, the leavers' OAuth clients disabled, at most fullPlanMaxTries attempts
// a job, and a Genesys client that gives up a failing call after 250 ms (the bed's 2 s lets a
// passing fault pass; here a fault lasts a whole attempt, and the tests run in seconds). edit,
// when set, changes the worker's config before the worker starts.
func fullPlanBed(t *testing.T, edit func(b *testbed.T, cfg *worker.Config)) *testbed.T {
	t.Helper()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	var steps []string
	for _, s := range worker.OptionalSteps() {
		steps = append(steps, s.Name)
	}
	cfg := worker.Config{Steps: steps, OAuthClientPolicy: worker.OAuthClientsDisable, MaxAttempts: fullPlanMaxTries,
		Genesys: b.Client(genesys.WithMaxElapsedTime(250 * time.Millisecond))}
	if edit != nil {
		edit(b, &cfg)
	}
	b.Worker(cfg)
	return b
}

// leaver is an agent holding everything the full plan cleans, as the test set it up.
type leaver struct {
	id     string
	before genesyssim.AgentState
	flows  []string // the flows the agent holds locked, sorted
	// client is an Active OAuth client the agent created; disabled one they created Disabled.
	client, disabled string
}

// fullAgent gives user id (the n-th leaver of its test, n < 2) the state of an agent on queue:
// IDLE (presence On Queue), two queues joined directly and one through a group, a spare station
// as default and associated station, forwarding on to an external number, a WFM management
// unit, two MFA verifiers, two OAuth tokens, a flow locked by them, and one Active and one
// Disabled OAuth client they created.
func fullAgent(t *testing.T, b *testbed.T, id string, n int) leaver {
	t.Helper()
	qs, station := b.Sim.Queues(), spareStation(t, b, n).ID
	withAgentID(t, b, id, func(a *genesyssim.AgentState) {
		*a = genesyssim.AgentState{
			RoutingStatus: genesyssim.RoutingIdle,
			Presence:      genesyssim.PresenceOnQueue,
			Queues: []genesyssim.Membership{
				{QueueID: qs[0].ID, MemberBy: genesyssim.MemberByUser},
				{QueueID: qs[1+n].ID, MemberBy: genesyssim.MemberByUser},
				{QueueID: qs[len(qs)-1].ID, MemberBy: genesyssim.MemberByGroup},
			},
			DefaultStationID:    station,
			AssociatedStationID: station,
			Forwarding: genesyssim.Forwarding{Enabled: true,
				Targets: []genesyssim.ForwardingTarget{{Type: "PHONENUMBER", Value: fmt.Sprintf("+1555010%04d", n)}}},
			ManagementUnitID: b.Sim.ManagementUnits()[1].ID,
			Verifiers: []genesyssim.Verifier{
				{ID: fmt.Sprintf("v-totp-%d", n), Name: "Phone app", Type: "totp"},
				{ID: fmt.Sprintf("v-key-%d", n), Name: "Security key", Type: "webauthn"},
			},
		}
	})
	if err := b.Sim.SetUserTokens(id, 2); err != nil {
		t.Fatal(err)
	}
	l := leaver{id: id, flows: lockFlows(t, b, id, 1)}
	l.client, l.disabled = ownClients(t, b, id)
	l.before = agentNow(t, b, id)
	return l
}

// direct are the queues the leaver had joined directly, in the order they were set.
func (l leaver) direct() []string {
	var ids []string
	for _, m := range l.before.Queues {
		if m.MemberBy == genesyssim.MemberByUser {
			ids = append(ids, m.QueueID)
		}
	}
	return ids
}

// groupOnly is memberships (see there) of the leaver's group memberships alone.
func (l leaver) groupOnly() []string {
	return slices.DeleteFunc(memberships(l.before), func(m string) bool { return !strings.HasSuffix(m, "/"+genesyssim.MemberByGroup) })
}

// A full-plan deactivation of two agents: each deactivation sets the agent OFF_QUEUE before the
// PATCH and records the status before; each cleanup job ends cleaned_up with every clean step's
// before-state in its audit event, and leaves the agent off queue, Offline, in their group
// queues only, with no station, forwarding off, their flow unlocked, in no WFM unit, their
// OAuth client disabled and no MFA verifier. A reactivation then restores what the records
// allow, and says what it could not: the second agent's station has become another user's
// default meanwhile, which is recorded as could-not while the job still ends reactivated.
func TestFullPlanDeactivatesCleansAndReactivates(t *testing.T) {
	t.Parallel()
	b := fullPlanBed(t, nil)
	users := plainActive(b.Sim)
	agents := []leaver{fullAgent(t, b, users[0].ID, 0), fullAgent(t, b, users[1].ID, 1)}
	other := users[2].ID // takes the second agent's station before the reactivation

	ids := b.Enqueue([]jobs.UserRef{{ID: agents[0].id}, {ID: agents[1].id}}, nil)
	all := slices.Clone(ids)
	for _, id := range ids {
		all = append(all, jobs.CleanupID(id))
	}
	st := b.WaitDone(all...)
	for i, a := range agents {
		id, cid := ids[i], jobs.CleanupID(ids[i])
		if st[id].Outcome != audit.OutcomeDeactivated || st[cid].Outcome != audit.OutcomeCleanedUp {
			t.Fatalf("agent %d: deactivation %s (%s), cleanup %s (%s); want deactivated, cleaned_up", i, st[id].Outcome, st[id].Error, st[cid].Outcome, st[cid].Error)
		}
		if done := st[cid].Steps.Done; !isSubsequence(cleanStepNames, done) {
			t.Errorf("agent %d: the cleanup job did %v; want every clean step %v, in order", i, done, cleanStepNames)
		}
		checkCutEvent(t, b, a, id)
		checkCleanupEvent(t, b, a, id)
		checkCleaned(t, b, a)
	}

	station := agents[1].before.DefaultStationID
	withAgentID(t, b, other, func(a *genesyssim.AgentState) { a.DefaultStationID = station })
	for i, a := range agents {
		ev := reactivateEvent(t, b, a.id, fmt.Sprintf("full-plan-back-%d", i))
		now := agentNow(t, b, a.id)

		var q queuesUndoRecord
		eventRecord(t, ev, "undo_queues", &q)
		if !slices.Equal(q.Restored, a.direct()) || len(q.CouldNot) != 0 || !slices.Equal(memberships(now), memberships(a.before)) {
			t.Errorf("agent %d: undo_queues %+v, memberships %v; want %v restored, memberships %v", i, q, memberships(now), a.direct(), memberships(a.before))
		}
		var s stationUndoRecord
		eventRecord(t, ev, "undo_station", &s)
		if i == 0 && (s.Default == nil || s.Default.ID != a.before.DefaultStationID || s.CouldNot != nil || now.DefaultStationID != a.before.DefaultStationID) {
			t.Errorf("agent 0: undo_station %+v, default station %q; want %s restored", s, now.DefaultStationID, a.before.DefaultStationID)
		}
		if i == 1 {
			if s.Default != nil || s.CouldNot == nil || s.CouldNot.ID != station || !strings.Contains(s.CouldNot.Reason, "another user's default") {
				t.Errorf("agent 1: undo_station %+v; want %s recorded as could-not: another user's default", s, station)
			}
			if now.DefaultStationID != "" || agentNow(t, b, other).DefaultStationID != station {
				t.Errorf("agent 1's default station %q; the other user's %q; want none and %s", now.DefaultStationID, agentNow(t, b, other).DefaultStationID, station)
			}
		}
		var fwd undoRec
		eventRecord(t, ev, "undo_forwarding", &fwd)
		if len(fwd.Restored) != 1 || len(fwd.CouldNot) != 0 || !now.Forwarding.Enabled || !slices.Equal(now.Forwarding.Targets, a.before.Forwarding.Targets) {
			t.Errorf("agent %d: undo_forwarding %+v, forwarding %+v; want %+v back on", i, fwd, now.Forwarding, a.before.Forwarding)
		}
		var wfm undoRec
		eventRecord(t, ev, "undo_wfm", &wfm)
		if len(wfm.Restored) != 1 || now.ManagementUnitID != a.before.ManagementUnitID {
			t.Errorf("agent %d: undo_wfm %+v, unit %q; want %s restored", i, wfm, now.ManagementUnitID, a.before.ManagementUnitID)
		}
		var oc undoRec
		eventRecord(t, ev, "undo_oauth_clients", &oc)
		if len(oc.Restored) != 1 || len(oc.CouldNot) != 0 || clientState(b, a.client) != genesyssim.OAuthClientActive || clientState(b, a.disabled) != genesyssim.OAuthClientDisabled {
			t.Errorf("agent %d: undo_oauth_clients %+v; clients %s and %s; want the one disabled Active again, the other still Disabled",
				i, oc, clientState(b, a.client), clientState(b, a.disabled))
		}
		var mfa undoRec
		eventRecord(t, ev, "undo_mfa", &mfa)
		if len(mfa.Restored) != 0 || len(mfa.CouldNot) != len(a.before.Verifiers) {
			t.Errorf("agent %d: undo_mfa %+v; want each of the %d deleted verifiers as could-not", i, mfa, len(a.before.Verifiers))
		}
		if u, _ := b.Sim.User(a.id); !u.Active {
			t.Errorf("agent %d is inactive after the reactivation", i)
		}
	}
}

// A cleanup job that fails at a later step (the WFM move answers 503 for the whole first
// attempt; the fault is lifted when the worker schedules the retry) resumes there when it is
// delivered again: the steps before are not run again, so each of their changes reached Genesys
// exactly once, and the job ends cleaned_up after one failed attempt, its audit event still
// carrying every before-state.
func TestFullPlanRedeliveryMidCleanupResumes(t *testing.T) {
	t.Parallel()
	var lifted atomic.Bool
	b := fullPlanBed(t, func(b *testbed.T, cfg *worker.Config) {
		cfg.Backoff = func(int) time.Duration {
			if lifted.CompareAndSwap(false, true) {
				if err := b.Sim.SetFaults(genesyssim.Faults{}); err != nil {
					t.Error(err)
				}
			}
			return 20 * time.Millisecond
		}
	})
	a := fullAgent(t, b, plainActive(b.Sim)[0].ID, 0)
	if err := b.Sim.SetFaults(genesyssim.Faults{ErrorRate: 1, ErrorStatuses: []int{503}, Routes: []string{wfmMove}}); err != nil {
		t.Fatal(err)
	}
	id := b.Enqueue([]jobs.UserRef{{ID: a.id}}, nil)[0]
	cid := jobs.CleanupID(id)
	st := b.WaitDone(id, cid)
	if st[id].Outcome != audit.OutcomeDeactivated || st[cid].Outcome != audit.OutcomeCleanedUp {
		t.Fatalf("deactivation %s, cleanup %s (%s); want deactivated, cleaned_up", st[id].Outcome, st[cid].Outcome, st[cid].Error)
	}
	att := st[cid].Attempts
	if len(att) != 1 || !strings.Contains(att[0].Error, "step wfm") {
		t.Fatalf("the cleanup's failed attempts %+v; want one, failed at step wfm", att)
	}
	if ev := b.AuditEvents()[cid]; ev.Attempts != 2 {
		t.Errorf("the cleanup event says %d attempts; want 2", ev.Attempts)
	}
	// The WFM move has no user in its path: its requests are logged with no user id.
	if failed, moved := calls(b, "", wfmMove, 503), calls(b, "", wfmMove, 200); failed == 0 || moved != 1 {
		t.Errorf("WFM moves: %d answered 503, %d 200; want some 503s, then one 200", failed, moved)
	}
	if n := calls(b, a.id, wfmUnitGet, 0); n != 2 {
		t.Errorf("the WFM unit was read %d times; want 2, once per attempt of the failed step", n)
	}

	// The steps completed before the failure ran once: their reads and changes are in the log
	// once each (a removal per direct queue), and the steps after it ran once, after the retry.
	once := map[string]int{presencePatch: 1, stationGet: 1, stationAssocDel: 1, stationDefault: 1, fwdGet: 1, fwdPatch: 1, verifierDel: len(a.before.Verifiers)}
	for route, want := range once {
		if n := calls(b, a.id, route, 0); n != want {
			t.Errorf("%s: %d calls for the agent; want %d", route, n, want)
		}
	}
	removed := map[string]int{}
	for _, r := range b.Sim.Requests() {
		if r.Route == membersDelete && r.UserID == a.id {
			removed[r.Path]++
		}
	}
	if len(removed) != len(a.direct()) {
		t.Errorf("queue memberships removed %v; want one removal for each of %v", removed, a.direct())
	}
	for path, n := range removed {
		if n != 1 {
			t.Errorf("%s: %d removals; want 1", path, n)
		}
	}
	if n, m := countRoute(b, flowUnlock), countRoute(b, oauthClientPut); n != len(a.flows) || m != 1 {
		t.Errorf("%d flow unlocks, %d OAuth client updates; want %d and 1", n, m, len(a.flows))
	}
	checkCleanupEvent(t, b, a, id)
	checkCleaned(t, b, a)
}

// A clean step that keeps failing (the default station's DELETE answers 503 on every attempt)
// exhausts the cleanup job: its dead letter and audit event name the step, the steps before it
// kept what they did and recorded, those after it did not run, and the access stays cut: the
// deactivation stays deactivated, the user inactive, the tokens revoked, the agent off queue.
func TestFullPlanFailingStepDeadLettersTheCleanup(t *testing.T) {
	t.Parallel()
	b := fullPlanBed(t, nil)
	a := fullAgent(t, b, plainActive(b.Sim)[0].ID, 0)
	if err := b.Sim.SetFaults(genesyssim.Faults{ErrorRate: 1, ErrorStatuses: []int{503}, Routes: []string{stationDefault}}); err != nil {
		t.Fatal(err)
	}
	id := b.Enqueue([]jobs.UserRef{{ID: a.id}}, nil)[0]
	cid := jobs.CleanupID(id)
	st := b.WaitDone(id, cid)
	if st[id].Outcome != audit.OutcomeDeactivated || st[cid].Outcome != audit.OutcomeExhausted {
		t.Fatalf("deactivation %s, cleanup %s; want deactivated, exhausted", st[id].Outcome, st[cid].Outcome)
	}

	dl, ok := b.DeadLetters()[cid]
	if !ok || dl.Outcome != audit.OutcomeExhausted || !strings.Contains(dl.Reason, "step station") || len(dl.Attempts) != fullPlanMaxTries {
		t.Errorf("dead letter %+v; want exhausted, naming step station, after %d attempts", dl, fullPlanMaxTries)
	}
	for _, at := range dl.Attempts {
		if !strings.Contains(at.Error, "step station") {
			t.Errorf("attempt %d failed with %q; want step station named", at.N, at.Error)
		}
	}
	ev := b.AuditEvents()[cid]
	if ev.Outcome != audit.OutcomeExhausted || !ev.DeadLetter || !strings.Contains(ev.Error, "step station") || ev.CleanupOf != id {
		t.Errorf("cleanup event: outcome %s, dead letter %t, error %q, cleanup_of %q; want exhausted, true, naming step station, %s", ev.Outcome, ev.DeadLetter, ev.Error, ev.CleanupOf, id)
	}
	var s stationRecord
	eventRecord(t, ev, "station", &s)
	if s.Associated == nil || s.Default == nil || s.Default.ID != a.before.DefaultStationID {
		t.Errorf("cleanup event steps.station %+v; want the stations before", s)
	}
	for _, name := range []string{"presence", "queues"} {
		if _, ok := ev.Steps[name]; !ok {
			t.Errorf("the cleanup event lost steps.%s, done before the failing step", name)
		}
	}

	// The access stays cut.
	if dev := b.AuditEvents()[id]; dev.Outcome != audit.OutcomeDeactivated || !dev.TokensRevoked {
		t.Errorf("deactivation event: %s, tokens revoked %t", dev.Outcome, dev.TokensRevoked)
	}
	if u, _ := b.Sim.User(a.id); u.Active || u.Tokens != 0 {
		t.Errorf("after the failed cleanup the user is active %t with %d tokens; want inactive with none", u.Active, u.Tokens)
	}
	now := agentNow(t, b, a.id)
	if now.RoutingStatus != genesyssim.RoutingOffQueue {
		t.Errorf("routing status %s; want OFF_QUEUE", now.RoutingStatus)
	}
	// Before the failing step: done once, not repeated by the second attempt.
	if p, q, as := calls(b, a.id, presencePatch, 0), calls(b, a.id, membersDelete, 0), calls(b, a.id, stationAssocDel, 0); p != 1 || q != len(a.direct()) || as != 1 {
		t.Errorf("presence set %d times, %d queue removals, associated station cleared %d times; want 1, %d, 1", p, q, as, len(a.direct()))
	}
	// After it: not run.
	if !now.Forwarding.Enabled || calls(b, a.id, fwdPatch, 0) != 0 || !slices.Equal(lockedBy(b, a.id), a.flows) || now.ManagementUnitID == "" {
		t.Errorf("the steps after station ran: forwarding %+v, flows locked %v, unit %q", now.Forwarding, lockedBy(b, a.id), now.ManagementUnitID)
	}
}

// checkCutEvent checks the deactivation job id of the leaver: its event records the routing
// status before off_queue and the tokens revoked, and the OFF_QUEUE PUT reached Genesys before
// the PATCH active=false.
func checkCutEvent(t *testing.T, b *testbed.T, a leaver, id string) {
	t.Helper()
	ev := b.AuditEvents()[id]
	var oq offQueueRecord
	eventRecord(t, ev, "off_queue", &oq)
	if oq.Status != genesyssim.RoutingIdle || oq.Result != "set OFF_QUEUE" || !ev.TokensRevoked {
		t.Errorf("%s: steps.off_queue %+v, tokens revoked %t; want IDLE before, set OFF_QUEUE, revoked", id, oq, ev.TokensRevoked)
	}
	var order []string
	for _, r := range b.Sim.Requests() {
		if r.UserID == a.id && (r.Route == routingPut || r.Route == scimPatch) && r.Status < 300 {
			order = append(order, r.Route)
		}
	}
	if order = slices.Compact(order); !slices.Equal(order, []string{routingPut, scimPatch}) { // a call's retries count once
		t.Errorf("%s: the changes of the cut reached Genesys as %v; want the OFF_QUEUE PUT, then the PATCH", id, order)
	}
}

// checkCleanupEvent checks the audit event of the cleanup job of deactivation id: each clean
// step recorded the leaver's state before it, under unmapped.steps.<name>.
func checkCleanupEvent(t *testing.T, b *testbed.T, a leaver, id string) {
	t.Helper()
	ev := b.AuditEvents()[jobs.CleanupID(id)]
	if ev.Outcome != audit.OutcomeCleanedUp || ev.CleanupOf != id {
		t.Errorf("cleanup event of %s: outcome %s, cleanup_of %q", id, ev.Outcome, ev.CleanupOf)
	}

	var p presenceRecord // off_queue left On Queue for Available before the PATCH
	eventRecord(t, ev, "presence", &p)
	if p.Presence != genesyssim.PresenceAvailable || p.Result != "set Offline" {
		t.Errorf("steps.presence %+v; want Available before, set Offline", p)
	}

	var q queuesRecord
	eventRecord(t, ev, "queues", &q)
	var got, want []string
	for _, r := range q.Queues {
		got = append(got, r.QueueID+"/"+r.MemberBy)
	}
	slices.Sort(got)
	want = memberships(a.before)
	if !slices.Equal(got, want) || !slices.Equal(q.Removed, a.direct()) || len(q.Skipped) != 1 || q.Why[genesyssim.MemberByGroup] == "" {
		t.Errorf("steps.queues %+v; want the memberships %v with member_by, the direct ones removed, the group one skipped and why", q, want)
	}

	var s stationRecord
	eventRecord(t, ev, "station", &s)
	if st := a.before.DefaultStationID; s.Associated == nil || s.Associated.ID != st || s.Default == nil || s.Default.ID != st {
		t.Errorf("steps.station %+v; want %s associated and default", s, st)
	}

	var f forwardingRec
	eventRecord(t, ev, "forwarding", &f)
	if !f.Enabled || len(f.Calls) != 1 || !slices.Equal(f.Calls[0].Targets, a.before.Forwarding.Targets) || f.Result != "disabled" {
		t.Errorf("steps.forwarding %+v; want enabled before with targets %v, disabled", f, a.before.Forwarding.Targets)
	}

	var fl flowsRec
	eventRecord(t, ev, "flows", &fl)
	var flows []string
	for _, x := range fl.Flows {
		flows = append(flows, x.ID)
		if x.Result != "unlocked" {
			t.Errorf("steps.flows: flow %s %q; want unlocked", x.ID, x.Result)
		}
	}
	slices.Sort(flows)
	if !slices.Equal(flows, a.flows) {
		t.Errorf("steps.flows lists %v; want %v", flows, a.flows)
	}

	var w wfmRec
	eventRecord(t, ev, "wfm", &w)
	if w.ManagementUnit == nil || w.ManagementUnit.ID != a.before.ManagementUnitID {
		t.Errorf("steps.wfm %+v; want management unit %s", w, a.before.ManagementUnitID)
	}

	var o oauthRec
	eventRecord(t, ev, "oauth_clients", &o)
	states := map[string]string{}
	for _, c := range o.Clients {
		states[c.ID] = c.State + "/" + c.Result
	}
	if o.Policy != worker.OAuthClientsDisable || len(states) != 2 || states[a.client] != "Active/disabled" || states[a.disabled] != "Disabled/" {
		t.Errorf("steps.oauth_clients %+v; want policy disable, %s Active before and disabled, %s Disabled and left", o, a.client, a.disabled)
	}

	var m mfaRec
	eventRecord(t, ev, "mfa", &m)
	var deleted []string
	for _, v := range m.Verifiers {
		if v.Result == "deleted" {
			deleted = append(deleted, v.ID)
		}
	}
	var enrolled []string
	for _, v := range a.before.Verifiers {
		enrolled = append(enrolled, v.ID)
	}
	if len(m.Verifiers) != len(enrolled) || !slices.Equal(deleted, enrolled) {
		t.Errorf("steps.mfa %+v; want the verifiers %v, each deleted", m, enrolled)
	}
}

// checkCleaned checks the simulator's state of the leaver after the full plan: access cut and
// everything the clean steps change changed.
func checkCleaned(t *testing.T, b *testbed.T, a leaver) {
	t.Helper()
	now := agentNow(t, b, a.id)
	if now.RoutingStatus != genesyssim.RoutingOffQueue || now.Presence != genesyssim.PresenceOffline {
		t.Errorf("agent %s: %s, %s; want OFF_QUEUE, Offline", a.id, now.RoutingStatus, now.Presence)
	}
	if got := memberships(now); !slices.Equal(got, a.groupOnly()) {
		t.Errorf("agent %s: memberships %v; want only the group ones %v", a.id, got, a.groupOnly())
	}
	if now.DefaultStationID != "" || now.AssociatedStationID != "" {
		t.Errorf("agent %s: default station %q, associated %q; want none", a.id, now.DefaultStationID, now.AssociatedStationID)
	}
	// Off, with its routes kept (the step sends the forwarding back as read, disabled).
	if now.Forwarding.Enabled || !slices.Equal(now.Forwarding.Targets, a.before.Forwarding.Targets) {
		t.Errorf("agent %s: forwarding %+v; want off, targets kept", a.id, now.Forwarding)
	}
	if locked := lockedBy(b, a.id); len(locked) != 0 {
		t.Errorf("agent %s still holds flows %v", a.id, locked)
	}
	if now.ManagementUnitID != "" || len(now.Verifiers) != 0 {
		t.Errorf("agent %s: unit %q, verifiers %v; want none", a.id, now.ManagementUnitID, now.Verifiers)
	}
	if c := clientState(b, a.client); c != genesyssim.OAuthClientDisabled {
		t.Errorf("agent %s's OAuth client is %s; want Disabled", a.id, c)
	}
	if u, _ := b.Sim.User(a.id); u.Active || u.Tokens != 0 {
		t.Errorf("agent %s: active %t, %d tokens; want inactive, none", a.id, u.Active, u.Tokens)
	}
}

// isSubsequence reports whether want appears in got in order, other entries between allowed.
func isSubsequence(want, got []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// A change whose answer is lost (Genesys applied it; the worker heard only 502s until the
// attempt failed) leaves the before-state in the record: the next delivery finds the user OFF_QUEUE
// or Offline already, and off_queue and presence still record the status they changed, IDLE and
// Available, not "nothing to do".
func TestFullPlanLostAnswerKeepsTheBeforeState(t *testing.T) {
	t.Parallel()
	var loseRouting, losePresence atomic.Bool
	loseRouting.Store(true)
	losePresence.Store(true)
	var failures atomic.Int32
	b := fullPlanBed(t, func(b *testbed.T, cfg *worker.Config) {
		// Genesys applies the change, and its answer is lost, until the job's attempt fails:
		// the deactivation's OFF_QUEUE PUT first, then the cleanup's presence PATCH.
		proxy := simProxy(b, func(w http.ResponseWriter, r *http.Request) bool {
			lose := (r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/routingstatus") && loseRouting.Load()) ||
				(r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/presences/purecloud") && losePresence.Load())
			if !lose {
				return false
			}
			b.Sim.ServeHTTP(httptest.NewRecorder(), r)
			w.WriteHeader(http.StatusBadGateway)
			return true
		})
		cfg.Genesys = clientAt(b, proxy)
		cfg.Backoff = func(int) time.Duration {
			switch failures.Add(1) {
			case 1:
				loseRouting.Store(false)
			case 2:
				losePresence.Store(false)
			}
			return 20 * time.Millisecond
		}
	})
	a := fullAgent(t, b, plainActive(b.Sim)[0].ID, 0)
	id := b.Enqueue([]jobs.UserRef{{ID: a.id}}, nil)[0]
	cid := jobs.CleanupID(id)
	st := b.WaitDone(id, cid)
	if st[id].Outcome != audit.OutcomeDeactivated || st[cid].Outcome != audit.OutcomeCleanedUp || len(st[id].Attempts) != 1 || len(st[cid].Attempts) != 1 {
		t.Fatalf("deactivation %s after %d failed attempts, cleanup %s after %d; want deactivated and cleaned_up, each after 1",
			st[id].Outcome, len(st[id].Attempts), st[cid].Outcome, len(st[cid].Attempts))
	}
	if calls(b, a.id, routingPut, 200) == 0 || calls(b, a.id, presencePatch, 200) == 0 {
		t.Fatal("the lost changes did not reach the simulator")
	}
	checkCutEvent(t, b, a, id)
	checkCleanupEvent(t, b, a, id)
	checkCleaned(t, b, a)
}
