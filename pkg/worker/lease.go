package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Jobs for one user run one at a time and, where it matters, in publish order:
//   - order: a job is published on <prefix>.jobs.<lane>.<user token> (lane
//     urgent, normal or reactivate); before it starts, the worker asks the
//     jobs stream for the first message on the subjects of the jobs it must
//     not overtake. A work queue keeps only unfinished jobs, so an earlier
//     sequence there is an earlier job for the same user that has not ended:
//     this one goes back to the queue (no attempt) until it has. A
//     deactivation is idempotent, so an urgent one overtakes earlier
//     deactivations (a normal job held by the mass-deactivation guard or
//     waiting out a backoff must not hold up a security escalation); it never
//     overtakes an earlier reactivation, and a reactivation never overtakes
//     an earlier deactivation. Every other job waits for every earlier job of
//     the user: a dry run reports the state the earlier jobs leave.
//   - one at a time: once the user is resolved, the job takes a lease on the
//     Genesys user id in the locks bucket (which also covers jobs that name
//     the user differently). The lease holds an expiry, renewed while the job
//     works; a crashed worker's lease is taken over when it expires.

// errUserBusy: another job for the same user is queued before this one or
// holds the user's lease.
var errUserBusy = errors.New("jobs: another job for the same user comes first")

// earlierJobQueued reports whether a job for the same user that was
// published before this one, and that this one must not overtake, is still
// in the jobs stream. It costs one read of the stream.
func (w *Worker) earlierJobQueued(ctx context.Context, job jobs.Job, seq uint64) (bool, error) {
	if seq <= 1 {
		return false, nil
	}
	token := jobs.UserToken(job.User)
	filter := w.cfg.Names.UserJobs(token)
	if overtakesDeactivations(job) {
		filter = w.cfg.Names.ReactivateSubject() + "." + token
	}
	m, err := w.jobs.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(filter))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: look for earlier jobs of the user: %w", errStore, err)
	}
	return m.Sequence < seq, nil
}

// overtakesDeactivations reports whether job may run before earlier
// deactivations of its user: an urgent deactivation that changes something.
func overtakesDeactivations(job jobs.Job) bool {
	return job.Action == jobs.ActionDeactivate && job.Priority == jobs.PriorityUrgent && !job.DryRun
}

type leaseValue struct {
	JobID   string    `json:"job_id"`
	Worker  string    `json:"worker"`
	Expires time.Time `json:"expires"`
}

// userLease is a held lease on one user. Safe for concurrent use.
type userLease struct {
	w   *Worker
	key string
	job string

	mu  sync.Mutex
	rev uint64
}

func (w *Worker) leaseTTL() time.Duration { return 2 * w.cfg.AckWait }

func (w *Worker) leaseValue(jobID string) []byte {
	data, _ := json.Marshal(leaseValue{JobID: jobID, Worker: w.cfg.ID, Expires: w.now().Add(w.leaseTTL()).UTC()})
	return data
}

// acquireLease takes the user's lease for the job, or returns errUserBusy.
// A lease that expired, or that this job held on an earlier delivery, is
// taken over.
func (w *Worker) acquireLease(ctx context.Context, userID, jobID string) (*userLease, error) {
	key := "user." + userID
	rev, err := w.locks.Create(ctx, key, w.leaseValue(jobID))
	if err == nil {
		return &userLease{w: w, key: key, job: jobID, rev: rev}, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("%w: take the user's lease: %w", errStore, err)
	}
	e, err := w.locks.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, errUserBusy // released meanwhile: try again on the next delivery
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read the user's lease: %w", errStore, err)
	}
	var held leaseValue
	_ = json.Unmarshal(e.Value(), &held)
	if held.JobID != jobID && w.now().Before(held.Expires) {
		return nil, errUserBusy
	}
	rev, err = w.locks.Update(ctx, key, w.leaseValue(jobID), e.Revision())
	if err != nil {
		return nil, errUserBusy // somebody else took it first
	}
	return &userLease{w: w, key: key, job: jobID, rev: rev}, nil
}

// refresh moves the lease's expiry forward.
func (l *userLease) refresh(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rev, err := l.w.locks.Update(ctx, l.key, l.w.leaseValue(l.job), l.rev); err == nil {
		l.rev = rev
	}
}

// release gives the lease up, unless somebody took it over meanwhile.
func (l *userLease) release(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.w.locks.Delete(ctx, l.key, jetstream.LastRevision(l.rev))
}
