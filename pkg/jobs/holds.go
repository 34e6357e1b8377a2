package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A legal hold keeps a Genesys user from being deleted: a delete job for a user any of whose
// identifiers (id, user_name, external_id) is held ends "held", dead-lettered, and deletes
// nothing (deactivations are not affected: a hold preserves the account and its data, it does not
// keep a leaver's access). Holds live in the holds bucket ([Names.HoldsBucket]) until an operator
// removes them: no TTL, and a history of holdsHistory revisions, so that a removal stays visible
// next to the hold it removed. Operators add and remove them (genesysctl hold), each change an
// ops event; workers only read them.

// holdsHistory is how many revisions of a key the holds bucket keeps.
const holdsHistory = 5

// holdsBucket is the holds bucket's config: no TTL, history holdsHistory.
func (c TopologyConfig) holdsBucket() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: c.HoldsBucket(), Description: "legal holds: users that must not be deleted",
		History: holdsHistory, Storage: c.Storage, Replicas: c.Replicas}
}

// Hold is one legal hold on one user identifier.
type Hold struct {
	// Kind is the identifier's kind: "id", "user_name" or "external_id".
	Kind string `json:"kind"`
	// Value is the identifier as the operator gave it.
	Value string `json:"value"`
	// Reason says why (a case or matter reference), for the audit trail.
	Reason string `json:"reason"`
	// By is the operator who added the hold; NATSUser their NATS user, when known.
	By       string    `json:"by"`
	NATSUser string    `json:"nats_user,omitempty"`
	Since    time.Time `json:"since"`
}

// Ref is the user identifier the hold names.
func (h Hold) Ref() UserRef {
	switch h.Kind {
	case "id":
		return UserRef{ID: h.Value}
	case "external_id":
		return UserRef{ExternalID: h.Value}
	}
	return UserRef{UserName: h.Value}
}

// ErrNoHold: the identifier is not held.
var ErrNoHold = errors.New("jobs: no legal hold on this user identifier")

// HoldKey is the key of the hold on ref in the holds bucket: the first 16 bytes of the SHA-256 of
// the identifier key in lower case, in hex (a user name or external id may hold characters a KV
// key cannot). Lower case, as [UserToken]: a hold on an external id also holds the ids that differ
// from it in case only, which errs on the side of keeping.
func HoldKey(ref UserRef) string { return IDToken(strings.ToLower(ref.Key())) }

// Holds reads and changes the legal holds. Safe for concurrent use.
type Holds struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	stream string // the bucket's stream, KV_<bucket>
	bucket string
	now    func() time.Time
}

// NewHolds opens the holds bucket, which Provision creates.
func NewHolds(ctx context.Context, js jetstream.JetStream, names Names) (*Holds, error) {
	kv, err := js.KeyValue(ctx, names.HoldsBucket())
	if err != nil {
		return nil, fmt.Errorf("jobs: open holds bucket %s (provision the topology again): %w", names.HoldsBucket(), err)
	}
	b := names.HoldsBucket()
	return &Holds{kv: kv, js: js, stream: "KV_" + b, bucket: b, now: time.Now}, nil
}

func holdOf(ref UserRef) (Hold, error) {
	if err := (Job{User: ref}).checkUserOnly(); err != nil {
		return Hold{}, err
	}
	kind, value, _ := strings.Cut(ref.Key(), ":")
	return Hold{Kind: kind, Value: value}, nil
}

// checkUserOnly checks the job's user reference alone.
func (j Job) checkUserOnly() error {
	var p problems
	p.checkUser(j.User)
	return p.err()
}

// Add puts a hold on ref. When ref is held already, nothing changes: it returns the hold in force
// and added false.
func (h *Holds) Add(ctx context.Context, ref UserRef, reason, by, natsUser string) (hold Hold, added bool, err error) {
	hold, err = holdOf(ref)
	if err != nil {
		return Hold{}, false, err
	}
	if strings.TrimSpace(reason) == "" || by == "" {
		return Hold{}, false, errors.New("jobs: a legal hold needs a reason and the operator's name")
	}
	hold.Reason, hold.By, hold.NATSUser, hold.Since = reason, by, natsUser, h.now().UTC()
	data, err := json.Marshal(hold)
	if err != nil {
		return Hold{}, false, err
	}
	_, err = h.kv.Create(ctx, HoldKey(ref), data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		have, gerr := h.Get(ctx, ref)
		return have, false, gerr
	}
	if err != nil {
		return Hold{}, false, fmt.Errorf("jobs: add legal hold on %s: %w", clip(ref.Key(), 300), err)
	}
	return hold, true, nil
}

