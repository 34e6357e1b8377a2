package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The headers of a JetStream message schedule (ADR-51; nats-server v2.15.2 server/scheduler.go).
// nats.go has constants for them, but its WithScheduleAt formats the time to the second, which
// would fire a job up to a second before its not_before: Scheduler writes the header itself.
const (
	hdrSchedule        = "Nats-Schedule"
	hdrScheduleTarget  = "Nats-Schedule-Target"
	hdrScheduleTTL     = "Nats-Schedule-TTL"
	hdrExpectedSubjSeq = "Nats-Expected-Last-Subject-Sequence"
	hdrExpectedSubject = "Nats-Expected-Last-Subject-Sequence-Subject"
	// SchedulerHeader is set by the server on a fired copy to the subject of the schedule that
	// produced it; clients cannot set it (see [Names.CheckFired]).
	SchedulerHeader = "Nats-Scheduler"
)

// ErrIDTokenCollision is what [Scheduler.Schedule] returns when the scheduled stream holds a job
// with another id under the same [IDToken]: 128 bits of SHA-256 make it a forgery or a bug, never
// chance, and the job cannot be scheduled. It matches [ErrInvalidJob].
var ErrIDTokenCollision = wrapInvalid("another job id has the same id token in the scheduled stream")

// ErrNotScheduled is what [Scheduler.Lookup] returns when the scheduled stream has nothing about an id.
var ErrNotScheduled = errors.New("jobs: no scheduled job with this id")

// Scheduler stores scheduled jobs in the scheduled stream and finds them by id. It is safe for
// concurrent use, owns no goroutines and needs no Close. Build it with [NewScheduler].
type Scheduler struct {
	js    jetstream.JetStream
	names Names
	keep  time.Duration
}

// NewScheduler returns a Scheduler on the scheduled stream of names. keep is the
// TopologyConfig.ScheduledKeep of the deployment (0: its default), the life of the tombstones.
func NewScheduler(js jetstream.JetStream, names Names, keep time.Duration) (*Scheduler, error) {
	if js == nil {
		return nil, errors.New("jobs: scheduler: nil JetStream")
	}
	if err := names.Validate(); err != nil {
		return nil, err
	}
	keep = TopologyConfig{ScheduledKeep: keep}.withDefaults().ScheduledKeep
	if keep < time.Second {
		return nil, fmt.Errorf("jobs: scheduler: keep %v is shorter than 1s", keep)
	}
	return &Scheduler{js: js, names: names, keep: keep}, nil
}

// Scheduled is what the scheduled stream holds about one job id.
type Scheduled struct {
	// Job is the stored job (its id is the one asked for).
	Job Job
	// Kind is "at" for a pending schedule, "due" for the copy fired at its time, "canceled" for
	// the record of a canceled schedule.
	Kind string
	// Subject and Sequence locate the message in the scheduled stream.
	Subject  string
	Sequence uint64
	// CanceledBy and CancelReason are the cancel headers of a schedule that a cancel replaced
	// (see [Scheduler.Cancel]); empty otherwise.
	CanceledBy, CancelReason string
}

// Pending reports whether the job has not fired yet and no cancel replaced its schedule.
func (s Scheduled) Pending() bool { return s.Kind == schedPending && s.CanceledBy == "" }

// Canceled reports whether a cancel replaced the job's schedule (which then fires at once, and
// the worker ends the job canceled).
func (s Scheduled) Canceled() bool { return s.CanceledBy != "" }

// ScheduleResult says what [Scheduler.Schedule] did.
type ScheduleResult struct {
	// Duplicate is true when the stream already held a job with this id (pending, fired or
	// canceled): nothing was stored, and Existing is what it holds.
	Duplicate bool
	// Existing is the stored message about the id when Duplicate.
	Existing Scheduled
	// Sequence is the new schedule's sequence in the scheduled stream, when not Duplicate.
	Sequence uint64
}

