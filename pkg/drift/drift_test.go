package drift_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift/watchlist"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// recorder is an Observer that keeps what one instance did; changed signals each call.
type recorder struct {
	name    string
	mu      sync.Mutex
	active  bool
	checks  []check
	cycles  int
	found   map[string]int
	foundAt int // cycles done when the first finding was reported; -1 before
	changed chan struct{}
}

type check struct {
	instance   string
	user       string
	start, end time.Time
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, found: map[string]int{}, foundAt: -1, changed: make(chan struct{}, 1)}
}

func (r *recorder) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) Active(a bool) { r.mu.Lock(); r.active = a; r.mu.Unlock(); r.signal() }
func (r *recorder) Watched(int)   {}
func (r *recorder) Checked(u string, s, e time.Time) {
	r.mu.Lock()
	r.checks = append(r.checks, check{r.name, u, s, e})
	r.mu.Unlock()
	r.signal()
}
func (r *recorder) Found(k string)          { r.mu.Lock(); r.found[k]++; r.mu.Unlock(); r.signal() }
func (r *recorder) CycleDone(time.Duration) { r.mu.Lock(); r.cycles++; r.mu.Unlock(); r.signal() }
func (r *recorder) get() (bool, int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active, len(r.checks), r.cycles
}
func (r *recorder) checksCopy() []check {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.checks)
}
func (r *recorder) cyclesDone() int { _, _, c := r.get(); return c }
func (r *recorder) isActive() bool  { a, _, _ := r.get(); return a }
func (r *recorder) checked() int    { _, n, _ := r.get(); return n }
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testbed.WaitFor(t, what, r.changed, testbed.Until[struct{}](cond))
}

// startWatch runs a watch on its own NATS connection until the test ends or stop is called.
// stop(false) ends it cleanly (it releases the lease); stop(true) closes its connection first,
// as a crash would: the lease stays until it expires.
func startWatch(t *testing.T, b *testbed.T, name string, edit func(*drift.Config)) (*recorder, func(crash bool)) {
	t.Helper()
	nc, err := nats.Connect(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(name)
	cfg := drift.Config{Names: b.Names, JetStream: js, Genesys: b.Client(), ClientID: genesyssim.DefaultClientID,
		RatePerMinute: 6_000_000, Share: 1, Instance: name, LeaseTTL: 2 * time.Second, MinCycle: 20 * time.Millisecond,
		StatusEvery: 10 * time.Millisecond, Logger: zaptest.NewLogger(t).Named(name), Observer: rec}
	if edit != nil {
		edit(&cfg)
	}
	w, err := drift.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop := func(crash bool) {
		once.Do(func() {
			if crash {
				nc.Close()
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: Run: %v", name, err)
			}
			nc.Close()
		})
	}
	t.Cleanup(func() { stop(false) })
	return rec, stop
}

// deactivate runs a deactivation job for an active seeded user through the worker and returns
// the user.
func deactivate(t *testing.T, b *testbed.T, nth int) genesyssim.User {
	t.Helper()
	var active []genesyssim.User
	for _, u := range b.Sim.Users() {
		if u.Active && !u.Deleted && len(u.Grants) > 0 && !slices.ContainsFunc(u.Grants, func(g genesyssim.Grant) bool { return g.RoleName == "Master Admin" }) {
			active = append(active, u)
		}
	}
	u := active[nth]
	ids := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.ID = fmt.Sprintf("leaver-%d-%s", nth, strings.ReplaceAll(t.Name(), "/", "_")) })
	if st := b.WaitDone(ids...)[ids[0]]; st.Outcome != audit.OutcomeDeactivated {
		t.Fatalf("deactivation of %s: %s %s", u.ID, st.Outcome, st.Error)
	}
	return u
}

func driftEvents(b *testbed.T, userID string) []audit.OpsData {
	var out []audit.OpsData
	for _, ev := range b.OpsEvents(drift.OpsKind) {
		if ev.Fields["user_id"] == userID {
			out = append(out, ev)
		}
	}
	return out
}

