// Package jobwait says what a job that is not done is waiting for: held by a guard (which lane,
// since when, and the command that lets it through), scheduled for later, behind an earlier job of
// the same user, the fleet paused (Genesys refused the credentials, or asked us to back off with a
// 429), or not taken by a worker yet. enqueue --wait and genesysctl status both ask it, so that the
// two commands give the same answer.
//
// It only reads: the job's status record, the guard bucket (the guards' states and the lanes'
// holds), the budget bucket (429 pauses), the jobs stream's per-subject counts and the lanes'
// consumer info. What a NATS user may read depends on its role (deploy/nats-accounts.conf): an
// operator reads all of it; a producer all but the budget bucket, so enqueue --wait run as a
// producer names a guard, a credentials pause, a schedule, an earlier job of the user and the
// backlog, but not a 429 pause. A read the role is refused is listed in Diagnosis.Unread; with
// nothing readable the diagnosis says who can tell more (genesysctl status, run by an operator).
package jobwait

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Reason is what a job waits for.
type Reason string

// The reasons, in the order Explain looks for them.
const (
	// Done: the job has ended; it waits for nothing.
	Done Reason = "done"
	// Scheduled: a worker stored the job for its not_before.
	Scheduled Reason = "scheduled"
	// Running: a worker has taken the job (it may be waiting out a backoff between attempts).
	Running Reason = "running"
	// Guard: a guard holds the job's lane (or, for a reactivation, the reactivation guard holds it).
	Guard Reason = "guard"
	// Paused: the fleet is paused: Genesys refused our credentials or permissions, or answered 429.
	Paused Reason = "paused"
	// Behind: an earlier job of the same user is in the stream; a user's jobs run one at a time,
	// in publish order.
	Behind Reason = "earlier_job"
	// NotTaken: the job is in the stream and no worker has taken it yet.
	NotTaken Reason = "not_taken"
	// Unknown: nothing this NATS user may read explains it (or the job does not exist).
	Unknown Reason = "unknown"
)

// Diagnosis is what one job waits for. Text says it for people; the other fields say it for
// programs (enqueue --output json, genesysctl status --output json).
type Diagnosis struct {
	JobID  string `json:"job_id"`
	Reason Reason `json:"reason"`
	// Lane is the job's lane (urgent, normal, cleanup, delete); empty when the job is not known.
	Lane string `json:"lane,omitempty"`
	// Since is when the guard or pause began; Until when a pause ends (zero: until lifted).
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// NotBefore is when a scheduled job runs.
	NotBefore time.Time `json:"not_before,omitzero"`
	// Waiting is how many jobs in the lane no worker has taken yet (this one included), when the
	// lane's consumer could be read.
	Waiting uint64 `json:"lane_waiting,omitempty"`
	// UserJobs is how many jobs of the same user (the same identifier) are in the jobs stream.
	UserJobs uint64 `json:"user_jobs,omitempty"`
	// Resume is the command that lets the job through, when an operator's decision is needed.
	Resume string `json:"resume,omitempty"`
	// Text says all of it in one sentence.
	Text string `json:"text"`
	// Unread lists what this NATS user may not read (or could not read), so that the diagnosis
	// may miss a reason.
	Unread []string `json:"unread,omitempty"`
}

// readTimeout bounds each read. A read the account's permissions refuse may only time out
// (deploy/nats-accounts.conf: "the JetStream call times out"), so it must be short.
const readTimeout = 2 * time.Second

// Fleet is what holds jobs fleet-wide, read once for any number of jobs: the guards, the lanes'
// holds, the 429 pauses, the lanes' consumers and the jobs stream.
type Fleet struct {
	names  jobs.Names
	now    time.Time
	status jetstream.KeyValue // nil when unreadable

	guards map[string]jobs.GuardState // by guard key; nil when unreadable
	holds  jobs.LaneHolds
	pauses []budget.Paused                    // nil when unreadable or none
	lanes  map[string]*jetstream.ConsumerInfo // by lane; a lane missing is unreadable
	stream jetstream.Stream                   // nil when unreadable
	unread []string
}

// guardKeys are the guards in the guard bucket.
var guardKeys = []string{"state", jobs.ReactivateGuardKey, jobs.DeleteGuardKey}