// Schedule stores job (which must have a NotBefore; a past one fires at once) as a message
// schedule on [Names.ScheduleSubject], targeting [Names.DueSubject]. It is deduplicated by job id
// for any horizon: the publish expects no message on [Names.ScheduledIDFilter] of the id (a
// wildcard over every kind, lane and user), so a second job with the same id is refused while the
// first is pending, and after it fired or was canceled for as long as the tombstone lives (keep).
// Such a refusal reports Duplicate with what the stream holds; another id under the same token is
// [ErrIDTokenCollision]. A ctx without a deadline gets [DefaultPublishTimeout].
func (s *Scheduler) Schedule(ctx context.Context, job Job) (ScheduleResult, error) {
	if job.NotBefore.IsZero() {
		return ScheduleResult{}, fmt.Errorf("jobs: schedule %s: %w: no not_before", job.ID, ErrInvalidJob)
	}
	data, err := encodeJob(job)
	if err != nil {
		return ScheduleResult{}, fmt.Errorf("jobs: schedule %s: %w: %v", job.ID, ErrInvalidJob, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPublishTimeout)
		defer cancel()
	}
	msg := nats.NewMsg(s.names.ScheduleSubject(job))
	msg.Data = data
	msg.Header.Set("Content-Type", "application/json")
	// RFC3339Nano: the server parses it with time.RFC3339, which accepts a fraction (verified by
	// TestScheduleFiresAtItsTime: a job never fires before its not_before).
	msg.Header.Set(hdrSchedule, "@at "+job.NotBefore.UTC().Format(time.RFC3339Nano))
	msg.Header.Set(hdrScheduleTarget, s.names.DueSubject(job))
	msg.Header.Set(hdrScheduleTTL, strconv.FormatInt(int64(s.keep/time.Second), 10)+"s")
	// The expected-sequence subject may be a wildcard: the server looks it up with LoadLastMsg
	// (server/stream.go:6775-6797). Verified on a single server v2.15.2 by
	// TestScheduleDeduplicatesByIDForAnyHorizon (refused with 10071 while pending and after
	// firing, under another user and lane too). Unverified: a replicated stream's in-flight guard,
	// keyed by the literal filter, against a concurrent publish on a subject it covers (slice 4).
	msg.Header.Set(hdrExpectedSubjSeq, "0")
	msg.Header.Set(hdrExpectedSubject, s.names.ScheduledIDFilter(job.ID))
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(s.names.ScheduledStream()))
	if err == nil {
		return ScheduleResult{Sequence: ack.Sequence}, nil
	}
	if !wrongLastSequence(err) {
		return ScheduleResult{}, fmt.Errorf("jobs: schedule %s in %s: %w", job.ID, s.names.ScheduledStream(), err)
	}
	have, lerr := s.Lookup(ctx, job.ID)
	switch {
	case errors.Is(lerr, ErrIDTokenCollision):
		return ScheduleResult{}, fmt.Errorf("jobs: schedule %s: %w", job.ID, lerr)
	case lerr != nil: // the message that refused this one went away (it expired): try again later
		return ScheduleResult{}, fmt.Errorf("jobs: schedule %s: refused as a duplicate, but: %w", job.ID, lerr)
	}
	return ScheduleResult{Duplicate: true, Existing: have}, nil
}

// wrongLastSequence reports a publish refused by its expected last subject sequence: 10071, or
// 10164 from a replicated stream's in-flight check.
func wrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Lookup returns the last message the scheduled stream holds about job id: the pending schedule,
// the fired copy or the cancel record. It returns [ErrNotScheduled] when there is none, and
// [ErrIDTokenCollision] when the message is about another id.
func (s *Scheduler) Lookup(ctx context.Context, id string) (Scheduled, error) {
	stream, err := s.js.Stream(ctx, s.names.ScheduledStream())
	if err != nil {
		return Scheduled{}, fmt.Errorf("jobs: look up scheduled job %s: %w", id, err)
	}
	// The stream allows direct gets, so nats.go asks $JS.API.DIRECT.GET.<stream>.<filter> with the
	// wildcard filter in the subject; v2.15.2 answers it with the last message of any subject the
	// filter covers (verified by TestScheduleAYearAhead and the duplicate tests).
	m, err := stream.GetLastMsgForSubject(ctx, s.names.ScheduledIDFilter(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Scheduled{}, fmt.Errorf("%w: %s", ErrNotScheduled, id)
	}
	if err != nil {
		return Scheduled{}, fmt.Errorf("jobs: look up scheduled job %s: %w", id, err)
	}
	job, err := Decode(m.Data)
	if err != nil {
		return Scheduled{}, fmt.Errorf("jobs: look up scheduled job %s: message %d: %w", id, m.Sequence, err)
	}
	if job.ID != id {
		return Scheduled{}, fmt.Errorf("%w: %s and %s", ErrIDTokenCollision, clip(id, 128), job.ID)
	}
	kind, _, _ := strings.Cut(strings.TrimPrefix(m.Subject, s.names.scheduledPrefix()), ".")
	return Scheduled{Job: job, Kind: kind, Subject: m.Subject, Sequence: m.Sequence,
		CanceledBy: m.Header.Get(CanceledByHeader), CancelReason: m.Header.Get(CancelReasonHeader)}, nil
}
