package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultPublishTimeout bounds a publish whose context has no deadline.
const DefaultPublishTimeout = 10 * time.Second

// Publisher submits jobs to the jobs stream: the Go API for producers. It is safe for concurrent
// use, owns no goroutines and needs no Close (the caller owns the NATS connection). Build it with
// [NewPublisher]; the zero value is not usable.
type Publisher struct {
	js      jetstream.JetStream
	names   Names
	nowFunc func() time.Time
}

// NewPublisher returns a Publisher that publishes through js to the jobs stream of names.
func NewPublisher(js jetstream.JetStream, names Names) (*Publisher, error) {
	if js == nil {
		return nil, errors.New("jobs: publisher: nil JetStream")
	}
	if err := names.Validate(); err != nil {
		return nil, err
	}
	return &Publisher{js: js, names: names, nowFunc: time.Now}, nil
}

// EnqueueResult says where a job was stored.
type EnqueueResult struct {
	// Duplicate is true when the stream already had a job with this id within its duplicate
	// window: nothing new was stored, and Sequence is that of the first publish.
	Duplicate bool
	// Stream is the stream that stored the job.
	Stream string
	// Sequence is the job's sequence in that stream.
	Sequence uint64
	// Scheduled is true when the job's not_before was later than now: it went to the intake
	// subject ([Names.IntakeSubject]), and a worker schedules it for that time.
	Scheduled bool
}

// Enqueue stores job in the jobs stream and waits for the stream's acknowledgement. It fills in
// what a producer may leave out: RequestedAt (now, UTC, to the millisecond), Version ([Version])
// and Priority (normal). An invalid job is not published; its error is a [*ValidationError] (or
// another error matching [ErrInvalidJob]) wrapped with the job id. The message body is exactly
// what [Decode] accepts; its Nats-Msg-Id is the job id, so that enqueueing the same job again
// within the duplicate window stores nothing and reports Duplicate. A ctx without a deadline gets
// [DefaultPublishTimeout].
//
// A job whose NotBefore is later than now goes to the intake subject instead of its lane and the
// result says Scheduled; with a NotBefore in the past it runs now, as without one.
func (p *Publisher) Enqueue(ctx context.Context, job Job) (EnqueueResult, error) {
	if job.RequestedAt.IsZero() {
		job.RequestedAt = p.nowFunc().UTC().Truncate(time.Millisecond)
	}
	if job.Version == 0 {
		job.Version = Version
	}
	if job.Priority == "" {
		job.Priority = PriorityNormal
	}
	if err := job.Validate(); err != nil {
		return EnqueueResult{}, fmt.Errorf("jobs: enqueue %q: %w", job.ID, err)
	}
	data, err := encodeJob(job)
	if err != nil { // only a RequestedAt outside years 0–9999 fails to encode
		return EnqueueResult{}, fmt.Errorf("jobs: enqueue %s: %w: %v", job.ID, ErrInvalidJob, err)
	}
	// Decode is what every worker runs; a job it would reject must not reach the stream. This also
	// checks the size against MaxJobSize.
	if _, err := Decode(data); err != nil {
		return EnqueueResult{}, fmt.Errorf("jobs: enqueue %s: %w", job.ID, err)
	}
	subject, scheduled := p.names.SubjectFor(job), job.NotBefore.After(p.nowFunc())
	if scheduled {
		subject = p.names.IntakeSubject(job)
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, job.MsgID())
	msg.Header.Set("Content-Type", "application/json")
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPublishTimeout)
		defer cancel()
	}
	stream := p.names.JobsStream()
	ack, err := p.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(stream))
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		return EnqueueResult{}, fmt.Errorf("jobs: enqueue %s to %s: no stream stores it (is %s provisioned?): %w", job.ID, msg.Subject, stream, err)
	}
	if err != nil {
		return EnqueueResult{}, fmt.Errorf("jobs: enqueue %s to %s in %s: %w", job.ID, msg.Subject, stream, err)
	}
	return EnqueueResult{Duplicate: ack.Duplicate, Stream: ack.Stream, Sequence: ack.Sequence, Scheduled: scheduled}, nil
}

// encodeJob renders job as compact JSON without HTML escaping, which other languages read as is.
func encodeJob(job Job) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(job); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
