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
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// position is what the state bucket keeps under "position.<endpoint>": how far the endpoint's
// consumer had delivered, and which consumer that was, when the relay last found it intact. It
// lets the relay tell its own consumer from one that was deleted, replaced or changed behind its
// back (review D8), and recreate it right after the last delivered event instead of skipping
// the backlog. Seq may lag behind by up to one check, which only repeats events (receivers
// drop repeats by webhook-id); it never runs ahead of what was delivered or dead-lettered.
type position struct {
	Seq     uint64    `json:"seq"`     // the consumer's ack floor: every event up to it is settled
	Created time.Time `json:"created"` // when the server created the consumer
	Filters []string  `json:"filters"` // the consumer's subject filters, sorted
	At      time.Time `json:"at"`      // when this was recorded
}

func positionKey(endpoint string) string { return "position." + endpoint }

func (a *EndpointAdmin) loadPosition(ctx context.Context, endpoint string) (position, bool, error) {
	var p position
	e, err := a.kv.Get(ctx, positionKey(endpoint))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("audit: endpoint %s: read position: %w", endpoint, err)
	}
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return p, false, fmt.Errorf("audit: endpoint %s: position record: %w", endpoint, err)
	}
	return p, true, nil
}

func (a *EndpointAdmin) savePosition(ctx context.Context, endpoint string, p position) error {
	val, _ := json.Marshal(p)
	_, err := a.kv.Put(ctx, positionKey(endpoint), val)
	return err
}

// consumerConfig is the endpoint's durable consumer. AckWait outlasts an attempt plus the
// bookkeeping after it; MaxDeliver is unlimited because the relay counts attempts itself (every
// Nak would count toward MaxDeliver, and BackOff applies only to AckWait timeouts);
// MaxAckPending = Concurrency, across every relay process, which is what keeps order at 1.
func (er *endpointRunner) consumerConfig() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        ConsumerName(er.ep.Name),
		Description:    "webhook relay to endpoint " + er.ep.Name,
		FilterSubjects: er.ep.Subjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        max(30*time.Second, 2*er.ep.Timeout),
		MaxDeliver:     -1,
		MaxAckPending:  er.ep.Concurrency,
	}
}

// ensureConsumer creates the consumer or brings it to the configuration and to st: paused while
// disabled, running while enabled. An intact consumer keeps where it starts from. One that is
// missing although the relay had recorded it, or that was replaced or altered, is recreated right
// after the recorded position, with a relay_consumer_recreated ops event. Then the position is
// recorded again.
func (er *endpointRunner) ensureConsumer(ctx context.Context, st EndpointState) (jetstream.Consumer, error) {
	er.mu.Lock()
	defer er.mu.Unlock()
	rec, hasRec, err := er.r.admin.loadPosition(ctx, er.ep.Name)
	if err != nil {
		return nil, err
	}
	var (
		cfg    jetstream.ConsumerConfig
		cons   jetstream.Consumer
		found  string
		intact bool
	)
	for look := 1; ; look++ {
		cfg = er.consumerConfig()
		if found, intact, err = er.startOf(ctx, &cfg, rec, hasRec); err != nil {
			return nil, err
		}
		if !st.Enabled {
			until := er.r.now().Add(pauseFor)
			cfg.PauseUntil = &until // an update without PauseUntil would resume the consumer
		}
		if !intact {
			cons, err = er.r.cfg.JetStream.CreateOrUpdateConsumer(ctx, er.r.cfg.RelayStream, cfg)
			break
		}
		// Update only: the consumer may have been deleted since startOf found it, and creating it
		// again here would start it where the deleted one had started (replaying or skipping
		// events) without a word. When the update fails that way, look again.
		cons, err = er.r.cfg.JetStream.UpdateConsumer(ctx, er.r.cfg.RelayStream, cfg)
		if look == 1 && (errors.Is(err, jetstream.ErrConsumerDoesNotExist) || isServerFailure(err)) {
			continue
		}
		if err != nil && hasRec && isServerFailure(err) {
			// Found intact twice, yet not updatable: a consumer deleted and created again under the
			// same name at once can be left without its store on the server (nats-server removes the
			// old one's files late), and every update then fails. Start it afresh from the recorded
			// position.
			found = "its consumer could not be updated on the server (" + err.Error() + ")"
			cons, err = er.recreate(ctx, cfg, rec)
		}
		break
	}
	if err != nil {
		return nil, fmt.Errorf("audit: endpoint %s: create consumer %s on %s: %w", er.ep.Name, cfg.Durable, er.r.cfg.RelayStream, err)
	}
	info := cons.CachedInfo()
	if err := er.r.admin.savePosition(ctx, er.ep.Name, position{Seq: info.AckFloor.Stream, Created: info.Created,
		Filters: filtersOf(info.Config), At: er.r.now().UTC()}); err != nil {
		er.log.Warn("cannot record the consumer's position", zap.Error(err))
	}
	if found != "" {
		er.reportRecreated(ctx, found, rec.Seq+1, info.Created)
		er.forgetAttempts(ctx)
		select {
		case er.recreated <- struct{}{}:
		default:
		}
	}
	return cons, nil
}

