package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// DeadLetter is the JSON body stored on <prefix>.dead.relay.<endpoint> when the relay gives up
// on an event for an endpoint: every attempt failed, or the stored message is not an event it can
// deliver. The event stays in the audit stream too; `relay replay` can send it again once the
// endpoint works. Nats-Msg-Id is "relay:<endpoint>:<stream seq>", so a dead letter is stored once.
type DeadLetter struct {
	Endpoint  string          `json:"endpoint"`
	URL       string          `json:"url"` // scheme://host/path only
	Stream    string          `json:"stream"`
	StreamSeq uint64          `json:"stream_seq"`
	Subject   string          `json:"subject"`
	StoredAt  time.Time       `json:"stored_at"`
	DeadAt    time.Time       `json:"dead_at"`
	Reason    string          `json:"reason"`
	Attempts  []Attempt       `json:"attempts"`
	Event     json.RawMessage `json:"event,omitempty"`      // the stored event, when it is JSON
	EventText string          `json:"event_text,omitempty"` // the stored bytes, when they are not
}

// Headers of a relay dead letter, for filtering without decoding.
const (
	HeaderRelayEndpoint  = "Relay-Endpoint"
	HeaderRelayStreamSeq = "Relay-Stream-Seq"
)

func (dl *DeadLetter) setEvent(data []byte) {
	if json.Valid(data) {
		dl.Event = json.RawMessage(data)
		return
	}
	dl.EventText = audit.Clip(string(data), audit.MaxEventSize)
}

// deadSubject is where dead letters for endpoint go.
func (r *Relay) deadSubject(endpoint string) string { return r.cfg.Prefix + ".dead.relay." + endpoint }

// publishDeadLetter stores dl and waits for the stream's acknowledgement; a duplicate counts.
func (r *Relay) publishDeadLetter(ctx context.Context, dl DeadLetter) error {
	if dl.Attempts == nil {
		dl.Attempts = []Attempt{}
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // keep the event's bytes as stored
	if err := enc.Encode(dl); err != nil {
		return fmt.Errorf("audit: encode dead letter: %w", err)
	}
	msg := nats.NewMsg(r.deadSubject(dl.Endpoint))
	msg.Data = bytes.TrimSuffix(body.Bytes(), []byte("\n"))
	msg.Header.Set(jetstream.MsgIDHeader, "relay:"+dl.Endpoint+":"+strconv.FormatUint(dl.StreamSeq, 10))
	msg.Header.Set("Content-Type", "application/json")
	msg.Header.Set(HeaderRelayEndpoint, dl.Endpoint)
	msg.Header.Set(HeaderRelayStreamSeq, strconv.FormatUint(dl.StreamSeq, 10))
	var opts []jetstream.PublishOpt
	if r.cfg.DeadStream != "" {
		opts = append(opts, jetstream.WithExpectStream(r.cfg.DeadStream))
	}
	if _, err := r.cfg.JetStream.PublishMsg(ctx, msg, opts...); err != nil {
		return fmt.Errorf("audit: publish relay dead letter to %s: %w", msg.Subject, err)
	}
	return nil
}
