package jobwait

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Explain's choice and words for each state of the fleet, on a Fleet filled in by hand (the
// reads themselves are covered against a real server by internal/ctl's waiting tests).
func TestExplain(t *testing.T) {
	now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	since := now.Add(-10 * time.Minute)
	normal := &jobs.Job{ID: "j-1", Action: jobs.ActionDeactivate, Priority: jobs.PriorityNormal, User: jobs.UserRef{ID: "u"}}
	urgent := &jobs.Job{ID: "j-1", Action: jobs.ActionDeactivate, Priority: jobs.PriorityUrgent, User: jobs.UserRef{ID: "u"}}
	reactivate := &jobs.Job{ID: "j-1", Action: jobs.ActionReactivate, Priority: jobs.PriorityNormal, User: jobs.UserRef{ID: "u"}}
	del := &jobs.Job{ID: "j-1", Action: jobs.ActionDelete, User: jobs.UserRef{ID: "u"}}
	lanes := map[string]*jetstream.ConsumerInfo{jobs.LaneNormal: {NumPending: 7, NumWaiting: 1}, jobs.LaneUrgent: {NumPending: 0}}
	massHeld := map[string]jobs.GuardState{"state": {Held: true, HeldSince: since, Limit: 50, Window: time.Hour}}
	for _, tc := range []struct {
		name   string
		fleet  Fleet
		st     *jobs.Status
		job    *jobs.Job
		reason Reason
		want   []string
	}{
		{"done", Fleet{}, &jobs.Status{State: jobs.StateDone, Outcome: "deactivated"}, normal, Done, []string{"done: deactivated"}},
		{"scheduled", Fleet{}, &jobs.Status{State: jobs.StateScheduled, NotBefore: now.Add(time.Hour)}, normal, Scheduled,
			[]string{"scheduled: a worker stored it to run at 2026-12-07T06:00:00Z", "genesysctl scheduled show j-1"}},
		{"running with attempts", Fleet{}, &jobs.Status{State: jobs.StateRunning, Worker: "w-1", Attempts: []jobs.Attempt{{N: 1, Error: "503"}}}, normal, Running,
			[]string{"running: taken by worker w-1, 1 failed attempt so far (last: 503)"}},
		// A scheduled job whose time has come waits in its lane: what holds the lane is named, not
		// the past date (the record turns when a worker takes it).
		{"scheduled and due, normal lane held", Fleet{guards: massHeld, lanes: lanes}, &jobs.Status{State: jobs.StateScheduled, NotBefore: now.Add(-time.Hour)}, normal, Guard,
			[]string{"due since 2026-12-07T04:00:00Z and held by the mass-deactivation guard", "genesysctl guard resume --operator NAME"}},
		{"scheduled and due, genesysctl (lane from the record)", Fleet{guards: massHeld, lanes: lanes},
			&jobs.Status{State: jobs.StateScheduled, NotBefore: now.Add(-time.Hour), Action: jobs.ActionDeactivate, Priority: jobs.PriorityNormal}, nil, Guard,
			[]string{"due since 2026-12-07T04:00:00Z and held by the mass-deactivation guard: it holds the normal lane"}},
		{"scheduled and due, not taken yet", Fleet{lanes: lanes}, &jobs.Status{State: jobs.StateScheduled, NotBefore: now.Add(-time.Minute)}, normal, NotTaken,
			[]string{"due since 2026-12-07T04:59:00Z and not taken yet"}},
		// A job between attempts is held by the guard like a queued one.
		{"running, then held", Fleet{guards: massHeld, lanes: lanes}, &jobs.Status{State: jobs.StateRunning, Worker: "w-1", Attempts: []jobs.Attempt{{N: 1, Error: "503"}}}, normal, Guard,
			[]string{"running (1 failed attempt so far) and now held by the mass-deactivation guard", "genesysctl guard resume --operator NAME"}},
		{"normal lane held", Fleet{guards: massHeld, lanes: lanes}, nil, normal, Guard,
			[]string{"held by the mass-deactivation guard: it holds the normal lane since 2026-12-07T04:50:00Z", "genesysctl guard resume --operator NAME"}},
		{"urgent passes a normal hold", Fleet{guards: massHeld, lanes: lanes}, nil, urgent, NotTaken, []string{"0 jobs in lane urgent not taken yet, and no worker is asking"}},
		{"urgent held too", Fleet{guards: map[string]jobs.GuardState{"state": {Held: true, UrgentHeld: true, HeldSince: since}}}, nil, urgent, Guard,
			[]string{"the urgent and normal lanes"}},
		{"reactivation guard", Fleet{guards: map[string]jobs.GuardState{jobs.ReactivateGuardKey: {Held: true, HeldSince: since}}}, nil, reactivate, Guard,
			[]string{"reactivation guard: it holds reactivations", "genesysctl guard resume --reactivations --operator NAME"}},
		{"the reactivation guard does not hold deactivations", Fleet{guards: map[string]jobs.GuardState{jobs.ReactivateGuardKey: {Held: true}}, lanes: lanes}, nil, normal, NotTaken,
			[]string{"7 jobs in lane normal not taken yet"}},
		{"delete guard", Fleet{guards: map[string]jobs.GuardState{jobs.DeleteGuardKey: {Held: true, HeldSince: since}}}, nil, del, Guard,
			[]string{"delete guard: it holds the delete lane", "--deletes --operator NAME"}},
		{"unknown job, a lane held", Fleet{guards: massHeld}, nil, nil, Guard, []string{"if it is queued: held by the mass-deactivation guard"}},
		{"credentials", Fleet{holds: jobs.LaneHolds{Holds: map[string]jobs.LaneHold{"credentials:w-1": {Lanes: []string{jobs.LaneUrgent, jobs.LaneNormal}, Since: since, By: "w-1", Reason: "401 on the token grant"}}}}, nil, normal, Paused,
			[]string{"fleet paused: Genesys refused our credentials or permissions (401 on the token grant, seen by w-1", "resume by themselves"}},
		{"a lapsed hold", Fleet{holds: jobs.LaneHolds{Holds: map[string]jobs.LaneHold{"credentials:w-1": {Lanes: []string{jobs.LaneNormal}, Until: now.Add(-time.Second)}}}, lanes: lanes}, nil, normal, NotTaken, nil},
		{"429", Fleet{pauses: []budget.Paused{{Key: "client.c", Until: now.Add(5 * time.Minute)}}}, nil, normal, Paused,
			[]string{"Genesys answered 429", "client.c is paused until 2026-12-07T05:05:00Z", "genesysctl budget resume --operator NAME"}},
		{"a 429 pause over", Fleet{pauses: []budget.Paused{{Key: "client.c", Until: now.Add(-time.Minute)}}, lanes: lanes}, nil, normal, NotTaken, nil},
		{"producer: nothing readable", Fleet{unread: []string{"the guard bucket genesys-guard (timeout)"}}, nil, normal, Unknown,
			[]string{"this NATS user may not read what holds jobs", "genesysctl status j-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fleet.now = now
			d := tc.fleet.Explain(t.Context(), "j-1", tc.st, tc.job)
			if d.Reason != tc.reason {
				t.Errorf("reason %s, want %s (%s)", d.Reason, tc.reason, d.Text)
			}
			for _, w := range tc.want {
				if !strings.Contains(d.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, d.Text)
				}
			}
		})
	}
}