// startOf sets where cfg starts after looking at the consumer on the server: an intact one keeps
// its start (intact is true, and it must only be updated); one that is missing although
// recorded, or replaced or altered (deleted here), starts right after the recorded position, and
// found says what was wrong; a consumer the relay never made starts as firstStart says.
func (er *endpointRunner) startOf(ctx context.Context, cfg *jetstream.ConsumerConfig, rec position, hasRec bool) (found string, intact bool, err error) {
	js, stream, cname := er.r.cfg.JetStream, er.r.cfg.RelayStream, cfg.Durable
	existing, err := js.Consumer(ctx, stream, cname)
	switch {
	case err == nil:
		have := existing.CachedInfo()
		if found = drift(have, rec, hasRec); found == "" {
			cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = have.Config.DeliverPolicy, have.Config.OptStartSeq, have.Config.OptStartTime
			return "", true, nil
		}
		if err := er.deleteConsumer(ctx, cname); err != nil {
			return "", false, err
		}
	case errors.Is(err, jetstream.ErrConsumerNotFound) && hasRec:
		found = "its consumer was missing"
		sleepCtx(ctx, settleAfterDelete) // it may have been deleted a moment ago
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		er.firstStart(ctx, cfg)
		return "", false, nil
	default:
		return "", false, fmt.Errorf("audit: endpoint %s: consumer %s: %w", er.ep.Name, cname, err)
	}
	startAfter(cfg, rec)
	return found, false, nil
}

// startAfter makes cfg start right after the recorded position.
func startAfter(cfg *jetstream.ConsumerConfig, rec position) {
	cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = jetstream.DeliverByStartSequencePolicy, rec.Seq+1, nil
}

// forgetAttempts drops the attempts recorded under the endpoint's old consumer: the new one
// delivers those events afresh (a first delivery reads no attempts), so the records would stay
// behind for good. Events get their full schedule again, which errs towards delivering them.
func (er *endpointRunner) forgetAttempts(ctx context.Context) {
	keys, err := er.r.admin.kv.ListKeysFiltered(ctx, "attempts."+er.ep.Name+".*")
	if err != nil {
		er.log.Warn("list attempts of the old consumer", zap.Error(err))
		return
	}
	for k := range keys.Keys() {
		if err := er.r.admin.kv.Purge(ctx, k); err != nil {
			er.log.Warn("drop attempts of the old consumer", zap.String("key", k), zap.Error(err))
		}
	}
}

// settleAfterDelete is how long the relay waits between a consumer's deletion and creating it
// again under the same name, so that the server has removed the old one's files.
const settleAfterDelete = 500 * time.Millisecond

// deleteConsumer deletes the endpoint's consumer and waits for the server to settle.
func (er *endpointRunner) deleteConsumer(ctx context.Context, cname string) error {
	err := er.r.cfg.JetStream.DeleteConsumer(ctx, er.r.cfg.RelayStream, cname)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("audit: endpoint %s: delete consumer %s: %w", er.ep.Name, cname, err)
	}
	sleepCtx(ctx, settleAfterDelete)
	return nil
}

// recreate deletes the consumer and creates cfg starting right after rec.
func (er *endpointRunner) recreate(ctx context.Context, cfg jetstream.ConsumerConfig, rec position) (jetstream.Consumer, error) {
	if err := er.deleteConsumer(ctx, cfg.Durable); err != nil {
		return nil, err
	}
	startAfter(&cfg, rec)
	return er.r.cfg.JetStream.CreateOrUpdateConsumer(ctx, er.r.cfg.RelayStream, cfg)
}

// isServerFailure reports a JetStream API error the server calls its own (status 500).
func isServerFailure(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 500
}

