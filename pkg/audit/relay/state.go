package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// EndpointState is what the state bucket holds for an endpoint under "endpoint.<name>". An
// endpoint without a key is enabled. Disabling pauses the endpoint's consumer: it keeps its place
// in the audit stream, its backlog stays in the stream, and enabling resumes from that place, in
// order.
type EndpointState struct {
	Enabled   bool      `json:"enabled"`
	Reason    string    `json:"reason,omitempty"` // why it was disabled (or re-enabled)
	Status    int       `json:"status,omitempty"` // the HTTP status that disabled it (410), if any
	ChangedAt time.Time `json:"changed_at"`
	ChangedBy string    `json:"changed_by"` // "relay" or "operator"
}

const (
	// maxReasonText bounds the reason of an endpoint state, as the audit event bounds its text fields.
	maxReasonText  = 1024
	stateKeyPrefix = "endpoint."
	// pauseFor is how far a disabled endpoint's consumer is paused: "until enabled". A century
	// stays below time.Duration's 292-year limit, which the server's resume timer uses.
	pauseFor = 100 * 365 * 24 * time.Hour
)

// ConsumerName is the durable consumer of an endpoint on the audit stream.
func ConsumerName(endpoint string) string { return "relay-" + endpoint }

func stateOrDefault(states map[string]EndpointState, name string) EndpointState {
	if st, ok := states[name]; ok {
		return st
	}
	return EndpointState{Enabled: true}
}

// decodeStateEntry reads a watched entry: a deleted key, or one that does not decode, is enabled.
func decodeStateEntry(e jetstream.KeyValueEntry) (string, EndpointState) {
	name := strings.TrimPrefix(e.Key(), stateKeyPrefix)
	st := EndpointState{Enabled: true}
	if e.Operation() == jetstream.KeyValuePut {
		if err := json.Unmarshal(e.Value(), &st); err != nil {
			st = EndpointState{Enabled: true}
		}
	}
	return name, st
}

// EndpointAdmin reads and changes endpoint states: what `relay endpoints list|enable|disable`
// does, and what the relay does on a 410. It needs no endpoint configuration, only the stream,
// bucket and prefix of a [Config]. It is safe for concurrent use and owns no goroutines.
type EndpointAdmin struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	stream string // the relay stream, where the endpoints' consumers are
	pub    *audit.Publisher
	origin audit.Origin
	now    func() time.Time
}

// NewEndpointAdmin opens (or creates) cfg's state bucket. Only JetStream, Prefix, AuditStream,
// RelayStream, StateBucket, Replicas and Origin of cfg matter. It does not create the relay
// stream: the relay does.
func NewEndpointAdmin(ctx context.Context, cfg Config) (*EndpointAdmin, error) {
	cfg.Endpoints = nil
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newEndpointAdmin(ctx, cfg)
}

func newEndpointAdmin(ctx context.Context, cfg Config) (*EndpointAdmin, error) {
	kv, err := cfg.JetStream.KeyValue(ctx, cfg.StateBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = cfg.JetStream.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: cfg.StateBucket, Description: "webhook relay: endpoint states and attempts of events being retried",
			History: 1, Replicas: cfg.Replicas,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("audit: relay state bucket %s: %w", cfg.StateBucket, err)
	}
	pub, err := audit.NewPublisher(cfg.JetStream, audit.PublisherConfig{Prefix: cfg.Prefix, Stream: cfg.AuditStream})
	if err != nil {
		return nil, err
	}
	return &EndpointAdmin{js: cfg.JetStream, kv: kv, stream: cfg.RelayStream, pub: pub, origin: cfg.Origin, now: cfg.nowFunc}, nil
}

// State returns the endpoint's state; enabled when none is stored.
func (a *EndpointAdmin) State(ctx context.Context, name string) (EndpointState, error) {
	e, err := a.kv.Get(ctx, stateKeyPrefix+name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return EndpointState{Enabled: true}, nil
	}
	if err != nil {
		return EndpointState{}, fmt.Errorf("audit: endpoint %s state: %w", name, err)
	}
	_, st := decodeStateEntry(e)
	return st, nil
}

// Disable stops deliveries to the endpoint until Enable: the state is stored, the consumer
// paused (every relay process stops within moments), and a relay_endpoint_disabled ops event
// stored. Its backlog stays in the audit stream.
func (a *EndpointAdmin) Disable(ctx context.Context, name, reason string) error {
	return a.set(ctx, name, EndpointState{Enabled: false, Reason: reason, ChangedBy: "operator"})
}

// Enable resumes deliveries from where the endpoint stopped, oldest first, and stores a
// relay_endpoint_enabled ops event.
func (a *EndpointAdmin) Enable(ctx context.Context, name string) error {
	return a.set(ctx, name, EndpointState{Enabled: true, Reason: "enabled by operator", ChangedBy: "operator"})
}

