package audit

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublisherConfig configures a [Publisher].
type PublisherConfig struct {
	// Prefix starts every subject: <prefix>.audit.user.<outcome>.<user> and
	// <prefix>.audit.ops.<kind>. One or more tokens of A–Z a–z 0–9 '-' '_' separated by dots.
	// Defaults to [DefaultPrefix].
	Prefix string
	// Stream, when set, is the stream every event must land in (Nats-Expected-Stream): a publish
	// that another stream captures fails instead of bypassing the audit stream's deny-delete and
	// deny-purge guarantees. Defaults to "" (no check).
	Stream string
}

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// ValidPrefix reports whether prefix is a subject prefix [NewPublisher] accepts: one or more
// tokens of A–Z a–z 0–9 '-' '_' separated by dots.
func ValidPrefix(prefix string) bool { return prefixRE.MatchString(prefix) }

// Publisher stores audit events in JetStream, once per event id. It is safe for concurrent use;
// it owns no goroutines and needs no Close (the caller owns the NATS connection).
type Publisher struct {
	js     jetstream.JetStream
	prefix string
	stream string
}

// NewPublisher returns a Publisher that publishes through js.
func NewPublisher(js jetstream.JetStream, cfg PublisherConfig) (*Publisher, error) {
	if js == nil {
		return nil, errors.New("audit: nil JetStream")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !prefixRE.MatchString(cfg.Prefix) {
		return nil, fmt.Errorf("audit: invalid subject prefix %q", cfg.Prefix)
	}
	return &Publisher{js: js, prefix: cfg.Prefix, stream: cfg.Stream}, nil
}

// Subject returns the NATS subject ev is published on.
func (p *Publisher) Subject(ev *Event) string { return p.prefix + "." + ev.route }

// Publish stores ev and waits for the stream's acknowledgement. The message carries the encoded
// event as its body, Nats-Msg-Id set to the event id and Content-Type [ContentType]. A publish
// the stream recognises as a duplicate (ack.Duplicate) is a success only when the stored message
// is this event (for a user event: a user event with the same id and job id, whatever its
// outcome; for an ops event: the same subject, id and kind; see [CheckDuplicate]): the event is
// stored once, which is what a redelivered job needs. When
// another message holds the id, Publish returns an [*IDClaimedError] (errors.Is
// [ErrIDClaimed]) naming it. Errors start with "audit: " and wrap the cause; a ctx without a
// deadline gets the jetstream default timeout.
func (p *Publisher) Publish(ctx context.Context, ev *Event) (*jetstream.PubAck, error) {
	if ev.route == "" {
		return nil, fmt.Errorf("audit: event %q has no route; build it with Origin.UserEvent or Origin.OpsEvent", ev.ID)
	}
	data, err := ev.Encode()
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg(p.Subject(ev))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	msg.Header.Set("Content-Type", ContentType)
	var opts []jetstream.PublishOpt
	if p.stream != "" {
		opts = append(opts, jetstream.WithExpectStream(p.stream))
	}
	ack, err := p.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return nil, fmt.Errorf("audit: publish %s to %s: %w", ev.ID, msg.Subject, err)
	}
	same := func(m *jetstream.RawStreamMsg) bool { return sameEvent(m, p.prefix, msg.Subject, data) }
	if err := CheckDuplicate(ctx, p.js, ack, ev.ID, same); err != nil {
		return nil, err
	}
	return ack, nil
}
