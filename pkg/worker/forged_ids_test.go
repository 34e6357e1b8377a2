package worker_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// Review D1, probes 61 and 62: messages published first with a job's predictable event id (on an
// ops subject) and dead-letter id (on a relay dead-letter subject) must not erase the job's
// audit event or dead letter. The job still ends with exactly one user event and its dead letter,
// under random ids recorded in its status, and an ops event names the claim.
func TestForgedIDsDoNotEraseTheJobsRecords(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 30, RateLimit: 1_000_000}})
	plain := plainUsers(b)[0]
	admin := slices.IndexFunc(b.Sim.Users(), func(u genesyssim.User) bool {
		return u.Active && !u.Deleted && slices.Contains(u.Roles(), genesyssim.RoleMasterAdmin)
	})
	if admin < 0 {
		t.Fatal("the simulator has no active Master Admin")
	}
	protected := b.Sim.Users()[admin]
	for _, id := range []string{"suppress-1", "suppress-2"} {
		publishRaw(b, "genesys.audit.ops.relay_heartbeat", `{"note":"harmless"}`, audit.EventID(id))
	}
	publishRaw(b, b.Names.DeadSubject("relay.siem"), `{"note":"harmless"}`, jobs.DeadLetterMsgID("suppress-2"))

	b.Worker(worker.Config{Protect: worker.Protection{Roles: []string{genesyssim.RoleMasterAdmin}}})
	ids := []string{"suppress-1", "suppress-2"}
	b.Enqueue([]jobs.UserRef{{ID: plain.ID}}, func(j *jobs.Job) { j.ID = ids[0] })
	b.Enqueue([]jobs.UserRef{{ID: protected.ID}}, func(j *jobs.Job) { j.ID = ids[1] })
	st := b.WaitDone(ids...)
	if st[ids[0]].Outcome != audit.OutcomeDeactivated || st[ids[1]].Outcome != audit.OutcomeProtected {
		t.Fatalf("outcomes %s, %s; want deactivated, protected", st[ids[0]].Outcome, st[ids[1]].Outcome)
	}
	events := b.AuditEvents() // fails the test on a second user event for a job
	for _, id := range ids {
		if events[id].Outcome != st[id].Outcome {
			t.Errorf("%s: user event %+v, want outcome %s", id, events[id], st[id].Outcome)
		}
		if st[id].EventID == "" || st[id].EventID == audit.EventID(id) {
			t.Errorf("%s: status event id %q, want a new random one", id, st[id].EventID)
		}
	}
	if dl := b.DeadLetters()[ids[1]]; dl.Outcome != audit.OutcomeProtected {
		t.Errorf("no dead letter for the protected job: %+v", dl)
	}
	if got := st[ids[1]].DeadLetterID; !strings.HasPrefix(got, jobs.DeadLetterMsgID(ids[1])+":") {
		t.Errorf("status dead letter id %q", got)
	}
	claims := 0
	for _, m := range b.StreamMsgs(b.Names.AuditStream()) {
		if !strings.HasSuffix(m.Subject, ".ops.event_id_claimed") {
			continue
		}
		var ev struct {
			ID   string        `json:"id"`
			Data audit.OpsData `json:"data"`
		}
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ev.ID, audit.OpsIDPrefix) || ev.Data.Fields["claiming_seq"] == "" || !slices.Contains(ids, ev.Data.Fields["job_id"]) {
			t.Errorf("ops event %s: %+v", ev.ID, ev.Data)
		}
		claims++
	}
	if claims != 3 {
		t.Errorf("%d event_id_claimed ops events, want 3 (two events, one dead letter)", claims)
	}
}

// DeadLetters.Publish takes a duplicate acknowledgement as stored only when the stream holds a
// job dead letter of the same job there (review D1, probe 62).
func TestDeadLetterPublishChecksTheDuplicate(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 1}})
	dead := jobs.NewDeadLetters(b.JS, b.Names)
	dl := jobs.DeadLetter{JobID: "dl-1", Outcome: audit.OutcomeProtected, Reason: "protected", Subject: "genesys.jobs.normal", StreamSeq: 1}
	if err := dead.Publish(t.Context(), dl); err != nil {
		t.Fatal(err)
	}
	again := dl
	again.Outcome, again.Reason = audit.OutcomeConflict, "a redelivery decided otherwise"
	if err := dead.Publish(t.Context(), again); err != nil {
		t.Errorf("the job's own dead letter again: %v", err)
	}
	seq := publishRaw(b, b.Names.DeadSubject("relay.siem"), `{"job_id":"dl-2"}`, jobs.DeadLetterMsgID("dl-2"))
	dl.JobID = "dl-2"
	err := dead.Publish(t.Context(), dl)
	var claimed *audit.IDClaimedError
	if !errors.As(err, &claimed) || claimed.Seq != seq || claimed.Subject != "genesys.dead.relay.siem" {
		t.Fatalf("Publish over a relay message holding the id = %v, want an IDClaimedError naming seq %d", err, seq)
	}
	dl.MsgID = jobs.DeadLetterMsgID("dl-2") + ":fresh"
	if err := dead.Publish(t.Context(), dl); err != nil {
		t.Errorf("Publish under a fresh id: %v", err)
	}
}
