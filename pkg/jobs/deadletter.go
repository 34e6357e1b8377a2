package jobs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// DeadLetterVersion is the layout version of [DeadLetter].
const DeadLetterVersion = 1

// MaxDeadLetterSize bounds the encoded dead letter, in bytes. [DeadLetters.Publish] cuts the job
// (and if need be the texts) of a bigger one and marks it truncated.
const MaxDeadLetterSize = 64 << 10

// DeadLetter is the JSON body stored on <prefix>.dead.<outcome> for an operator to review, and
// possibly replay as a new job with replay_of. It carries no secrets: the worker's error texts
// are already free of them, and nothing else is added. The zero value is not publishable.
type DeadLetter struct {
	Version   int             `json:"version"`           // DeadLetterVersion; Publish sets it when 0
	JobID     string          `json:"job_id"`            // a valid job id (for a message rejected without a usable one, a stand-in: "_rejected.seq-42")
	Outcome   audit.Outcome   `json:"outcome"`           // rejected, conflict, exhausted or protected
	Reason    string          `json:"reason"`            // why, for people
	Job       json.RawMessage `json:"job,omitempty"`     // the job message as received, when it is valid JSON
	RawJob    []byte          `json:"raw_job,omitempty"` // the message bytes (base64) when not valid JSON
	Subject   string          `json:"subject"`           // where the job was received
	StreamSeq uint64          `json:"stream_seq"`        // its sequence in the jobs stream
	UserID    string          `json:"user_id,omitempty"`
	Attempts  []Attempt       `json:"attempts,omitempty"` // every attempt's error (exhausted)
	Genesys   *GenesysError   `json:"genesys,omitempty"`  // what Genesys said (conflict)
	Time      time.Time       `json:"time"`               // when the job ended; Publish sets now when zero
	Worker    string          `json:"worker,omitempty"`
	Truncated bool            `json:"truncated,omitempty"` // the job or texts were cut to MaxDeadLetterSize

	// MsgID is the Nats-Msg-Id to publish with. Defaults to [DeadLetterMsgID] of JobID; the worker
	// sets another (recorded in the job status) only when that one was taken by another message.
	MsgID string `json:"-"`
}

// DeadLetterMsgID is the Nats-Msg-Id of a job's dead letter: "dead:" and the job id.
func DeadLetterMsgID(jobID string) string { return "dead:" + jobID }

