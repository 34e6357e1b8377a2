// Package reconcile checks an HR termination list against Genesys Cloud and this system's audit
// stream (issue 18): for each person, are they deactivated by us (and by which audit event),
// inactive but not by us, still active (a finding), or not found. It can publish a deactivation
// job, with an id derived from the HR row, for each person still active.
//
// Every Genesys call passes the share limiter first (drift.NewShareLimiter: a set part of the
// fleet's rate) and then the fleet budget, so that a reconciliation of 10,000 rows does not starve
// the workers. The command is `worker reconcile` (internal/workercmd): it needs the worker's
// Genesys credentials and budget, which genesysctl does not have.
package reconcile

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Class is what reconcile found about one person of the HR list.
type Class string

// The classes, in report order.
const (
	// DeactivatedByUs: inactive in Genesys, and our audit stream holds a deactivated or
	// already_inactive event for the user that no later reactivation of ours undid.
	DeactivatedByUs Class = "deactivated_by_us"
	// InactiveNotByUs: inactive in Genesys, but this system has no deactivation of the user on
	// record (someone or something else deactivated them, or it predates the audit stream).
	InactiveNotByUs Class = "inactive_not_by_us"
	// StillActive: active in Genesys although HR terminated them: the finding.
	StillActive Class = "still_active"
	// NotFound: Genesys has no such user (never provisioned, or deleted). For a row naming the
	// user by id, our delete of the user, if any, is in the Audit fields and Note.
	NotFound Class = "not_found"
	// Failed: the lookup failed (an ambiguous identifier, Genesys or NATS errors); Error says why.
	Failed Class = "error"
)

// Classes lists the classes in report order.
var Classes = []Class{DeactivatedByUs, InactiveNotByUs, StillActive, NotFound, Failed}

// Result is the reconciliation of one HR row.
type Result struct {
	Line         int       `json:"line"`
	User         string    `json:"user"` // the HR row's identifier, as id:…, external_id:… or user_name:…
	TerminatedAt time.Time `json:"terminated_at"`
	Class        Class     `json:"class"`
	UserID       string    `json:"user_id,omitempty"` // the Genesys user id, when found
	UserName     string    `json:"user_name,omitempty"`
	// AuditEventID, AuditOutcome, AuditJobID and AuditTime name our last deactivation of the user
	// (deactivated or already_inactive), when there is one, whatever the class; for a user not
	// found, named by id, our delete of the user (deleted).
	AuditEventID string    `json:"audit_event_id,omitempty"`
	AuditOutcome string    `json:"audit_outcome,omitempty"`
	AuditJobID   string    `json:"audit_job_id,omitempty"`
	AuditTime    time.Time `json:"audit_time,omitzero"`
	// Note explains a class further (a deactivation of ours that a later reactivation undid).
	Note string `json:"note,omitempty"`
	// JobID is the deactivation job for a still-active person: its deterministic id, published
	// with --enqueue. Enqueued is "published", "already_enqueued" (the job exists: a run before
	// this one published it), or "" when not asked to.
	JobID    string `json:"job_id,omitempty"`
	Enqueued string `json:"enqueued,omitempty"`
	Error    string `json:"error,omitempty"`
}

// The values of Result.Enqueued.
const (
	Published       = "published"
	AlreadyEnqueued = "already_enqueued"
)

// Summary counts the results.
type Summary struct {
	Rows            int           `json:"rows"`
	Duplicates      int           `json:"duplicates"` // rows that repeat an earlier row, reconciled once
	Classes         map[Class]int `json:"classes"`
	Published       int           `json:"published"`
	AlreadyEnqueued int           `json:"already_enqueued"`
	GenesysCalls    int64         `json:"genesys_calls"`
}

