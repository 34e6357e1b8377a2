package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// State is where a job stands.
type State string

const (
	// StateRunning: a worker has taken the job and not finished it.
	StateRunning State = "running"
	// StateDone: the job has its terminal outcome and audit event.
	StateDone State = "done"
	// StateScheduled: a worker stored the job as a message schedule; it waits for its not_before
	// (Status.NotBefore).
	StateScheduled State = "scheduled"
)

// Status is the record a worker keeps of a job in the status bucket, under
// the job id. Producers read it to learn how their job ended (enqueue
// --wait); a worker that receives a job again reads it to carry on
// truthfully from the steps already done.
type Status struct {
	JobID      string        `json:"job_id"`
	State      State         `json:"state"`
	Outcome    audit.Outcome `json:"outcome,omitempty"`
	Attempts   []Attempt     `json:"attempts,omitempty"` // failed attempts, oldest first
	Steps      Steps         `json:"steps"`
	Error      string        `json:"error,omitempty"` // the final error of a failed outcome
	Priority   Priority      `json:"priority,omitempty"`
	DryRun     bool          `json:"dry_run,omitempty"`
	StreamSeq  uint64        `json:"stream_seq,omitempty"`
	Worker     string        `json:"worker,omitempty"` // the worker that wrote this record
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
	FinishedAt time.Time     `json:"finished_at,omitzero"`
	// NotBefore is the stored not_before of a scheduled job (state scheduled): the date its
	// schedule holds, which a re-sent job with another date does not change.
	NotBefore time.Time `json:"not_before,omitzero"`

	// User and Action (with DryRun) bind the job id to the job's content from the first write
	// on: a message that arrives later with the same id but asks for something else is not this
	// job (see [Status.BelongsTo]). User is [UserRef.Key]; both are empty for a message that
	// could not be read.
	User   string `json:"user,omitempty"`
	Action Action `json:"action,omitempty"`
	// Decided is the outcome the worker reached. It is written when the results could not be
	// stored (the audit stream refused the event, say), so that a redelivery stores the same
	// outcome without calling Genesys again, and with the final record.
	Decided *Decided `json:"decided,omitempty"`
	// EventID is the id the job's terminal audit event is stored under when it is not
	// audit.EventID(JobID): another message had taken that id (see audit.ErrIDClaimed), and a
	// random one is recorded here before the event is published, so that a redelivery reuses it.
	EventID string `json:"event_id,omitempty"`
	// DeadLetterID is, likewise, the Nats-Msg-Id of the job's dead letter when "dead:<job id>" was
	// taken by another message.
	DeadLetterID string `json:"dead_letter_id,omitempty"`

	// rev is the bucket revision this record was read at (0: not stored yet);
	// Save writes only over that revision.
	rev uint64
}