// ReadFleet reads what holds jobs fleet-wide, with the backlog of the given lanes (every lane when
// none is given: a producer may read the urgent and normal lanes' consumers only). It never fails:
// what it may not read is left out and named in each Diagnosis's Unread.
func ReadFleet(ctx context.Context, js jetstream.JetStream, names jobs.Names, lanes ...string) *Fleet {
	f := &Fleet{names: names, now: time.Now(), lanes: map[string]*jetstream.ConsumerInfo{}}
	var mu sync.Mutex
	miss := func(what string, err error) {
		mu.Lock()
		defer mu.Unlock()
		f.unread = append(f.unread, fmt.Sprintf("%s (%v)", what, err))
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		rctx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		kv, err := js.KeyValue(rctx, names.StatusBucket())
		if err != nil {
			miss("the status bucket "+names.StatusBucket(), err)
			return
		}
		f.status = kv
	})
	wg.Go(func() {
		rctx, cancel := context.WithTimeout(ctx, 2*readTimeout)
		defer cancel()
		guards, holds, err := readGuards(rctx, js, names)
		if err != nil {
			miss("the guard bucket "+names.GuardBucket(), err)
			return
		}
		f.guards, f.holds = guards, holds
	})
	wg.Go(func() {
		rctx, cancel := context.WithTimeout(ctx, 2*readTimeout)
		defer cancel()
		kv, err := js.KeyValue(rctx, names.BudgetBucket())
		if err == nil {
			f.pauses, err = budget.Pauses(rctx, kv)
		}
		if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
			miss("the budget bucket "+names.BudgetBucket(), err)
		}
	})
	wg.Go(func() {
		rctx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		s, err := js.Stream(rctx, names.JobsStream())
		if err != nil {
			miss("the jobs stream "+names.JobsStream(), err)
			return
		}
		f.stream = s
		for lane, cons := range laneConsumers(names) {
			if len(lanes) > 0 && !slices.Contains(lanes, lane) {
				continue
			}
			info, err := s.Consumer(rctx, cons)
			if err != nil {
				miss("the consumer "+cons, err)
				continue
			}
			mu.Lock()
			f.lanes[lane] = info.CachedInfo()
			mu.Unlock()
		}
	})
	wg.Wait()
	slices.Sort(f.unread)
	return f
}

func laneConsumers(n jobs.Names) map[string]string {
	return map[string]string{jobs.LaneUrgent: n.UrgentConsumer(), jobs.LaneNormal: n.NormalConsumer(),
		jobs.LaneCleanup: n.CleanupConsumer(), jobs.LaneDelete: n.DeleteConsumer()}
}

func readGuards(ctx context.Context, js jetstream.JetStream, names jobs.Names) (map[string]jobs.GuardState, jobs.LaneHolds, error) {
	kv, err := js.KeyValue(ctx, names.GuardBucket())
	if err != nil {
		return nil, jobs.LaneHolds{}, err
	}
	guards := map[string]jobs.GuardState{}
	for _, key := range guardKeys {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, jobs.LaneHolds{}, err
		}
		var st jobs.GuardState
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			return nil, jobs.LaneHolds{}, fmt.Errorf("decode guard %s: %w", key, err)
		}
		guards[key] = st
	}
	var holds jobs.LaneHolds
	e, err := kv.Get(ctx, "lanes")
	switch {
	case err == nil:
		if err := json.Unmarshal(e.Value(), &holds); err != nil {
			return nil, jobs.LaneHolds{}, fmt.Errorf("decode lane holds: %w", err)
		}
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, jobs.LaneHolds{}, err
	}
	return guards, holds, nil
}

// LaneOf is the lane a job waits in: its consumer's lane (reactivations share the normal lane's
// consumer, but are held by their own guard).
func LaneOf(j jobs.Job) string {
	switch j.Action {
	case jobs.ActionCleanup:
		return jobs.LaneCleanup
	case jobs.ActionDelete:
		return jobs.LaneDelete
	}
	if j.Priority == jobs.PriorityUrgent && j.Action != jobs.ActionReactivate {
		return jobs.LaneUrgent
	}
	return jobs.LaneNormal
}

// Status reads a job's status record; ok is false when it has none or the bucket is unreadable.
func (f *Fleet) Status(ctx context.Context, id string) (jobs.Status, bool) {
	if f.status == nil {
		return jobs.Status{}, false
	}
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	e, err := f.status.Get(rctx, id)
	if err != nil {
		return jobs.Status{}, false
	}
	var st jobs.Status
	if json.Unmarshal(e.Value(), &st) != nil {
		return jobs.Status{}, false
	}
	return st, true
}