// Config is what a reconciliation needs.
type Config struct {
	jobs.Names
	JetStream jetstream.JetStream
	// Genesys is the client; its limiter is the share limiter in front of the fleet budget
	// (see ShareLimiter). Required.
	Genesys *genesys.Client
	// Enqueue publishes a deactivation job for each person still active.
	Enqueue bool
	// Calls, when set, is read for Summary.GenesysCalls (ShareLimiter.Calls).
	Calls func() int64
}

// Reconciler reconciles HR rows one at a time.
type Reconciler struct {
	cfg    Config
	audits jetstream.Stream
	pub    *jobs.Publisher
	status *jobs.StatusStore
}

// New opens the audit stream and, with Enqueue, the jobs publisher and status bucket.
func New(ctx context.Context, cfg Config) (*Reconciler, error) {
	if cfg.JetStream == nil || cfg.Genesys == nil {
		return nil, errors.New("reconcile: JetStream and Genesys are required")
	}
	r := &Reconciler{cfg: cfg}
	var err error
	if r.audits, err = cfg.JetStream.Stream(ctx, cfg.AuditStream()); err != nil {
		return nil, fmt.Errorf("reconcile: open stream %s: %w", cfg.AuditStream(), err)
	}
	if cfg.Enqueue {
		if r.pub, err = jobs.NewPublisher(cfg.JetStream, cfg.Names); err != nil {
			return nil, err
		}
		if r.status, err = jobs.NewStatusStore(ctx, cfg.JetStream, cfg.Names); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Run reconciles every valid row of list in file order, calling emit with each result, and
// returns the summary. Rows with problems must have been refused before (the caller reports
// them); duplicates are counted and skipped. Run stops at the first error of emit or of ctx.
func (r *Reconciler) Run(ctx context.Context, list enqueue.HRList, emit func(Result) error) (Summary, error) {
	s := Summary{Classes: map[Class]int{}}
	for _, row := range list.Rows {
		if len(row.Problems) > 0 {
			return s, fmt.Errorf("reconcile: line %d is invalid", row.Line)
		}
		if row.DuplicateOf > 0 {
			s.Duplicates++
			continue
		}
		if err := ctx.Err(); err != nil {
			return s, err
		}
		res := r.One(ctx, row)
		if ctx.Err() != nil { // a result cut short by the end of the run is not a finding
			return s, ctx.Err()
		}
		s.Rows++
		s.Classes[res.Class]++
		switch res.Enqueued {
		case Published:
			s.Published++
		case AlreadyEnqueued:
			s.AlreadyEnqueued++
		}
		if err := emit(res); err != nil {
			return s, err
		}
	}
	if r.cfg.Calls != nil {
		s.GenesysCalls = r.cfg.Calls()
	}
	return s, nil
}

// One reconciles one valid HR row.
func (r *Reconciler) One(ctx context.Context, row *enqueue.Row) Result {
	ref := row.Job.User
	res := Result{Line: row.Line, User: ref.Key(), TerminatedAt: row.TerminatedAt}
	u, err := r.lookup(ctx, ref)
	if errors.Is(err, genesys.ErrNotFound) {
		res.Class = NotFound
		if ref.ID != "" { // a user we deleted (issue 16) is gone from Genesys: say so, with the event
			d, err := r.lastEvent(ctx, audit.OutcomeDeleted, ref.ID)
			if err != nil {
				res.Class, res.Error = Failed, err.Error()
			} else if d != nil {
				res.AuditEventID, res.AuditOutcome, res.AuditJobID, res.AuditTime = d.id, d.outcome, d.jobID, d.time
				res.Note = "deleted by us"
			}
		}
		return res
	}
	if err != nil {
		res.Class, res.Error = Failed, "look the user up in Genesys: "+err.Error()
		return res
	}
	res.UserID, res.UserName = u.ID, u.UserName
	ours, err := r.lastDeactivation(ctx, u.ID)
	if err != nil {
		res.Class, res.Error = Failed, err.Error()
		return res
	}
	if ours != nil {
		res.AuditEventID, res.AuditOutcome, res.AuditJobID, res.AuditTime = ours.id, ours.outcome, ours.jobID, ours.time
		if ours.undone {
			res.Note = "a reactivation of ours after this deactivation undid it"
		}
	}
	switch {
	case u.Active:
		res.Class = StillActive
		r.enqueue(ctx, row, &res)
	case ours != nil && !ours.undone:
		res.Class = DeactivatedByUs
	default:
		res.Class = InactiveNotByUs
	}
	return res
}

// lookup reads the user by the row's identifier: the Genesys id, else the externalId, else the
// userName (jobs.UserRef.Key's order).
func (r *Reconciler) lookup(ctx context.Context, ref jobs.UserRef) (u *genesys.User, err error) {
	users := r.cfg.Genesys.Users
	switch {
	case ref.ID != "":
		u, _, err = users.Get(ctx, ref.ID)
	case ref.ExternalID != "":
		u, _, err = users.FindByExternalID(ctx, ref.ExternalID)
	default:
		u, _, err = users.FindByUserName(ctx, ref.UserName)
	}
	return u, err
}

// deactivation is our last deactivation of a user, from the audit stream.
type deactivation struct {
	id, outcome, jobID string
	time               time.Time
	seq                uint64
	undone             bool // a reactivated event of ours is later in the stream
}

// lastDeactivation returns the later of the user's last deactivated and already_inactive events,
// nil when there is neither.
func (r *Reconciler) lastDeactivation(ctx context.Context, userID string) (*deactivation, error) {
	var last *deactivation
	for _, o := range []audit.Outcome{audit.OutcomeDeactivated, audit.OutcomeAlreadyInactive} {
		d, err := r.lastEvent(ctx, o, userID)
		if err != nil {
			return nil, err
		}
		if d != nil && (last == nil || d.seq > last.seq) {
			last = d
		}
	}
	if last == nil {
		return nil, nil
	}
	re, err := r.lastEvent(ctx, audit.OutcomeReactivated, userID)
	if err != nil {
		return nil, err
	}
	last.undone = re != nil && re.seq > last.seq
	return last, nil
}

func (r *Reconciler) lastEvent(ctx context.Context, o audit.Outcome, userID string) (*deactivation, error) {
	m, err := r.audits.GetLastMsgForSubject(ctx, r.cfg.UserAuditSubject(o, userID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the user's last %s event: %w", o, err)
	}
	var ev struct {
		ID   string              `json:"id"`
		Data audit.AccountChange `json:"data"`
	}
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		return nil, fmt.Errorf("decode the user's last %s event (sequence %d): %w", o, m.Sequence, err)
	}
	return &deactivation{id: ev.ID, outcome: string(o), jobID: ev.Data.Unmapped.JobID,
		time: time.UnixMilli(ev.Data.Time).UTC(), seq: m.Sequence}, nil
}

// enqueue sets the row's deactivation job and, with Enqueue, publishes it unless a job with its
// id exists already (its status record: a run before this one published it, whatever the
// stream's duplicate window).
func (r *Reconciler) enqueue(ctx context.Context, row *enqueue.Row, res *Result) {
	job := row.Job // the HR row's identifier, reason and requested_by, and its deterministic id (enqueue.ReadHR)
	res.JobID = job.ID
	if !r.cfg.Enqueue {
		return
	}
	if _, err := r.status.Get(ctx, job.ID); err == nil {
		res.Enqueued = AlreadyEnqueued
		return
	} else if !errors.Is(err, jobs.ErrNoStatus) {
		res.Class, res.Error = Failed, cmp.Or(res.Error, "read the job's status: "+err.Error())
		return
	}
	ack, err := r.pub.Enqueue(ctx, job)
	switch {
	case err != nil:
		res.Class, res.Error = Failed, "publish the deactivation job: "+err.Error()
	case ack.Duplicate:
		res.Enqueued = AlreadyEnqueued
	default:
		res.Enqueued = Published
	}
}
