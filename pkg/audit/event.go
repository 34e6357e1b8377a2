package audit

import (
	"bytes"
	"crypto/sha1" // UUIDv5 (RFC 9562) is defined with SHA-1; it names events, it does not protect them
	_ "embed"     // for the event JSON Schema
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CloudEvents and naming constants.
const (
	// SpecVersion is the CloudEvents version of every event.
	SpecVersion = "1.0"
	// ContentType is the NATS Content-Type header (and later the HTTP one) of an encoded event:
	// CloudEvents structured mode, so that every attribute travels, and is signed, in the body.
	ContentType = "application/cloudevents+json; charset=UTF-8"
	// DataContentType is the CloudEvents datacontenttype: data is JSON.
	DataContentType = "application/json"
	// DefaultSource is the CloudEvents source when [Origin.Source] is empty.
	DefaultSource = "urn:offboard-dev:genesys-deactivator"
	// TypePrefix starts every event type: TypePrefix+"user."+outcome or TypePrefix+"ops."+kind.
	TypePrefix = "com.offboard-dev.genesys."
	// ProductName and VendorName fill the OCSF metadata.product and actor.app_name.
	ProductName = "genesys-deactivator"
	VendorName  = "offboard-dev"
	// MaxEventSize bounds an encoded event; CloudEvents intermediaries must forward 64 KiB.
	MaxEventSize = 64 << 10
)

// schemaJSON is the audit event JSON Schema, draft 2020-12.
//
//go:embed schema/event.v1.schema.json
var schemaJSON []byte

// Schema returns a copy of the JSON Schema (draft 2020-12) every audit event satisfies.
func Schema() []byte { return append([]byte(nil), schemaJSON...) }

// Event is one audit event: a CloudEvents 1.0 event in structured mode whose data is an OCSF
// Account Change (*[AccountChange]) for a job's outcome, or an [*OpsData] for an operational event.
// Build one with [Origin.UserEvent] or [Origin.OpsEvent]; those also set the NATS subject, which
// is not part of the JSON. Field order is the encoding order, so the same event always encodes to
// the same bytes. An Event is not safe for concurrent mutation; encoding it concurrently is fine.
type Event struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject,omitempty"` // the Genesys user id, when known
	Time            string `json:"time"`              // RFC 3339, UTC, milliseconds
	DataContentType string `json:"datacontenttype"`
	DataSchema      string `json:"dataschema"`
	Data            any    `json:"data"`

	route string // NATS subject after the prefix, such as "audit.user.deactivated.<id>"
}

// Route returns the NATS subject of the event without the prefix, such as
// "audit.user.deactivated.0b5c…" or "audit.ops.guard_tripped"; "" for an event not built here.
func (e *Event) Route() string { return e.route }

// Encode returns the event as JSON: the exact bytes published on NATS and relayed to webhooks.
// HTML characters are not escaped; the output has no trailing newline.
func (e *Event) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("audit: encode event %s: %w", e.ID, err)
	}
	if b.Len()-1 > MaxEventSize {
		return nil, fmt.Errorf("audit: event %s is %d bytes, limit %d", e.ID, b.Len()-1, MaxEventSize)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Origin says who emits events. The zero value is ready to use and applies the defaults. An
// Origin is a plain value, safe for concurrent use.
type Origin struct {
	// Source is the CloudEvents source, a URI reference that names the deployment, such as
	// "urn:offboard-dev:genesys-deactivator:prod". Keep it the same on every worker: consumers
	// treat events with equal source and id as duplicates. Defaults to DefaultSource.
	Source string
	// ProductVersion is the OCSF metadata.product.version. Defaults to "dev".
	ProductVersion string
}

func (o Origin) source() string {
	if o.Source == "" {
		return DefaultSource
	}
	return o.Source
}

func (o Origin) product() Product {
	v := o.ProductVersion
	if v == "" {
		v = "dev"
	}
	return Product{Name: ProductName, VendorName: VendorName, Version: v}
}

// eventNamespace is the UUIDv5 namespace of event ids. It never changes: event ids must stay
// derivable from job ids across releases and languages.
const eventNamespace = "6f515e39-1229-489e-90b2-50dc2eb679d4"

// EventID returns the id of the terminal audit event of the job jobID: the UUIDv5 (RFC 9562) of
// jobID in the namespace 6f515e39-1229-489e-90b2-50dc2eb679d4, so any language can compute it
// (Python: uuid.uuid5(ns, job_id)). It is also the event's Nats-Msg-Id and, later, its webhook-id,
// and it depends on the job id alone, so that a redelivered job that reaches a different outcome
// still yields one stored event.
func EventID(jobID string) string { return uuidV5(eventNamespace, jobID) }

func uuidV5(namespace, name string) string {
	ns, _ := hex.DecodeString(strings.ReplaceAll(namespace, "-", ""))
	h := sha1.New()
	h.Write(ns)
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	s := hex.EncodeToString(u)
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// formatTime renders t as CloudEvents time: RFC 3339 in UTC with exactly three fraction digits.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

var errNoTime = errors.New("audit: event time is zero")

// maxTokenLen bounds a subject token built from an identifier.
const maxTokenLen = 128

// SubjectToken turns an identifier into one NATS subject token. Letters, digits, '-' and '_' pass
// through, so a Genesys user id (a UUID) is its own token; every other byte becomes '~' and two
// upper-case hex digits ("a.b" → "a~2Eb"), so '.', '*', '>' and whitespace never reach a subject.
// An empty identifier gives "unknown" (never a Genesys user id); a token that would exceed 128
// bytes becomes "~h" and 32 hex digits of its SHA-1.
func SubjectToken(id string) string {
	if id == "" {
		return "unknown"
	}
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "~%02X", c)
		}
	}
	if b.Len() > maxTokenLen {
		sum := sha1.Sum([]byte(id))
		return "~h" + hex.EncodeToString(sum[:16])
	}
	return b.String()
}