// Explain says what the job with id waits for. st is its status record (nil: none); job is the
// job when the caller knows it (enqueue does; genesysctl status does not, and then every held
// lane is named).
func (f *Fleet) Explain(ctx context.Context, id string, st *jobs.Status, job *jobs.Job) Diagnosis {
	d := Diagnosis{JobID: id, Unread: f.unread}
	switch {
	case job != nil:
		d.Lane = LaneOf(*job)
	case st != nil && st.Action != "":
		// The status record knows the job's action and priority: its lane, without the job.
		d.Lane = LaneOf(jobs.Job{Action: st.Action, Priority: st.Priority})
	}
	due := ""
	if st != nil && st.State == jobs.StateScheduled && !st.NotBefore.After(f.now) {
		// Its time has come and its fired copy is in its lane (the record turns when a worker takes
		// it): whatever holds the lane holds it, and is what to name.
		due = fmt.Sprintf("due since %s and ", fmtTime(st.NotBefore))
	}
	if st != nil && due == "" {
		switch st.State {
		case jobs.StateDone:
			d.Reason, d.Text = Done, fmt.Sprintf("done: %s", st.Outcome)
			return d
		case jobs.StateScheduled:
			d.Reason, d.NotBefore = Scheduled, st.NotBefore
			d.Text = fmt.Sprintf("scheduled: a worker stored it to run at %s (genesysctl scheduled show %s; genesysctl scheduled move or cancel change it)",
				fmtTime(st.NotBefore), id)
			return d
		}
		// A job between attempts waits for whatever holds its lane, like a queued one: the guard
		// first (its text names the resume command), then a pause.
		if g, ok := f.guard(d.Lane, job); ok {
			g.JobID, g.Lane, g.Unread = id, d.Lane, d.Unread
			g.Text = fmt.Sprintf("running (%d failed %s so far) and now ", len(st.Attempts), plural(len(st.Attempts), "attempt", "attempts")) + g.Text
			return g
		}
		d.Reason = Running
		d.Text = "running: taken by worker " + orNone(st.Worker)
		if n := len(st.Attempts); n > 0 {
			d.Text += fmt.Sprintf(", %d failed %s so far (last: %s); it retries with backoff", n, plural(n, "attempt", "attempts"), st.Attempts[n-1].Error)
		}
		// A running job between attempts is held by a pause too: say so.
		if p, ok := f.paused(d.Lane); ok {
			d.Text += "; " + p.Text
			d.Since, d.Until = p.Since, p.Until
		}
		return d
	}
	// Without the job (genesysctl status knows only its id), what holds the lanes is what would
	// hold it, if it is queued: the id may also be unknown or expired.
	ifQueued := due
	if job == nil && due == "" {
		ifQueued = "if it is queued: "
	}
	if g, ok := f.guard(d.Lane, job); ok {
		g.JobID, g.Lane, g.Unread = id, d.Lane, d.Unread
		g.Text = ifQueued + g.Text
		return g
	}
	if p, ok := f.paused(d.Lane); ok {
		p.JobID, p.Lane, p.Unread = id, d.Lane, d.Unread
		p.Text = ifQueued + p.Text
		return p
	}
	waiting, laneKnown := f.waiting(d.Lane)
	d.Waiting = waiting
	if job != nil && f.stream != nil {
		if n, ok := f.userJobs(ctx, *job); ok && n > 1 {
			d.Reason, d.UserJobs = Behind, n
			d.Text = fmt.Sprintf("behind an earlier job of the same user: %d jobs for %s are in the stream, and a user's jobs run one at a time in publish order; it runs when the earlier ones end",
				n, job.User.Key())
			return d
		}
	}
	if laneKnown {
		d.Reason = NotTaken
		where := "lane " + d.Lane
		if d.Lane == "" {
			where = "the lanes"
		}
		d.Text = fmt.Sprintf("%snot taken yet: no worker has taken it; %d %s in %s not taken yet", ifQueued, waiting, plural(int(waiting), "job", "jobs"), where)
		if !f.workersPulling(d.Lane) {
			d.Text += ", and no worker is asking for jobs there (is a worker running?)"
		}
		return d
	}
	d.Reason = Unknown
	d.Text = "no status record, and this NATS user may not read what holds jobs (the guard, pauses, the queue): ask an operator to run genesysctl status " + id
	if len(f.unread) == 0 {
		d.Text = "no status record and nothing holds it: unknown, expired, or published on a bare lane subject"
	}
	return d
}

