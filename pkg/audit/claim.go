package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrIDClaimed matches (with errors.Is) an [*IDClaimedError]: a publish was acknowledged as a
// duplicate, but the message the stream holds under that Nats-Msg-Id is not the one meant.
//
// A stream drops a second message with the same Nats-Msg-Id across all its subjects, and NATS
// permissions cannot restrict headers: any role that may publish on some subject of a stream
// (the relay and operators on <prefix>.audit.ops.*, the relay on <prefix>.dead.relay.>) can
// publish first with an id it can predict and so make a later message vanish as a "duplicate".
// A duplicate acknowledgement is therefore never taken on trust: the stored message is read back
// and compared.
var ErrIDClaimed = errors.New("audit: message id taken by another message")

// IDClaimedError says which message holds an id that a publish needed.
type IDClaimedError struct {
	ID      string // the Nats-Msg-Id
	Stream  string // the stream that holds it
	Seq     uint64 // the claiming message's sequence
	Subject string // its subject; "" when it could not be read (deleted since)
}

func (e *IDClaimedError) Error() string {
	subject := e.Subject
	if subject == "" {
		subject = "(no longer readable)"
	}
	return fmt.Sprintf("audit: message id %s is taken in %s by message %d on %s, which is not this message", e.ID, e.Stream, e.Seq, subject)
}

// Is reports whether target is [ErrIDClaimed].
func (e *IDClaimedError) Is(target error) bool { return target == ErrIDClaimed }

// CheckDuplicate is what a publisher does with a duplicate acknowledgement: it reads the stored
// message ack points at ($JS.API.STREAM.MSG.GET.<stream>) and asks same whether it is the message
// that was meant (compare the subject and the identity in the body, not the bytes: a redelivered
// job's message differs in its time). It returns nil for an ack that is not a duplicate or whose
// stored message is the one meant, an [*IDClaimedError] when it is another (or is gone), and an
// error when the stored message cannot be read.
func CheckDuplicate(ctx context.Context, js jetstream.JetStream, ack *jetstream.PubAck, id string, same func(*jetstream.RawStreamMsg) bool) error {
	if ack == nil || !ack.Duplicate {
		return nil
	}
	s, err := js.Stream(ctx, ack.Stream)
	if err != nil {
		return fmt.Errorf("audit: check duplicate %s: open stream %s: %w", id, ack.Stream, err)
	}
	m, err := s.GetMsg(ctx, ack.Sequence)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return &IDClaimedError{ID: id, Stream: ack.Stream, Seq: ack.Sequence}
	}
	if err != nil {
		return fmt.Errorf("audit: check duplicate %s: read message %d of %s: %w", id, ack.Sequence, ack.Stream, err)
	}
	if !same(m) {
		return &IDClaimedError{ID: id, Stream: ack.Stream, Seq: ack.Sequence, Subject: m.Subject}
	}
	return nil
}

// identity is what names an event in its body: the same for every encoding of one event.
type identity struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Kind     string `json:"kind"` // ops events
		Unmapped struct {
			JobID   string  `json:"job_id"`
			Outcome Outcome `json:"outcome"`
		} `json:"unmapped"` // user events
	} `json:"data"`
}

// sameEvent reports whether the stored message m is the event whose encoding is data on subject
// (prefix is the publisher's subject prefix). An ops event must match in subject, id, type and
// kind. A user event matches a stored user event (on <prefix>.audit.user.>, where only workers may
// publish) with the same id and job id, whatever its outcome: a redelivered job that reaches
// another outcome still has one terminal event, the first.
func sameEvent(m *jetstream.RawStreamMsg, prefix, subject string, data []byte) bool {
	var got, want identity
	if json.Unmarshal(m.Data, &got) != nil || json.Unmarshal(data, &want) != nil || got.ID != want.ID {
		return false
	}
	userType := TypePrefix + "user."
	if strings.HasPrefix(want.Type, userType) {
		return strings.HasPrefix(m.Subject, prefix+"."+routeUser) && strings.HasPrefix(got.Type, userType) &&
			got.Data.Unmapped.JobID == want.Data.Unmapped.JobID
	}
	return m.Subject == subject && got == want
}
