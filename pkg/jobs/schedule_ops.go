package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The cancel headers. [Scheduler.Cancel] replaces a pending schedule by one due now that carries
// them; the server copies every header but its own (Nats-Schedule*, Nats-Expected-*,
// Nats-Msg-Id, Nats-TTL, Nats-Rollup: nats-server v2.15.2 server/scheduler.go:221-237, verified
// by TestCancelHeadersSurviveFiring) into the fired copy, and a worker that takes a fired copy
// (one with a valid [SchedulerHeader]) carrying CanceledByHeader ends the job canceled. On any
// other message the worker ignores them: a producer may set them, the server's Nats-Scheduler it
// may not.
const (
	// CanceledByHeader names who canceled the job: an operator, "job <id> (<requested_by>)" for
	// a cancel job, "reactivation <id> (<requested_by>)" for a reactivation.
	CanceledByHeader = "Genesys-Canceled-By"
	// CancelReasonHeader is why.
	CancelReasonHeader = "Genesys-Cancel-Reason"
)

// maxCancelHeader bounds the bytes of a cancel header value.
const maxCancelHeader = 512

// ErrNotPending is what [Scheduler.Cancel] and [Scheduler.Move] return for a job the scheduled
// stream holds but that is no longer pending: it fired (it runs, or ran, in its lane) or a
// cancel replaced its schedule.
var ErrNotPending = errors.New("jobs: the scheduled job is no longer pending")

// Cancel cancels the pending scheduled job id: in one server operation, it replaces the
// job's schedule (same subject, so the server's rollup removes the old one; expected last
// subject sequence, so that nothing changed since it was read) by a schedule due now that
// carries the cancel headers. The server fires it at once; the worker that takes the fired copy
// ends the job canceled with an audit event naming by and reason, without calling Genesys.
//
// A job that fired already (or whose schedule a cancel replaced) is [ErrNotPending], one the
// stream has no message about [ErrNotScheduled]. In a replicated stream a cancel racing the fire
// may both succeed (the expected-sequence check runs before the proposal): then two copies reach
// the lane and the first one a worker takes decides; the second ends "already finished". The
// caller learns the real outcome from the job's status.
func (s *Scheduler) Cancel(ctx context.Context, id, by, reason string) (Scheduled, error) {
	by, reason = cancelHeader(by), cancelHeader(reason)
	if by == "" {
		return Scheduled{}, fmt.Errorf("jobs: cancel %s: say who cancels it", id)
	}
	return s.replace(ctx, id, "cancel", func(job *Job, msg *nats.Msg) {
		msg.Header.Set(hdrSchedule, "@at "+time.Now().UTC().Format(time.RFC3339Nano))
		msg.Header.Set(CanceledByHeader, by)
		if reason != "" {
			msg.Header.Set(CancelReasonHeader, reason)
		}
	})
}

// Move moves the pending scheduled job id to at (a time in the past fires now): the same atomic
// replacement as [Scheduler.Cancel], with the body's not_before changed to at. A job that is not
// pending is [ErrNotPending] or [ErrNotScheduled].
func (s *Scheduler) Move(ctx context.Context, id string, at time.Time) (Scheduled, error) {
	if at.IsZero() {
		return Scheduled{}, fmt.Errorf("jobs: move %s: no time given", id)
	}
	return s.replace(ctx, id, "move", func(job *Job, msg *nats.Msg) {
		job.NotBefore = at
		msg.Header.Set(hdrSchedule, "@at "+at.UTC().Format(time.RFC3339Nano))
	})
}

// replace publishes a new schedule over the pending one of id, as edit makes it.
func (s *Scheduler) replace(ctx context.Context, id, what string, edit func(*Job, *nats.Msg)) (Scheduled, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPublishTimeout)
		defer cancel()
	}
	cur, err := s.Lookup(ctx, id)
	if err != nil {
		return Scheduled{}, fmt.Errorf("jobs: %s %s: %w", what, id, err)
	}
	if !cur.Pending() {
		return cur, fmt.Errorf("jobs: %s %s: %w: %s", what, id, ErrNotPending, cur.describe())
	}
	job := cur.Job
	msg := nats.NewMsg(cur.Subject)
	edit(&job, msg)
	data, err := encodeJob(job)
	if err != nil {
		return Scheduled{}, fmt.Errorf("jobs: %s %s: %w", what, id, err)
	}
	msg.Data = data
	msg.Header.Set("Content-Type", "application/json")
	msg.Header.Set(hdrScheduleTarget, s.names.DueSubject(job))
	msg.Header.Set(hdrScheduleTTL, strconv.FormatInt(int64(s.keep/time.Second), 10)+"s")
	// The server adds Nats-Rollup: sub to a schedule, so this one replaces the pending one on
	// the same subject; the expected sequence makes sure it is still the one read (a fire
	// purges the subject, a move or cancel replaces it).
	msg.Header.Set(hdrExpectedSubjSeq, strconv.FormatUint(cur.Sequence, 10))
	msg.Header.Set(hdrExpectedSubject, cur.Subject)
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(s.names.ScheduledStream()))
	if err != nil && wrongLastSequence(err) {
		now, lerr := s.Lookup(ctx, id)
		if lerr != nil {
			return Scheduled{}, fmt.Errorf("jobs: %s %s: %w: it changed while being %s (%v)", what, id, ErrNotPending, pastTense(what), lerr)
		}
		return now, fmt.Errorf("jobs: %s %s: %w: %s", what, id, ErrNotPending, now.describe())
	}
	if err != nil {
		return Scheduled{}, fmt.Errorf("jobs: %s %s in %s: %w", what, id, s.names.ScheduledStream(), err)
	}
	return Scheduled{Job: job, Kind: schedPending, Subject: cur.Subject, Sequence: ack.Sequence,
		CanceledBy: msg.Header.Get(CanceledByHeader), CancelReason: msg.Header.Get(CancelReasonHeader)}, nil
}