func (a *EndpointAdmin) set(ctx context.Context, name string, st EndpointState) error {
	if !endpointNameRE.MatchString(name) {
		return fmt.Errorf("audit: endpoint name %q: want 1–64 of A–Z a–z 0–9 '-' '_'", audit.Clip(name, 64))
	}
	st.ChangedAt = a.now().UTC()
	st.Reason = audit.Clip(st.Reason, maxReasonText)
	val, _ := json.Marshal(st)
	if _, err := a.kv.Put(ctx, stateKeyPrefix+name, val); err != nil {
		return fmt.Errorf("audit: endpoint %s: store state: %w", name, err)
	}
	if err := a.applyPause(ctx, name, st.Enabled); err != nil {
		return err
	}
	kind, verb := "relay_endpoint_enabled", "enabled"
	if !st.Enabled {
		kind, verb = "relay_endpoint_disabled", "disabled"
	}
	fields := map[string]string{"endpoint": name, "reason": st.Reason, "changed_by": st.ChangedBy}
	if st.Status != 0 {
		fields["status"] = fmt.Sprint(st.Status)
	}
	ev, err := a.origin.OpsEvent(audit.Ops{Kind: kind, Time: st.ChangedAt, Fields: fields,
		Message: fmt.Sprintf("webhook endpoint %s %s: %s", name, verb, st.Reason),
		Key:     name + "\x00" + st.ChangedAt.Format(time.RFC3339Nano)})
	if err != nil {
		return err
	}
	if _, err := a.pub.Publish(ctx, ev); err != nil {
		return fmt.Errorf("audit: endpoint %s %s, but its ops event was not stored: %w", name, verb, err)
	}
	return nil
}

// applyPause pauses or resumes the endpoint's consumer; one that does not exist yet (nor the
// relay stream, before a relay first ran) is created by the relay in the state the bucket says.
func (a *EndpointAdmin) applyPause(ctx context.Context, name string, enabled bool) error {
	var err error
	if enabled {
		_, err = a.js.ResumeConsumer(ctx, a.stream, ConsumerName(name))
	} else {
		_, err = a.js.PauseConsumer(ctx, a.stream, ConsumerName(name), a.now().Add(pauseFor))
	}
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("audit: endpoint %s: pause or resume consumer: %w", name, err)
	}
	return nil
}

// EndpointStatus is one line of `relay endpoints list`.
type EndpointStatus struct {
	Name       string
	State      EndpointState
	Consumer   bool   // the durable consumer exists
	Paused     bool   // the consumer is paused on the server
	Pending    uint64 // events not yet delivered to the relay
	AckPending int    // events delivered to the relay and not yet acknowledged (in flight or retrying)
	Delivered  uint64 // stream sequence up to which every event is acknowledged
}

// List returns every endpoint that has a consumer or a stored state, by name.
func (a *EndpointAdmin) List(ctx context.Context) ([]EndpointStatus, error) {
	byName := map[string]*EndpointStatus{}
	get := func(name string) *EndpointStatus {
		if byName[name] == nil {
			byName[name] = &EndpointStatus{Name: name, State: EndpointState{Enabled: true}}
		}
		return byName[name]
	}
	keys, err := a.kv.ListKeysFiltered(ctx, stateKeyPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("audit: list endpoint states: %w", err)
	}
	for k := range keys.Keys() {
		name := strings.TrimPrefix(k, stateKeyPrefix)
		st, err := a.State(ctx, name)
		if err != nil {
			return nil, err
		}
		get(name).State = st
	}
	if err := a.listConsumers(ctx, get); err != nil {
		return nil, err
	}
	out := make([]EndpointStatus, 0, len(byName))
	for _, e := range byName {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(x, y EndpointStatus) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// listConsumers adds what the server says of each endpoint's consumer; none before a relay
// first created the relay stream.
func (a *EndpointAdmin) listConsumers(ctx context.Context, get func(string) *EndpointStatus) error {
	s, err := a.js.Stream(ctx, a.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: relay stream %s: %w", a.stream, err)
	}
	infos := s.ListConsumers(ctx)
	for ci := range infos.Info() {
		name, ok := strings.CutPrefix(ci.Name, "relay-")
		if !ok {
			continue
		}
		e := get(name)
		e.Consumer, e.Paused, e.Pending, e.AckPending, e.Delivered = true, ci.Paused, ci.NumPending, ci.NumAckPending, ci.AckFloor.Stream
	}
	if err := infos.Err(); err != nil {
		return fmt.Errorf("audit: list consumers of %s: %w", a.stream, err)
	}
	return nil
}

// watchStates watches every endpoint state and returns the current ones.
func (a *EndpointAdmin) watchStates(ctx context.Context) (jetstream.KeyWatcher, map[string]EndpointState, error) {
	w, err := a.kv.Watch(ctx, stateKeyPrefix+"*")
	if err != nil {
		return nil, nil, fmt.Errorf("audit: watch endpoint states: %w", err)
	}
	states := map[string]EndpointState{}
	for {
		select {
		case <-ctx.Done():
			w.Stop() //nolint:errcheck
			return nil, nil, ctx.Err()
		case e := <-w.Updates():
			if e == nil {
				return w, states, nil // the current values have all been seen
			}
			name, st := decodeStateEntry(e)
			states[name] = st
		}
	}
}

// attemptsKey holds the attempts of an event being retried to an endpoint.
func attemptsKey(endpoint string, seq uint64) string {
	return fmt.Sprintf("attempts.%s.%d", endpoint, seq)
}

func (a *EndpointAdmin) loadAttempts(ctx context.Context, endpoint string, seq uint64) ([]Attempt, error) {
	e, err := a.kv.Get(ctx, attemptsKey(endpoint, seq))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var at []Attempt
	return at, json.Unmarshal(e.Value(), &at)
}

func (a *EndpointAdmin) saveAttempts(ctx context.Context, endpoint string, seq uint64, at []Attempt) error {
	val, _ := json.Marshal(at)
	_, err := a.kv.Put(ctx, attemptsKey(endpoint, seq), val)
	return err
}

func (a *EndpointAdmin) clearAttempts(ctx context.Context, endpoint string, seq uint64) error {
	return a.kv.Purge(ctx, attemptsKey(endpoint, seq))
}
