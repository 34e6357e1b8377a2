package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/internal/reconcile"
	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// The audit history decides between "by us" and "not by us": a deactivation of ours that a later
// reactivation of ours undid is not ours any more, the later of deactivated and already_inactive
// counts, and a user we deleted is not found with our delete event.
func TestReconcileReadsTheAuditHistory(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 1, RateLimit: 1_000_000}})
	add := func(name string) genesyssim.User {
		u, err := b.Sim.AddUser(genesyssim.User{UserName: name + "@example.com", Active: false})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	undone, twice := add("undone"), add("twice")
	deletedID := "d0000000-0000-4000-8000-0000000000d1" // not in Genesys
	pub, err := audit.NewPublisher(b.JS, audit.PublisherConfig{Stream: b.Names.AuditStream()})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	emit := func(job string, o audit.Outcome, userID string) {
		ev, err := audit.Origin{}.UserEvent(audit.Record{JobID: job, Outcome: o, Time: at, User: audit.Target{ID: userID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pub.Publish(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Hour)
	}
	emit("j-undone-1", audit.OutcomeDeactivated, undone.ID)
	emit("j-undone-2", audit.OutcomeReactivated, undone.ID)
	emit("j-twice-1", audit.OutcomeDeactivated, twice.ID)
	emit("j-twice-2", audit.OutcomeAlreadyInactive, twice.ID)
	emit("j-deleted", audit.OutcomeDeleted, deletedID)

	list, err := enqueue.ReadHR("-", enqueue.FormatCSV, strings.NewReader(fmt.Sprintf("id,terminated_at\n%s,2026-11-30\n%s,2026-11-30\n%s,2026-11-30\n",
		undone.ID, twice.ID, deletedID)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := reconcile.New(t.Context(), reconcile.Config{Names: b.Names, JetStream: b.JS, Genesys: b.Client().WithPriority(priority.Normal)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	sum, err := r.Run(t.Context(), list, func(res reconcile.Result) error {
		got = append(got, fmt.Sprintf("%d %s %s %s %q", res.Line, res.Class, res.AuditOutcome, res.AuditJobID, res.Note))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`2 inactive_not_by_us deactivated j-undone-1 "a reactivation of ours after this deactivation undid it"`,
		`3 deactivated_by_us already_inactive j-twice-2 ""`,
		`4 not_found deleted j-deleted "deleted by us"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sum.Rows != 3 || sum.Classes[reconcile.NotFound] != 1 {
		t.Errorf("summary %+v", sum)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Run(ctx, list, func(reconcile.Result) error { return nil }); err == nil {
		t.Error("a canceled run returned no error")
	}
}