// Remove lifts the hold on ref and returns it; [ErrNoHold] when ref is not held. The bucket keeps
// the hold and its removal in its history.
func (h *Holds) Remove(ctx context.Context, ref UserRef) (Hold, error) {
	if _, err := holdOf(ref); err != nil {
		return Hold{}, err
	}
	e, err := h.kv.Get(ctx, HoldKey(ref))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Hold{}, fmt.Errorf("%w: %s", ErrNoHold, clip(ref.Key(), 300))
	}
	if err != nil {
		return Hold{}, fmt.Errorf("jobs: read legal hold on %s: %w", clip(ref.Key(), 300), err)
	}
	var hold Hold
	if err := json.Unmarshal(e.Value(), &hold); err != nil {
		return Hold{}, fmt.Errorf("jobs: decode legal hold on %s: %w", clip(ref.Key(), 300), err)
	}
	if err := h.kv.Delete(ctx, HoldKey(ref), jetstream.LastRevision(e.Revision())); err != nil {
		return Hold{}, fmt.Errorf("jobs: remove legal hold on %s: %w", clip(ref.Key(), 300), err)
	}
	return hold, nil
}

// Get returns the hold on ref; [ErrNoHold] when there is none. It reads from the bucket's stream
// leader, not through a direct get that any replica may answer: a hold an operator has just added
// (its put acknowledged by a quorum) must stop the next delete even while a follower lags.
func (h *Holds) Get(ctx context.Context, ref UserRef) (Hold, error) {
	value, err := h.leaderGet(ctx, HoldKey(ref))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Hold{}, fmt.Errorf("%w: %s", ErrNoHold, clip(ref.Key(), 300))
	}
	if err != nil {
		return Hold{}, fmt.Errorf("jobs: read legal hold on %s: %w", clip(ref.Key(), 300), err)
	}
	var hold Hold
	if err := json.Unmarshal(value, &hold); err != nil {
		return Hold{}, fmt.Errorf("jobs: decode legal hold on %s: %w", clip(ref.Key(), 300), err)
	}
	return hold, nil
}

// leaderGet reads the last value of key with $JS.API.STREAM.MSG.GET, which the stream leader
// answers (nats.go uses the direct get, served by any replica, whenever a bucket allows it, as
// every KV bucket does). A deleted or purged key is [jetstream.ErrKeyNotFound].
func (h *Holds) leaderGet(ctx context.Context, key string) ([]byte, error) {
	req, _ := json.Marshal(map[string]string{"last_by_subj": "$KV." + h.bucket + "." + key})
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultPublishTimeout)
		defer cancel()
	}
	prefix := h.js.Options().APIPrefix // set only by NewWithAPIPrefix; this project uses New
	if prefix == "" {
		prefix = jetstream.DefaultAPIPrefix
	}
	if !strings.HasSuffix(prefix, ".") {
		prefix += "."
	}
	msg, err := h.js.Conn().RequestWithContext(ctx, prefix+"STREAM.MSG.GET."+h.stream, req)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
		Message *struct {
			Header []byte `json:"hdrs"`
			Data   []byte `json:"data"`
		} `json:"message"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("stream message get: %w", err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == int(jetstream.JSErrCodeMessageNotFound):
		return nil, jetstream.ErrKeyNotFound
	case resp.Error != nil:
		return nil, fmt.Errorf("stream message get: %s (%d)", resp.Error.Description, resp.Error.ErrCode)
	case resp.Message == nil:
		return nil, jetstream.ErrInvalidJetStreamResponse
	}
	if len(resp.Message.Header) > 0 {
		hdr, err := nats.DecodeHeadersMsg(resp.Message.Header)
		if err != nil {
			return nil, fmt.Errorf("stream message get: headers: %w", err)
		}
		if op := hdr.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
			return nil, jetstream.ErrKeyNotFound
		}
	}
	return resp.Message.Data, nil
}

// Find returns the first hold on any of refs (empty identifiers are skipped): the user a delete
// job resolved is held when its id, user name or external id is. ok is false when none is held.
func (h *Holds) Find(ctx context.Context, refs ...UserRef) (hold Hold, ok bool, err error) {
	for _, ref := range refs {
		if ref.Key() == "" {
			continue
		}
		hold, err := h.Get(ctx, ref)
		switch {
		case err == nil:
			return hold, true, nil
		case !errors.Is(err, ErrNoHold):
			return Hold{}, false, err
		}
	}
	return Hold{}, false, nil
}

// List returns every hold in force, oldest first.
func (h *Holds) List(ctx context.Context) ([]Hold, error) {
	lister, err := h.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("jobs: list legal holds: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var holds []Hold
	for _, k := range keys {
		e, err := h.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) { // removed meanwhile
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jobs: read legal hold %s: %w", k, err)
		}
		var hold Hold
		if err := json.Unmarshal(e.Value(), &hold); err != nil {
			return nil, fmt.Errorf("jobs: decode legal hold %s: %w", k, err)
		}
		holds = append(holds, hold)
	}
	slices.SortFunc(holds, func(a, b Hold) int { return a.Since.Compare(b.Since) })
	return holds, nil
}