// Steps records what the plan has done, so that a job received again
// (after a crash or a lost ack) reports what really happened: the worker's
// bookkeeping, and the findings that the audit event carries.
type Steps struct {
	Resolved   bool   `json:"resolved"`
	UserID     string `json:"user_id,omitempty"`
	UserName   string `json:"user_name,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	WasActive  bool   `json:"was_active"` // active when first resolved
	// PatchSent is written before the PATCH: if the worker dies before it
	// hears the answer, the next one finds an inactive user and knows that
	// the PATCH was most likely its own, so the outcome stays "deactivated".
	PatchSent   bool `json:"patch_sent"`
	Deactivated bool `json:"deactivated"` // Genesys answered active:false to our PATCH
	// Reactivated: Genesys answered active:true to a reactivation's PATCH.
	Reactivated bool `json:"reactivated,omitempty"`
	// Findings is what the steps found (roles and grants before, tokens revoked, correlation ids,
	// each later step's own under steps): the audit event carries it as it is.
	audit.Findings
	// Done names the steps completed, in order, as of this record: a job delivered again skips
	// them (except those that run on every delivery). Steps done after the last write run again.
	Done []string `json:"done,omitempty"`
}

// IsDone reports whether a delivery recorded the step of that name done.
func (s *Steps) IsDone(name string) bool { return slices.Contains(s.Done, name) }

// MarkDone records the step of that name done.
func (s *Steps) MarkDone(name string) {
	if !s.IsDone(name) {
		s.Done = append(s.Done, name)
	}
}

// ForeignError says why a message whose job id the record st of another job holds is not run.
func ForeignError(job Job, st Status) error {
	return fmt.Errorf("%w: job id %s belongs to a different job (user %q, action %q, dry_run %t, stream sequence %d); this message asks for user %q, action %q, dry_run %t and is not carried out",
		ErrInvalidJob, job.ID, clip(st.User, 300), st.Action, st.DryRun, st.StreamSeq, clip(job.User.Key(), 300), job.Action, job.DryRun)
}

// Decided is a job's outcome as the worker decided it, before its results were stored.
type Decided struct {
	Outcome audit.Outcome `json:"outcome"`
	Error   string        `json:"error,omitempty"`   // the final error text
	Message string        `json:"message,omitempty"` // the audit event's message, when the plan had one
	Genesys *GenesysError `json:"genesys,omitempty"` // what Genesys answered, for the dead letter
}

// BelongsTo reports whether the record is that of job: the same user identifier, action and
// dry_run. A job id is chosen by its producer, so another producer can publish first with the id
// of a job to come; a record that does not belong to the job it is looked up for is not its
// result (neither for the worker nor for enqueue --wait).
func (s Status) BelongsTo(job Job) bool {
	return s.User == job.User.Key() && s.Action == job.Action && s.DryRun == job.DryRun
}

// Renew returns fresh in place of the record s, at s's revision, so that [StatusStore.Save]
// writes it over s: the record of a scheduled job (state scheduled) that a worker now runs.
func (s Status) Renew(fresh Status) Status {
	fresh.rev = s.rev
	return fresh
}

// ErrNoStatus: the status bucket has no record of the job.
var ErrNoStatus = errors.New("jobs: no status for job")

// ErrStatusChanged: the job's record changed since it was read: another
// worker took the job over (after this one lost NATS or ran past AckWait).
var ErrStatusChanged = errors.New("jobs: the job's status changed meanwhile (another worker has it)")

// StatusStore reads and writes job status records in the status bucket. It is
// safe for concurrent use.
type StatusStore struct {
	kv jetstream.KeyValue
}

// NewStatusStore opens the status bucket, which Provision creates.
func NewStatusStore(ctx context.Context, js jetstream.JetStream, names Names) (*StatusStore, error) {
	kv, err := js.KeyValue(ctx, names.StatusBucket())
	if err != nil {
		return nil, fmt.Errorf("jobs: open status bucket %s: %w", names.StatusBucket(), err)
	}
	return &StatusStore{kv: kv}, nil
}

// Get returns the status of a job, or ErrNoStatus.
func (s *StatusStore) Get(ctx context.Context, jobID string) (Status, error) {
	e, err := s.kv.Get(ctx, jobID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Status{}, fmt.Errorf("%w %s", ErrNoStatus, jobID)
	}
	if err != nil {
		return Status{}, fmt.Errorf("jobs: read status of %s: %w", jobID, err)
	}
	var st Status
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return Status{}, fmt.Errorf("jobs: decode status of %s: %w", jobID, err)
	}
	st.rev = e.Revision()
	return st, nil
}

// Save writes a job's status by compare-and-set: only if the record is still
// the one st was read from (or, for a new record, if there is none yet), so
// that a worker that lost NATS for a while can never overwrite what another
// worker wrote since — a write the client buffered while disconnected and
// sent on reconnect included. ErrStatusChanged otherwise. st's revision
// moves on with each write.
func (s *StatusStore) Save(ctx context.Context, st *Status) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("jobs: encode status of %s: %w", st.JobID, err)
	}
	var rev uint64
	if st.rev == 0 {
		rev, err = s.kv.Create(ctx, st.JobID, data)
	} else {
		rev, err = s.kv.Update(ctx, st.JobID, data, st.rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return fmt.Errorf("%w: %s", ErrStatusChanged, st.JobID)
	}
	if err != nil {
		return fmt.Errorf("jobs: write status of %s: %w", st.JobID, err)
	}
	st.rev = rev
	return nil
}

// Put writes a job's status unconditionally, over whatever is stored. Workers
// use Save.
func (s *StatusStore) Put(ctx context.Context, st Status) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("jobs: encode status of %s: %w", st.JobID, err)
	}
	if _, err := s.kv.Put(ctx, st.JobID, data); err != nil {
		return fmt.Errorf("jobs: write status of %s: %w", st.JobID, err)
	}
	return nil
}

// Watch follows the status of one job until ctx ends; it is what a producer
// waiting for its job's outcome uses. The caller stops the watcher.
func (s *StatusStore) Watch(ctx context.Context, jobID string) (jetstream.KeyWatcher, error) {
	w, err := s.kv.Watch(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("jobs: watch status of %s: %w", jobID, err)
	}
	return w, nil
}