func pastTense(what string) string {
	if what == "move" {
		return "moved"
	}
	return "canceled"
}

// describe says what the stream holds about a job that is not pending.
func (s Scheduled) describe() string {
	switch {
	case s.Canceled() && s.Kind == schedDue:
		return "it was already canceled by " + s.CanceledBy + " (and ended canceled, or ends so now: see its status)"
	case s.Canceled():
		return "it was already canceled by " + s.CanceledBy + " (it ends canceled in a moment)"
	case s.Kind == schedDue:
		return "it already fired (at " + s.Job.NotBefore.UTC().Format(time.RFC3339) + "): it runs or ran in its lane; see its status"
	case s.Kind == schedCanceled:
		return "it was already canceled"
	}
	return "it is " + s.Kind
}

// CancelHeaderValue is s as [Scheduler.Cancel] stores it in a cancel header: control characters
// made spaces, trimmed and clipped.
func CancelHeaderValue(s string) string { return cancelHeader(s) }

// cancelHeader makes s fit a header value: control characters become spaces, and it is clipped.
func cancelHeader(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
	return clip(strings.TrimSpace(s), maxCancelHeader)
}

// PendingQuery selects what [Scheduler.Pending] lists.
type PendingQuery struct {
	// Users lists only the jobs of these users (by [UserToken]: one identifier kind each; list
	// every identifier a user has to find all of its jobs). Empty: every user.
	Users []UserRef
	// History adds the fired copies (kept ScheduledKeep), whose jobs run or ran in their lane.
	History bool
	// Limit bounds how many are returned (0: 10000); Pending reports more with ErrTooMany.
	Limit int
}

// ErrTooMany is what [Scheduler.Pending] returns with the first Limit entries when there are more.
var ErrTooMany = errors.New("jobs: more scheduled jobs than the limit")

// DefaultPendingLimit is the Limit of a [PendingQuery] that gives none.
const DefaultPendingLimit = 10000

// Pending lists the scheduled jobs q selects, the last message of each subject (one per job), in
// stream order, through one ephemeral consumer that it deletes when done. A schedule a cancel
// replaced and that has not fired yet is listed with CanceledBy set.
func (s *Scheduler) Pending(ctx context.Context, q PendingQuery) ([]Scheduled, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPendingLimit
	}
	kinds := []string{schedPending}
	if q.History {
		kinds = append(kinds, schedDue)
	}
	var filters []string
	for _, kind := range kinds {
		if len(q.Users) == 0 {
			filters = append(filters, s.names.scheduledPrefix()+kind+".>")
		}
		for _, u := range q.Users {
			f := s.names.scheduledPrefix() + kind + ".*." + UserToken(u) + ".*"
			if !slices.Contains(filters, f) {
				filters = append(filters, f)
			}
		}
	}
	stream := s.names.ScheduledStream()
	cons, err := s.js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Description:       "list scheduled jobs",
		FilterSubjects:    filters,
		DeliverPolicy:     jetstream.DeliverLastPerSubjectPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
		Replicas:          1,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: list scheduled jobs in %s: %w", stream, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = s.js.DeleteConsumer(dctx, stream, cons.CachedInfo().Name) // best effort: it expires anyway
	}()
	var out []Scheduled
	pending := cons.CachedInfo().NumPending
	for pending > 0 {
		batch, err := cons.Fetch(int(min(pending, 256)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return out, fmt.Errorf("jobs: list scheduled jobs in %s: %w", stream, err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			meta, err := msg.Metadata()
			if err != nil {
				continue
			}
			pending = meta.NumPending
			if len(out) == limit {
				return out, fmt.Errorf("%w (%d)", ErrTooMany, limit)
			}
			job, err := Decode(msg.Data())
			if err != nil {
				continue // Schedule stores only jobs that decode: nothing to list
			}
			kind, _, _ := strings.Cut(strings.TrimPrefix(msg.Subject(), s.names.scheduledPrefix()), ".")
			out = append(out, Scheduled{Job: job, Kind: kind, Subject: msg.Subject(), Sequence: meta.Sequence.Stream,
				CanceledBy: msg.Headers().Get(CanceledByHeader), CancelReason: msg.Headers().Get(CancelReasonHeader)})
		}
		if n == 0 {
			if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
				return out, fmt.Errorf("jobs: list scheduled jobs in %s: %w", stream, err)
			}
			break // what was pending went (fired or expired) meanwhile
		}
	}
	return out, ctx.Err()
}
