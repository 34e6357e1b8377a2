package testbed

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// StreamMsgs reads every message stored in a stream, in order.
func (b *Bed) StreamMsgs(ctx context.Context, stream string) ([]*jetstream.RawStreamMsg, error) {
	s, err := b.JS.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted (work queue)
		}
		out = append(out, m)
	}
	return out, nil
}

// StreamMsgs reads every message stored in a stream, in order.
func (b *T) StreamMsgs(stream string) []*jetstream.RawStreamMsg {
	b.TB.Helper()
	out, err := b.Bed.StreamMsgs(b.TB.Context(), stream)
	b.check(err)
	return out
}

// StreamCount is how many messages a stream holds now.
func (b *T) StreamCount(stream string) uint64 {
	b.TB.Helper()
	s, err := b.JS.Stream(b.TB.Context(), stream)
	b.check(err)
	info, err := s.Info(b.TB.Context())
	b.check(err)
	return info.State.Msgs
}

// JobsLeft is how many jobs the jobs stream holds.
func (b *T) JobsLeft() uint64 { b.TB.Helper(); return b.StreamCount(b.Names.JobsStream()) }

// AuditEvents reads the user events of the audit stream, keyed by job id. It fails the test if
// any job has two, if an event breaks the published schema, or if its subject does not name its
// outcome.
func (b *T) AuditEvents() map[string]audit.Unmapped {
	b.TB.Helper()
	schema := CompileSchema(b.TB, audit.Schema())
	out := map[string]audit.Unmapped{}
	for _, m := range b.StreamMsgs(b.Names.AuditStream()) {
		if !strings.Contains(m.Subject, ".audit.user.") {
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(m.Data)))
		b.check(err)
		if err := schema.Validate(doc); err != nil {
			b.TB.Errorf("audit event on %s breaks its schema: %v\n%s", m.Subject, err, m.Data)
		}
		ev := b.decodeUserEvent(m.Data)
		u := ev.Unmapped
		if _, dup := out[u.JobID]; dup {
			b.TB.Errorf("job %s has two terminal audit events", u.JobID)
		}
		if want := "." + string(u.Outcome) + "."; !strings.Contains(m.Subject, want) {
			b.TB.Errorf("event of outcome %s on subject %s", u.Outcome, m.Subject)
		}
		out[u.JobID] = u
	}
	return out
}

func (b *T) decodeUserEvent(data []byte) audit.AccountChange {
	b.TB.Helper()
	var ev struct {
		Data audit.AccountChange `json:"data"`
	}
	b.check(json.Unmarshal(data, &ev))
	return ev.Data
}

// EventMessage returns the OCSF message of a job's terminal audit event, or "".
func (b *T) EventMessage(jobID string) string {
	b.TB.Helper()
	for _, m := range b.StreamMsgs(b.Names.AuditStream()) {
		if !strings.Contains(m.Subject, ".audit.user.") {
			continue
		}
		if ev := b.decodeUserEvent(m.Data); ev.Unmapped.JobID == jobID {
			return ev.Message
		}
	}
	return ""
}

// OpsEvents reads the ops events of the audit stream of a kind (all kinds when kind is ""), in
// order.
func (b *T) OpsEvents(kind string) []audit.OpsData {
	b.TB.Helper()
	var out []audit.OpsData
	for _, m := range b.StreamMsgs(b.Names.AuditStream()) {
		if !strings.Contains(m.Subject, ".audit.ops.") {
			continue
		}
		var ev struct {
			Data audit.OpsData `json:"data"`
		}
		b.check(json.Unmarshal(m.Data, &ev))
		if kind == "" || ev.Data.Kind == kind {
			out = append(out, ev.Data)
		}
	}
	return out
}

// DeadLetters reads the dead letters, keyed by job id.
func (b *T) DeadLetters() map[string]jobs.DeadLetter {
	b.TB.Helper()
	out := map[string]jobs.DeadLetter{}
	for _, m := range b.StreamMsgs(b.Names.DeadStream()) {
		var dl jobs.DeadLetter
		b.check(json.Unmarshal(m.Data, &dl))
		out[dl.JobID] = dl
	}
	return out
}

// CallsByUser lists the simulator's routes called per user id, in order.
func (b *T) CallsByUser() map[string][]string {
	out := map[string][]string{}
	for _, r := range b.Sim.Requests() {
		if r.UserID != "" {
			out[r.UserID] = append(out[r.UserID], r.Route)
		}
	}
	return out
}

// CompileSchema compiles a JSON schema document, failing the test if it is not one.
func CompileSchema(t interface {
	Helper()
	Fatal(...any)
}, data []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}