// guard reports a guard that holds the lane (any lane when lane is "").
func (f *Fleet) guard(lane string, job *jobs.Job) (Diagnosis, bool) {
	if f.guards == nil {
		return Diagnosis{}, false
	}
	held := func(key string, st jobs.GuardState) (string, bool) {
		switch key {
		case jobs.ReactivateGuardKey:
			if st.Held && (job == nil || job.Action == jobs.ActionReactivate) {
				return "reactivations", true
			}
		case jobs.DeleteGuardKey:
			if st.Held && (lane == "" || lane == jobs.LaneDelete) {
				return jobs.LaneDelete, true
			}
		default:
			if st.UrgentHeld && (lane == "" || lane == jobs.LaneUrgent) {
				if st.Held {
					return "urgent and normal", true
				}
				return jobs.LaneUrgent, true
			}
			if st.Held && (lane == "" || lane != jobs.LaneUrgent) && (job == nil || job.Action != jobs.ActionReactivate) {
				return "normal", true
			}
		}
		return "", false
	}
	for _, key := range guardKeys {
		st, ok := f.guards[key]
		if !ok {
			continue
		}
		what, ok := held(key, st)
		if !ok {
			continue
		}
		name, flagFor := "mass-deactivation guard", ""
		switch key {
		case jobs.ReactivateGuardKey:
			name, flagFor = "reactivation guard", " --reactivations"
		case jobs.DeleteGuardKey:
			name, flagFor = "delete guard", " --deletes"
		}
		all, _ := st.Counts()
		d := Diagnosis{Reason: Guard, Since: st.HeldSince,
			Resume: "genesysctl guard resume" + flagFor + " --operator NAME"}
		d.Text = fmt.Sprintf("held by the %s: it holds %s since %s (%d counted in its window of %s, limit %d); to let the held jobs through: %s (or raise the limit: genesysctl guard set-limit%s, or drop them: genesysctl guard drop-held%s --yes)",
			name, lanesText(what), fmtTime(st.HeldSince), all, st.Window, st.Limit, d.Resume, flagFor, flagFor)
		return d, true
	}
	return Diagnosis{}, false
}

func lanesText(what string) string {
	if what == "reactivations" {
		return "reactivations"
	}
	if what == "urgent and normal" {
		return "the urgent and normal lanes"
	}
	return "the " + what + " lane"
}

// paused reports a fleet pause on the lane (any lane when lane is ""): a credentials hold or
// another lane hold that is not a guard's, or a budget's 429 pause.
func (f *Fleet) paused(lane string) (Diagnosis, bool) {
	names := make([]string, 0, len(f.holds.Holds))
	for name := range f.holds.Holds {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		h := f.holds.Holds[name]
		if strings.HasPrefix(name, "guard:") || (!h.Until.IsZero() && !h.Until.After(f.now)) || (lane != "" && !slices.Contains(h.Lanes, lane)) {
			continue
		}
		d := Diagnosis{Reason: Paused, Since: h.Since, Until: h.Until}
		if strings.HasPrefix(name, jobs.HoldCredentials) {
			d.Text = fmt.Sprintf("fleet paused: Genesys refused our credentials or permissions (%s, seen by %s since %s); the workers probe Genesys and resume by themselves once the credentials work again: fix the OAuth client or its roles",
				h.Reason, orNone(h.By), fmtTime(h.Since))
			return d, true
		}
		d.Text = fmt.Sprintf("fleet paused: %s holds %s since %s: %s", name, strings.Join(h.Lanes, ", "), fmtTime(h.Since), h.Reason)
		return d, true
	}
	for _, p := range f.pauses {
		if p.Until.After(f.now) {
			d := Diagnosis{Reason: Paused, Until: p.Until, Resume: "genesysctl budget resume --operator NAME"}
			d.Text = fmt.Sprintf("fleet paused: Genesys answered 429 (too many requests) and asked us to wait; budget %s is paused until %s (to resume earlier: %s)",
				p.Key, fmtTime(p.Until), d.Resume)
			return d, true
		}
	}
	return Diagnosis{}, false
}

// waiting is how many jobs in the lane (every lane when lane is "") no worker has taken yet.
func (f *Fleet) waiting(lane string) (uint64, bool) {
	if lane != "" {
		info, ok := f.lanes[lane]
		if !ok {
			return 0, false
		}
		return info.NumPending, true
	}
	var n uint64
	for _, info := range f.lanes {
		n += info.NumPending
	}
	return n, len(f.lanes) > 0
}

// workersPulling reports whether a worker waits for jobs on the lane (any lane when lane is "").
func (f *Fleet) workersPulling(lane string) bool {
	for l, info := range f.lanes {
		if (lane == "" || l == lane) && (info.NumWaiting > 0 || info.NumAckPending > 0) {
			return true
		}
	}
	return false
}

// userJobs counts the jobs of the job's user in the stream (every lane).
func (f *Fleet) userJobs(ctx context.Context, job jobs.Job) (uint64, bool) {
	rctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	info, err := f.stream.Info(rctx, jetstream.WithSubjectFilter(f.names.UserJobs(jobs.UserToken(job.User))))
	if err != nil {
		return 0, false
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n, true
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}

func orNone(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
