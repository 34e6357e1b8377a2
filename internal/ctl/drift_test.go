package ctl

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// cycleSignal is a drift.Observer that signals each full cycle.
type cycleSignal struct {
	mu     sync.Mutex
	cycles int
	ch     chan struct{}
}

func (c *cycleSignal) Active(bool)                          {}
func (c *cycleSignal) Watched(int)                          {}
func (c *cycleSignal) Checked(string, time.Time, time.Time) {}
func (c *cycleSignal) Found(string)                         {}
func (c *cycleSignal) CycleDone(time.Duration) {
	c.mu.Lock()
	c.cycles++
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}
func (c *cycleSignal) done() int { c.mu.Lock(); defer c.mu.Unlock(); return c.cycles }

// genesysctl drift status reads what the active watch publishes: the instance, the users
// watched, the last cycle, and the users with findings.
func TestDriftStatus(t *testing.T) {
	t.Parallel()
	f := newBed(t, genesyssim.Config{Users: 20, RateLimit: 1_000_000})
	if code, out, errOut := f.ctl("drift", "status"); code != ExitOK || !strings.Contains(out, "active instance:  none") ||
		!strings.Contains(out, "users watched:    0") {
		t.Fatalf("before any watch: exit %d\n%s%s", code, out, errOut)
	}
	f.startWorker(worker.Protection{Roles: []string{"master admin"}})
	var users []genesyssim.User
	for _, u := range f.Sim.Users() {
		if u.Active && !u.Deleted && len(users) < 2 && !strings.Contains(strings.Join(u.Roles(), ","), "Master Admin") {
			users = append(users, u)
		}
	}
	f.WaitDone(f.enqueue("leaver-a", users[0]), f.enqueue("leaver-b", users[1]))

	obs := &cycleSignal{ch: make(chan struct{}, 1)}
	w, err := drift.New(t.Context(), drift.Config{Names: f.Names, JetStream: f.JS, Genesys: f.Client(), RatePerMinute: 6_000_000, Share: 0.5,
		Instance: "drift-1", MinCycle: 10 * time.Millisecond, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := f.Sim.ActivateAsAdmin(users[1].ID, "Pat Admin"); err != nil {
		t.Fatal(err)
	}
	testbed.WaitFor(t, "a cycle that found the re-activation", obs.ch, testbed.Until[struct{}](func() bool {
		return obs.done() >= 2 && len(f.OpsEvents(drift.OpsKind)) == 1
	}))
	f.WaitUntil("the status after a full cycle", func() bool {
		_, out, _ := f.ctl("drift", "status", "--output", "json")
		var st driftStatus
		return json.Unmarshal([]byte(out), &st) == nil && st.Status.LastCycleChecked == 2 && st.FindingsTotal == 1
	})
	code, out, errOut := f.ctl("drift", "status")
	for _, want := range []string{"active instance:  drift-1", "users watched:    2", "last full cycle:  2 users checked",
		"budget share:     50% = 3e+06 calls/min; policy alert", "open findings:    1 reported about 1 users", "reported by it:   1 active again, 0 token after revocation",
		users[1].ID + " " + users[1].UserName + " deactivated by leaver-b", "active again"} {
		if !strings.Contains(out, want) {
			t.Errorf("drift status lacks %q (exit %d):\n%s%s", want, code, out, errOut)
		}
	}
	if code, _, errOut := f.ctl("drift"); code != ExitUsage || !strings.Contains(errOut, "want a subcommand: status") {
		t.Errorf("drift without a subcommand: exit %d %s", code, errOut)
	}
}