func entry(t *testing.T, b *testbed.T, userID string) (watchlist.Entry, bool) {
	t.Helper()
	kv, err := b.JS.KeyValue(t.Context(), b.Names.WatchBucket())
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(t.Context(), watchlist.EntryKey(userID))
	if err != nil {
		return watchlist.Entry{}, false
	}
	var out watchlist.Entry
	if err := json.Unmarshal(e.Value(), &out); err != nil {
		t.Fatal(err)
	}
	return out, true
}

func newBed(t *testing.T) *testbed.T {
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	b.Worker(worker.Config{})
	return b
}

// A user re-activated by an admin in the UI is found within one cycle and reported, naming the
// admin from Genesys's audit trail; with redeactivate, an urgent job deactivates them again.
// The finding is reported once, however many cycles see it.
func TestDriftAdminReactivationRedeactivated(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	u := deactivate(t, b, 0)
	rec, _ := startWatch(t, b, "w1", func(c *drift.Config) { c.Policy = drift.PolicyRedeactivate })
	b.WaitUntil("the user on the watch list", func() bool { e, ok := entry(t, b, u.ID); return ok && e.LastChecked.After(e.DeactivatedAt) })

	if err := b.Sim.ActivateAsAdmin(u.ID, "Pat Admin"); err != nil {
		t.Fatal(err)
	}
	after := rec.cyclesDone()
	b.WaitUntil("the finding", func() bool { return len(driftEvents(b, u.ID)) > 0 })
	// The cycle under way when the admin acted may have read the user already; the next one
	// finds them.
	if rec.mu.Lock(); rec.foundAt > after+1 {
		t.Errorf("found after %d full cycles, want within the next one", rec.foundAt-after)
	}
	rec.mu.Unlock()
	ev := driftEvents(b, u.ID)[0]
	f := ev.Fields
	if !strings.Contains(f["reactivated_by"], "Pat Admin") || f["job_id"] != "leaver-0-"+t.Name() ||
		f["findings"] != watchlist.KindActive || f["redeactivation_job"] == "" || f["deactivated_at"] == "" {
		t.Fatalf("finding %q %v", ev.Message, f)
	}
	if !strings.Contains(ev.Message, "re-activated by user Pat Admin") {
		t.Errorf("message %q does not say who", ev.Message)
	}
	st := b.WaitDone(f["redeactivation_job"])[f["redeactivation_job"]]
	if st.Outcome != audit.OutcomeDeactivated || st.Priority != jobs.PriorityUrgent {
		t.Fatalf("re-deactivation: %s %s %s, want an urgent job that deactivated", st.Priority, st.Outcome, st.Error)
	}
	if got, _ := b.Sim.User(u.ID); got.Active {
		t.Error("the user is still active after the re-deactivation")
	}
	// The re-deactivation is a deactivation like any other: the entry now names it, and the
	// watch goes on without reporting the old finding again.
	b.WaitUntil("the entry names the re-deactivation", func() bool { e, _ := entry(t, b, u.ID); return e.JobID == f["redeactivation_job"] })
	n := rec.cyclesDone()
	rec.waitFor(t, "two more cycles", func() bool { return rec.cyclesDone() >= n+2 })
	if evs := driftEvents(b, u.ID); len(evs) != 1 {
		t.Errorf("%d findings, want 1: %v", len(evs), evs)
	}
}

// A user we re-activated ourselves (a reactivation job) is not reported, and leaves the list.
func TestDriftOwnReactivationNotReported(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	u := deactivate(t, b, 1)
	rec, _ := startWatch(t, b, "w1", nil)
	b.WaitUntil("the user on the watch list", func() bool { _, ok := entry(t, b, u.ID); return ok })
	ids := b.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.ID, j.Action = "welcome-back", jobs.ActionReactivate })
	if st := b.WaitDone(ids...)[ids[0]]; st.Outcome != audit.OutcomeReactivated {
		t.Fatalf("reactivation: %s %s", st.Outcome, st.Error)
	}
	b.WaitUntil("the user off the watch list", func() bool { e, _ := entry(t, b, u.ID); return e.Removed })
	n := rec.cyclesDone()
	rec.waitFor(t, "two more cycles", func() bool { return rec.cyclesDone() >= n+2 })
	if evs := driftEvents(b, u.ID); len(evs) != 0 {
		t.Errorf("our own reactivation reported: %v", evs)
	}
}