// firstStart sets where a consumer the relay never made starts: where the endpoint's consumer
// on the audit stream (relays before the relay stream read there) stopped, else StartAt.
func (er *endpointRunner) firstStart(ctx context.Context, cfg *jetstream.ConsumerConfig) {
	if old, err := er.r.cfg.JetStream.Consumer(ctx, er.r.cfg.AuditStream, ConsumerName(er.ep.Name)); err == nil {
		seq := old.CachedInfo().AckFloor.Stream + 1
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq
		er.log.Info("continuing where the endpoint's consumer on the audit stream stopped; delete that one",
			zap.String("stream", er.r.cfg.AuditStream), zap.Uint64("start_seq", seq))
		return
	}
	start, _ := er.ep.startTime()
	switch {
	case er.ep.StartAt == "all":
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case !start.IsZero():
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	default:
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	}
}

// drift says how have differs from the consumer the relay recorded, "" when it does not. Only
// changes that can lose or skip events count: another consumer under the same name (a different
// creation time), other subject filters, an ack policy other than explicit, or a MaxDeliver after
// which the server would drop events. A consumer the relay has no record of is taken as it is.
func drift(have *jetstream.ConsumerInfo, rec position, hasRec bool) string {
	var found []string
	if hasRec && !have.Created.Equal(rec.Created) {
		found = append(found, fmt.Sprintf("its consumer was replaced (created %s, the relay's at %s)",
			have.Created.UTC().Format(time.RFC3339Nano), rec.Created.UTC().Format(time.RFC3339Nano)))
	} else if f := filtersOf(have.Config); hasRec && !slices.Equal(f, rec.Filters) {
		found = append(found, fmt.Sprintf("its consumer's filter was changed to %q (the relay had set %q)", f, rec.Filters))
	}
	if have.Config.AckPolicy != jetstream.AckExplicitPolicy {
		found = append(found, "its consumer's ack policy was changed to "+have.Config.AckPolicy.String())
	}
	if have.Config.MaxDeliver > 0 {
		found = append(found, fmt.Sprintf("its consumer's max deliver was set to %d", have.Config.MaxDeliver))
	}
	return strings.Join(found, "; ")
}

// filtersOf returns a consumer's subject filters, sorted.
func filtersOf(c jetstream.ConsumerConfig) []string {
	f := slices.Clone(c.FilterSubjects)
	if c.FilterSubject != "" {
		f = append(f, c.FilterSubject)
	}
	slices.Sort(f)
	return f
}

// reportRecreated logs and stores a relay_consumer_recreated ops event: what the relay found and
// where the new consumer starts.
func (er *endpointRunner) reportRecreated(ctx context.Context, found string, from uint64, created time.Time) {
	now := er.r.now().UTC()
	cname := ConsumerName(er.ep.Name)
	msg := fmt.Sprintf("webhook endpoint %s: %s; the relay recreated consumer %s on %s from sequence %d, right after the last event it recorded as delivered",
		er.ep.Name, found, cname, er.r.cfg.RelayStream, from)
	er.log.Error("endpoint consumer recreated", zap.String("found", found), zap.Uint64("start_seq", from))
	ev, err := er.r.cfg.Origin.OpsEvent(audit.Ops{
		Kind: "relay_consumer_recreated", Message: msg, Time: now, Key: er.ep.Name + "\x00" + created.UTC().Format(time.RFC3339Nano),
		Fields: map[string]string{"endpoint": er.ep.Name, "consumer": cname, "stream": er.r.cfg.RelayStream,
			"found": found, "start_seq": fmt.Sprint(from)},
	})
	if err != nil {
		er.log.Error("build consumer ops event", zap.Error(err))
		return
	}
	if _, err := er.r.admin.pub.Publish(ctx, ev); err != nil {
		er.log.Error("store consumer ops event", zap.Error(err))
	}
}

// checkConsumers runs ensureConsumer for every endpoint each ConsumerCheckInterval, in the state
// the bucket holds: it records how far each consumer has delivered and repairs one that was
// deleted or altered while its runner did not notice (an altered filter makes no fetch fail).
func (r *Relay) checkConsumers(ctx context.Context) {
	t := time.NewTicker(r.cfg.ConsumerCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, er := range r.runners {
			st, err := r.admin.State(ctx, er.ep.Name)
			if err == nil {
				_, err = er.ensureConsumer(ctx, st)
			}
			if err != nil && ctx.Err() == nil {
				er.log.Warn("consumer check", zap.Error(err))
			}
		}
	}
}
