package audit

import (
	"fmt"
	"regexp"
	"time"
)

// OpsDataSchema is the dataschema of operational events: the opsData definition in the audit
// event JSON Schema. OCSF has no class for "the fleet paused" or "the guard tripped" that fits
// without bending it, so ops events carry this small object instead of OCSF.
const OpsDataSchema = "urn:offboard-dev:genesys-deactivator:schema:audit-event:v1#/$defs/opsData"

// Ops describes an operational event: something about the fleet rather than one job, such as the
// mass-deactivation guard tripping or the fleet pausing for a rate limit.
type Ops struct {
	// Kind names the event, lower case with underscores ("guard_tripped", "paused"); it ends the
	// event type and the NATS subject <prefix>.audit.ops.<kind>. Required.
	Kind string
	// Message says what happened, for people. Required.
	Message string
	// Fields adds detail (such as "limit", "retry_after_s"); at most 32, encoded in key order.
	Fields map[string]string
	// Time is when it happened. Required.
	Time time.Time
	// Key makes the event id a function of Kind and Key alone, so that workers reporting the same
	// condition store one event (NATS drops the duplicates). Defaults to the time and message.
	Key string
}

// OpsData is the data of an operational event.
type OpsData struct {
	Kind    string            `json:"kind"`
	Message string            `json:"message"`
	Time    int64             `json:"time"` // epoch milliseconds, as OCSF times
	Fields  map[string]string `json:"fields,omitempty"`
	Product Product           `json:"product"`
}

// OpsIDPrefix starts every ops event id ("ops-" and a UUID), so that ops events and the user
// events of jobs (a bare UUID, see [EventID]) are in id spaces apart that anyone can tell by
// their form. Permissions cannot enforce it (NATS does not restrict headers); it keeps our own
// events from ever colliding, and a forged claim shows as what it is.
const OpsIDPrefix = "ops-"

var kindRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// maxFields bounds Ops.Fields.
const maxFields = 32

// OpsEvent builds an operational event with type TypePrefix+"ops."+kind and NATS route
// "audit.ops.<kind>". It fails on an invalid kind, an empty message, a zero time or more than 32
// fields.
func (o Origin) OpsEvent(op Ops) (*Event, error) {
	if !kindRE.MatchString(op.Kind) {
		return nil, fmt.Errorf("audit: ops kind %q must match %s", Clip(op.Kind, 64), kindRE)
	}
	if op.Message == "" {
		return nil, fmt.Errorf("audit: ops event %s has no message", op.Kind)
	}
	if op.Time.IsZero() {
		return nil, errNoTime
	}
	if len(op.Fields) > maxFields {
		return nil, fmt.Errorf("audit: ops event %s has %d fields, limit %d", op.Kind, len(op.Fields), maxFields)
	}
	var fields map[string]string
	if len(op.Fields) > 0 {
		fields = make(map[string]string, len(op.Fields))
		for k, v := range op.Fields {
			fields[Clip(k, 64)] = Clip(v, maxText)
		}
	}
	key := op.Key
	if key == "" {
		key = op.Time.UTC().Format(time.RFC3339Nano) + "\x00" + op.Message
	}
	ev := &Event{
		SpecVersion: SpecVersion, ID: OpsIDPrefix + uuidV5(eventNamespace, "ops\x00"+op.Kind+"\x00"+key), Source: o.source(),
		Type: TypePrefix + "ops." + op.Kind, Time: formatTime(op.Time), DataContentType: DataContentType,
		DataSchema: OpsDataSchema,
		Data:       &OpsData{Kind: op.Kind, Message: Clip(op.Message, maxText), Time: op.Time.UnixMilli(), Fields: fields, Product: o.product()},
		route:      routeOps + op.Kind,
	}
	if _, err := ev.Encode(); err != nil {
		return nil, err
	}
	return ev, nil
}