// A token issued after our revocation is found (here: the user was re-activated and logged in);
// a later login is a new finding, reported again, and nothing is reported twice.
func TestDriftTokenAfterRevocation(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	u := deactivate(t, b, 2)
	rec, _ := startWatch(t, b, "w1", nil)
	b.WaitUntil("the user checked", func() bool { e, ok := entry(t, b, u.ID); return ok && !e.LastChecked.IsZero() })
	if err := b.Sim.ActivateAsAdmin(u.ID, ""); err != nil {
		t.Fatal(err)
	}
	first, err := b.Sim.Login(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The login follows the admin's activation, but a cycle may run between the two: then the
	// user was first reported active again alone, and the token in a second finding.
	b.WaitUntil("the token finding", func() bool {
		evs := driftEvents(b, u.ID)
		return len(evs) > 0 && strings.Contains(evs[len(evs)-1].Fields["findings"], watchlist.KindToken)
	})
	evs := driftEvents(b, u.ID)
	switch {
	case len(evs) == 1 && evs[0].Fields["findings"] == watchlist.KindActive+","+watchlist.KindToken:
	case len(evs) == 2 && evs[0].Fields["findings"] == watchlist.KindActive && evs[1].Fields["findings"] == watchlist.KindToken:
	default:
		t.Fatalf("findings %v, want active and token together, or active then token", evs)
	}
	f := evs[len(evs)-1].Fields
	if f["tokens_revoked_at"] == "" ||
		f["token_issued_at"] != first.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00") || f["redeactivation_job"] != "" {
		t.Fatalf("finding %v (login at %s)", f, first.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00"))
	}
	k := len(evs)
	n := rec.cyclesDone()
	rec.waitFor(t, "two more cycles", func() bool { return rec.cyclesDone() >= n+2 })
	if evs := driftEvents(b, u.ID); len(evs) != k {
		t.Fatalf("%d findings after two cycles of one state, want %d", len(evs), k)
	}
	second, err := b.Sim.Login(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	b.WaitUntil("the second token's finding", func() bool { return len(driftEvents(b, u.ID)) == k+1 })
	if f := driftEvents(b, u.ID)[k].Fields; f["findings"] != watchlist.KindToken || f["token_issued_at"] != second.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00") {
		t.Errorf("second finding %v", f)
	}
}

// Without audits:audit:view the finding is reported all the same, saying why "who" is missing.
func TestDriftWithoutAuditQuery(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	u := deactivate(t, b, 3)
	if err := b.Sim.SetClientPermissions(genesyssim.DefaultClientID, []string{"directory:user:edit", "oauth:token:delete"}); err != nil {
		t.Fatal(err)
	}
	startWatch(t, b, "w1", nil)
	b.WaitUntil("the user checked", func() bool { e, ok := entry(t, b, u.ID); return ok && !e.LastChecked.IsZero() })
	if err := b.Sim.ActivateAsAdmin(u.ID, ""); err != nil {
		t.Fatal(err)
	}
	b.WaitUntil("the finding", func() bool { return len(driftEvents(b, u.ID)) > 0 })
	if f := driftEvents(b, u.ID)[0].Fields; f["reactivated_by"] != "" || !strings.Contains(f["reactivated_by_unknown"], "audits:audit:view") {
		t.Errorf("finding %v", f)
	}
}

// Two watch instances never both check: each check is tagged with its instance, and no two
// checks of different instances overlap in time. When the active one dies (its connection
// closes: it cannot release the lease), the standby takes over once the lease has expired; when
// that one stops cleanly, the first (restarted) takes over at once.
func TestDriftWatchSingleton(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	kv, err := b.JS.KeyValue(t.Context(), b.Names.WatchBucket())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range b.Sim.Users() { // inactive users, as if this fleet had deactivated them
		if !u.Active && !u.Deleted && n < 3 {
			n++
			data, _ := json.Marshal(watchlist.Entry{UserID: u.ID, JobID: fmt.Sprintf("old-%d", n), DeactivatedAt: time.Now().Add(-time.Hour), Seq: 1})
			if _, err := kv.Put(t.Context(), watchlist.EntryKey(u.ID), data); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, stopA := startWatch(t, b, "a", nil)
	a.waitFor(t, "a active", a.isActive)
	c, stopC := startWatch(t, b, "c", nil)
	a.waitFor(t, "a checking", func() bool { return a.checked() >= 6 })
	if c.isActive() || c.checked() > 0 {
		t.Fatal("the standby runs while the active instance holds the lease")
	}
	stopA(true)
	c.waitFor(t, "c taking over", func() bool { return c.checked() >= 6 })
	a2, _ := startWatch(t, b, "a2", nil)
	stopC(false)
	a2.waitFor(t, "a2 taking over", func() bool { return a2.checked() >= 3 })

	all := slices.Concat(a.checksCopy(), c.checksCopy(), a2.checksCopy())
	slices.SortFunc(all, func(x, y check) int { return x.start.Compare(y.start) })
	for i := 1; i < len(all); i++ {
		if p, q := all[i-1], all[i]; p.instance != q.instance && q.start.Before(p.end) {
			t.Errorf("%s checked %s at %s while %s checked %s until %s", q.instance, q.user, q.start.Format(time.StampMicro),
				p.instance, p.user, p.end.Format(time.StampMicro))
		}
	}
	if len(c.checksCopy()) > 0 && len(a.checksCopy()) > 0 {
		gap := c.checksCopy()[0].start.Sub(a.checksCopy()[len(a.checksCopy())-1].end)
		t.Logf("take-over after a crash: %v after the last check of the dead instance (lease TTL 2s)", gap)
	}
}

// Entries older than Days are dropped from the list at the start of a cycle; a user Genesys no
// longer knows is dropped when checked.
func TestDriftDropsOldAndDeletedUsers(t *testing.T) {
	t.Parallel()
	b := testbed.New(t, testbed.Config{Sim: genesyssim.Config{Users: 40, RateLimit: 1_000_000}})
	kv, err := b.JS.KeyValue(t.Context(), b.Names.WatchBucket())
	if err != nil {
		t.Fatal(err)
	}
	var inactive []genesyssim.User
	for i := range 2 {
		u, err := b.Sim.AddUser(genesyssim.User{UserName: fmt.Sprintf("gone-%d@example.com", i)}) // inactive
		if err != nil {
			t.Fatal(err)
		}
		inactive = append(inactive, u)
	}
	put := func(id string, age time.Duration) {
		data, _ := json.Marshal(watchlist.Entry{UserID: id, JobID: "old", DeactivatedAt: time.Now().Add(-age), Seq: 1})
		if _, err := kv.Put(t.Context(), watchlist.EntryKey(id), data); err != nil {
			t.Fatal(err)
		}
	}
	put(inactive[0].ID, 91*24*time.Hour)                   // beyond 90 days
	put(inactive[1].ID, 89*24*time.Hour)                   // within
	put("00000000-0000-4000-8000-000000000404", time.Hour) // unknown to Genesys
	rec, _ := startWatch(t, b, "w1", nil)
	rec.waitFor(t, "a full cycle", func() bool { return rec.cyclesDone() >= 1 })
	if _, ok := entry(t, b, inactive[0].ID); ok {
		t.Error("an entry older than 90 days is still on the list")
	}
	if e, ok := entry(t, b, inactive[1].ID); !ok || e.LastChecked.IsZero() {
		t.Errorf("an entry of 89 days: %+v, %v; want it checked", e, ok)
	}
	if _, ok := entry(t, b, "00000000-0000-4000-8000-000000000404"); ok {
		t.Error("a user Genesys does not know is still on the list")
	}
}

// oldRedeactivationID is the job id the watch used to give the re-deactivation of an
// active_again finding: a function of what the audit stream tells every producer.
func oldRedeactivationID(userID, jobID string) (id, fingerprint string) {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s", userID, jobID, watchlist.KindActive, time.Time{}.Format(time.RFC3339Nano)))
	fingerprint = hex.EncodeToString(sum[:12])
	return "drift-" + fingerprint, fingerprint
}

// A producer that publishes a deactivation of the user under the re-deactivation's old,
// predictable id (it ends already_inactive before the admin re-activates the user) does not
// stop the re-deactivation: its id is random and stored in the entry; a watch started after
// another stored the id of the same finding (and stopped before publishing) publishes that id;
// a stored id that another job took is reported and replaced by a new one.
func TestDriftRedeactivationIDNotPredictable(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	users := []genesyssim.User{deactivate(t, b, 0), deactivate(t, b, 1), deactivate(t, b, 2)}
	_, stop := startWatch(t, b, "w1", func(c *drift.Config) { c.Policy = drift.PolicyRedeactivate })
	for _, u := range users {
		b.WaitUntil("the user on the watch list", func() bool { e, ok := entry(t, b, u.ID); return ok && e.LastChecked.After(e.DeactivatedAt) })
	}
	oldIDs := map[string]string{}
	prePublish := func(u genesyssim.User) {
		e, _ := entry(t, b, u.ID)
		id, _ := oldRedeactivationID(u.ID, e.JobID)
		oldIDs[u.ID] = id
		b.Enqueue([]jobs.UserRef{{ID: u.ID}}, func(j *jobs.Job) { j.ID = id })
		if st := b.WaitDone(id)[id]; st.Outcome != audit.OutcomeAlreadyInactive {
			t.Fatalf("the producer's job %s: %s, want already_inactive", id, st.Outcome)
		}
	}
	// Users 1 and 2: w1 takes the producer's job into the entry, then stores the id of the
	// coming finding and stops before it publishes the job. User 2's stored id is taken by
	// another user's job meanwhile.
	for _, u := range users[1:] {
		prePublish(u)
		b.WaitUntil("the entry to name the producer's job", func() bool { e, _ := entry(t, b, u.ID); return e.JobID == oldIDs[u.ID] })
	}
	stop(false)
	prePublish(users[0]) // after w1 stopped: the entry still names the leaver's job
	kv, err := b.JS.KeyValue(t.Context(), b.Names.WatchBucket())
	if err != nil {
		t.Fatal(err)
	}
	const storedID = "drift-0123456789abcdef01234567"
	for i, u := range users[1:] {
		e, _ := entry(t, b, u.ID)
		_, fingerprint := oldRedeactivationID(u.ID, e.JobID)
		e.RedeactivationJob, e.RedeactivationFinding = storedID, fingerprint
		if i == 1 {
			e.RedeactivationJob = oldIDs[users[0].ID]
		}
		data, _ := json.Marshal(e)
		if _, err := kv.Put(t.Context(), watchlist.EntryKey(u.ID), data); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range users {
		if err := b.Sim.ActivateAsAdmin(u.ID, "Pat Admin"); err != nil {
			t.Fatal(err)
		}
	}
	startWatch(t, b, "w2", func(c *drift.Config) { c.Policy = drift.PolicyRedeactivate })
	for i, u := range users {
		b.WaitUntil("the finding", func() bool { return len(driftEvents(b, u.ID)) > 0 })
		f := driftEvents(b, u.ID)[0].Fields
		id := f["redeactivation_job"]
		switch {
		case id == oldIDs[u.ID]:
			t.Fatalf("user %d: the re-deactivation took the predictable id %s", i, id)
		case i == 1 && id != storedID:
			t.Errorf("user %d: re-deactivation %s, want the id stored for the finding before the restart", i, id)
		case i != 1 && (len(id) != len("drift-")+24 || !strings.HasPrefix(id, "drift-")):
			t.Errorf("user %d: re-deactivation id %q, want drift- and 24 hex digits", i, id)
		case i == 2 && (id == oldIDs[users[0].ID] || f["redeactivation_ids_taken"] != oldIDs[users[0].ID]):
			t.Errorf("user %d: re-deactivation %s, ids taken %q; want a new id and %s reported taken", i, id, f["redeactivation_ids_taken"], oldIDs[users[0].ID])
		}
		if st := b.WaitDone(id)[id]; st.Outcome != audit.OutcomeDeactivated || st.Priority != jobs.PriorityUrgent {
			t.Errorf("user %d: re-deactivation %s: %s %s, want an urgent job that deactivated", i, id, st.Outcome, st.Error)
		}
		if got, _ := b.Sim.User(u.ID); got.Active {
			t.Errorf("user %d is still active", i)
		}
	}
}
