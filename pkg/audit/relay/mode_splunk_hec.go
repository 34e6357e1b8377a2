package relay

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// ModeSplunkHEC posts a Splunk HTTP Event Collector envelope {"time","source","sourcetype",
// "index","event"} whose event is the CloudEvent, with "Authorization: Splunk <token>".
const ModeSplunkHEC Mode = "splunk-hec"

// DefaultHECSourcetype is the sourcetype of HEC envelopes when [HECSettings.Sourcetype] is empty.
const DefaultHECSourcetype = "_json"

// HECSettings are the settings of [ModeSplunkHEC].
type HECSettings struct {
	// Token is the Splunk HEC token. Required.
	Token string
	// Index and Source fill the envelope; empty ones are left out (the token's defaults apply,
	// and Source defaults to the CloudEvents source).
	Index, Source string
	// Sourcetype fills the envelope. Defaults to "_json".
	Sourcetype string
}

// splunkHEC is the adapter of ModeSplunkHEC.
type splunkHEC struct{ s HECSettings }

func newSplunkHEC(ep Endpoint) Adapter {
	s := ep.HEC
	s.Sourcetype = cmp.Or(s.Sourcetype, DefaultHECSourcetype)
	return splunkHEC{s: s}
}

func (a splunkHEC) Validate() error {
	if a.s.Token == "" {
		return errors.New("mode splunk-hec needs a HEC token")
	}
	return nil
}

func (a splunkHEC) Prepare(_ context.Context, d *Delivery) (*Prepared, error) {
	h := http.Header{}
	h.Set("Authorization", "Splunk "+a.s.Token)
	return &Prepared{Body: a.envelope(d), ContentType: "application/json", Header: h}, nil
}

func (a splunkHEC) Secrets() []string { return []string{a.s.Token} }

// hecEvent is the Splunk HTTP Event Collector envelope (services/collector/event).
type hecEvent struct {
	Time       float64         `json:"time,omitempty"` // epoch seconds with milliseconds
	Host       string          `json:"host,omitempty"`
	Source     string          `json:"source,omitempty"`
	Sourcetype string          `json:"sourcetype,omitempty"`
	Index      string          `json:"index,omitempty"`
	Event      json.RawMessage `json:"event"`
	Fields     map[string]any  `json:"fields,omitempty"`
}

func (a splunkHEC) envelope(d *Delivery) []byte {
	ev := hecEvent{
		Source: cmp.Or(a.s.Source, d.Source), Sourcetype: a.s.Sourcetype, Index: a.s.Index, Event: d.Body,
		Fields: map[string]any{"webhook_id": d.ID, "sequence": d.Seq}, // indexed fields, for gap searches
	}
	if !d.Time.IsZero() {
		ev.Time = float64(d.Time.UnixMilli()) / 1000
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep the event's bytes as stored
	_ = enc.Encode(ev)       // cannot fail: the event is valid JSON, the rest are plain values
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