// GenesysError is what Genesys Cloud answered when it refused a change.
type GenesysError struct {
	Status        int    `json:"status"`
	Code          string `json:"code,omitempty"`
	Message       string `json:"message,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
}

// DeadLetters stores dead letters in the dead-letter stream. It is safe for concurrent use, owns no
// goroutines and needs no Close. Build it with [NewDeadLetters]; the zero value is not usable.
type DeadLetters struct {
	js      jetstream.JetStream
	names   Names
	nowFunc func() time.Time
}

// NewDeadLetters returns a DeadLetters that publishes through js to the dead-letter stream of names.
func NewDeadLetters(js jetstream.JetStream, names Names) *DeadLetters {
	return &DeadLetters{js: js, names: names, nowFunc: time.Now}
}

// Publish stores dl on DeadSubject(outcome) and waits for the stream's acknowledgement, which the
// worker must have before it terminates the job. The Nats-Msg-Id is MsgID, by default "dead:" +
// JobID, so a redelivered job stores its dead letter once. A duplicate is a success only when the
// stored message is a dead letter of the same job and outcome on the same subject; when another
// message holds the id (the relay may publish on <prefix>.dead.relay.>, and headers are not
// subject to permissions), Publish returns an [*audit.IDClaimedError]. Publish refuses an
// outcome that is not dead-lettered and a JobID that is not a valid job id. It moves a Job that is
// not valid UTF-8 JSON to RawJob, and bounds the body to [MaxDeadLetterSize]. A ctx without a
// deadline gets [DefaultPublishTimeout].
func (d *DeadLetters) Publish(ctx context.Context, dl DeadLetter) error {
	if !dl.Outcome.DeadLetter() {
		return fmt.Errorf("jobs: dead letter %q: outcome %q is not dead-lettered", dl.JobID, dl.Outcome)
	}
	if len(dl.JobID) > MaxIDLength || !idRE.MatchString(dl.JobID) {
		return fmt.Errorf("jobs: dead letter: invalid job id %q", clip(dl.JobID, 64))
	}
	if dl.Version != 0 && dl.Version != DeadLetterVersion {
		return fmt.Errorf("jobs: dead letter %s: unsupported version %d", dl.JobID, dl.Version)
	}
	dl.Version = DeadLetterVersion
	if dl.Time.IsZero() {
		dl.Time = d.nowFunc().UTC()
	}
	if len(dl.Job) > 0 && (!utf8.Valid(dl.Job) || !json.Valid(dl.Job)) {
		dl.Job, dl.RawJob = nil, dl.Job
	}
	data, err := encodeDeadLetter(dl)
	if err != nil {
		return fmt.Errorf("jobs: dead letter %s: %w", dl.JobID, err)
	}
	msg := nats.NewMsg(d.names.DeadSubject(string(dl.Outcome)))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, cmp.Or(dl.MsgID, DeadLetterMsgID(dl.JobID)))
	msg.Header.Set("Content-Type", "application/json")
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPublishTimeout)
		defer cancel()
	}
	ack, err := d.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(d.names.DeadStream()))
	if err != nil {
		return fmt.Errorf("jobs: dead letter %s to %s in %s: %w", dl.JobID, msg.Subject, d.names.DeadStream(), err)
	}
	same := func(m *jetstream.RawStreamMsg) bool { return d.sameDeadLetter(m, dl) }
	return audit.CheckDuplicate(ctx, d.js, ack, msg.Header.Get(jetstream.MsgIDHeader), same)
}

// sameDeadLetter reports whether the stored message m is a dead letter of dl's job: a job dead
// letter (<prefix>.dead.<outcome>, where only workers publish; not the relay's
// <prefix>.dead.relay.>) with the same job id. Its outcome, time and attempts may differ: it may
// come from an earlier delivery, and the first one stands, as for the audit event.
func (d *DeadLetters) sameDeadLetter(m *jetstream.RawStreamMsg, dl DeadLetter) bool {
	outcome, ok := strings.CutPrefix(m.Subject, d.names.DeadSubject(""))
	if !ok || outcome == "relay" || strings.Contains(outcome, ".") {
		return false
	}
	var got struct {
		JobID string `json:"job_id"`
	}
	return json.Unmarshal(m.Data, &got) == nil && got.JobID == dl.JobID
}

// textLimit says how far encodeDeadLetter clips: each text to bytes, and the attempts to the last.
type textLimit struct{ bytes, attempts int }

// encodeDeadLetter encodes dl within MaxDeadLetterSize. When it is too big it first keeps the
// texts and cuts the job (as RawJob, since cut JSON is not JSON); only if the texts themselves
// leave too little room for the job does it clip them, then harder.
func encodeDeadLetter(dl DeadLetter) ([]byte, error) {
	data, err := marshalDeadLetter(dl)
	if err != nil || len(data) <= MaxDeadLetterSize {
		return data, err
	}
	job, isJSON := []byte(dl.Job), len(dl.Job) > 0
	if !isJSON {
		job = dl.RawJob
	}
	dl.Job, dl.RawJob, dl.Truncated = nil, nil, true
	for i, lim := range []textLimit{{-1, -1}, {1 << 10, 16}, {128, 4}} {
		c := dl.clipped(lim)
		base, err := marshalDeadLetter(c)
		if err != nil {
			return nil, err
		}
		room := MaxDeadLetterSize - len(base) - len(`,"raw_job":""`)
		rawSize := (len(job) + 2) / 3 * 4 // base64
		if room < 0 || room < min(rawSize, MaxJobSize) && i < 2 {
			continue
		}
		if isJSON && len(job) <= room {
			c.Job = job // compacting only shrinks it
		} else {
			c.RawJob = job[:min(len(job), room/4*3)]
		}
		return marshalDeadLetter(c)
	}
	return nil, fmt.Errorf("encoded dead letter exceeds %d bytes", MaxDeadLetterSize)
}

// clipped returns a copy of dl whose texts are at most lim.bytes long (plus an ellipsis) and that
// keeps only the last lim.attempts attempts; a negative limit keeps everything.
func (dl DeadLetter) clipped(lim textLimit) DeadLetter {
	if lim.bytes < 0 {
		return dl
	}
	c := func(s string) string { return clip(s, lim.bytes) }
	dl.Reason, dl.Subject, dl.UserID, dl.Worker = c(dl.Reason), c(dl.Subject), c(dl.UserID), c(dl.Worker)
	if dl.Genesys != nil {
		g := *dl.Genesys
		g.Code, g.Message, g.CorrelationID = c(g.Code), c(g.Message), c(g.CorrelationID)
		dl.Genesys = &g
	}
	attempts := dl.Attempts[max(0, len(dl.Attempts)-lim.attempts):]
	dl.Attempts = make([]Attempt, len(attempts))
	for i, a := range attempts {
		a.Error = c(a.Error)
		dl.Attempts[i] = a
	}
	return dl
}

func marshalDeadLetter(dl DeadLetter) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(dl); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
