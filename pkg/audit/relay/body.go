package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Delivery is one stored event made ready for endpoints: the body every mode starts from and
// what the headers need. Adapters read it and must not change it.
type Delivery struct {
	ID      string    // webhook-id: the CloudEvent id, or "seq_<n>" when that id is unusable
	Seq     uint64    // audit stream sequence
	Subject string    // NATS subject the event was stored on
	Body    []byte    // the stored bytes with the CloudEvents "sequence" extension added
	Time    time.Time // CloudEvents time, for envelopes such as Splunk HEC's; zero when absent
	Source  string    // CloudEvents source
}

// webhookIDRE is what the relay accepts as a webhook-id: no '.', which the signed content uses as
// a separator, and nothing a header could trip on.
var webhookIDRE = regexp.MustCompile(`^[A-Za-z0-9_:-]{1,128}$`)

// FormatSequence renders an audit stream sequence as the CloudEvents "sequence" extension: 20
// decimal digits, zero padded, so that string order is numeric order as the extension requires.
func FormatSequence(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// prepareDelivery turns a stored event into a delivery. The body is the stored bytes with one
// member, "sequence":"<20 digits>", inserted after the opening brace; nothing else changes, so
// every other attribute, and data, keeps the exact bytes the worker stored. A stored event that
// already has a top-level "sequence" keeps it unchanged. Signatures cover the delivered bytes.
// An event that is not a JSON object with a string id is refused: it goes to the dead letters.
func prepareDelivery(data []byte, seq uint64, subject string) (*Delivery, error) {
	var head struct {
		ID       *string         `json:"id"`
		Source   string          `json:"source"`
		Time     string          `json:"time"`
		Sequence json.RawMessage `json:"sequence"`
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("stored message is not a JSON object")
	}
	if err := json.Unmarshal(trimmed, &head); err != nil {
		return nil, fmt.Errorf("stored message is not a CloudEvent: %v", audit.Clip(err.Error(), 200))
	}
	if head.ID == nil || *head.ID == "" {
		return nil, errors.New("stored event has no id")
	}
	d := &Delivery{ID: *head.ID, Seq: seq, Subject: subject, Source: head.Source}
	if !webhookIDRE.MatchString(d.ID) {
		d.ID = "seq_" + strconv.FormatUint(seq, 10)
	}
	if t, err := time.Parse(time.RFC3339Nano, head.Time); err == nil {
		d.Time = t
	}
	if head.Sequence != nil {
		d.Body = trimmed
		return d, nil
	}
	member := `"sequence":"` + FormatSequence(seq) + `"`
	rest := bytes.TrimSpace(trimmed[1:])
	b := make([]byte, 0, len(trimmed)+len(member)+1)
	b = append(b, '{')
	b = append(b, member...)
	if len(rest) > 0 && rest[0] != '}' {
		b = append(b, ',')
	}
	d.Body = append(b, trimmed[1:]...)
	return d, nil
}
