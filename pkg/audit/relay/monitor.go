package relay

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// monitor measures every endpoint's backlog each MonitorInterval, reports it to the observer and
// warns before an undelivered event ages out of the audit stream. Once an hour it also drops the
// markers that cleared attempts leave in the state bucket.
func (r *Relay) monitor(ctx context.Context) {
	t := time.NewTicker(r.cfg.MonitorInterval)
	defer t.Stop()
	lastPurge := time.Now()
	for {
		r.checkBacklogs(ctx)
		if time.Since(lastPurge) > time.Hour {
			lastPurge = time.Now()
			if err := r.admin.kv.PurgeDeletes(ctx, jetstream.DeleteMarkersOlderThan(time.Hour)); err != nil && ctx.Err() == nil {
				r.log.Warn("purge old attempt markers", zap.Error(err))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkBacklogs measures each endpoint once.
func (r *Relay) checkBacklogs(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := r.cfg.JetStream.Stream(cctx, r.cfg.RelayStream)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("backlog check: relay stream", zap.Error(err))
		}
		return
	}
	maxAge := stream.CachedInfo().Config.MaxAge
	lag, lagAge, lagSeq := r.mirrorLag(cctx, stream)
	for _, er := range r.runners {
		cons, err := stream.Consumer(cctx, ConsumerName(er.ep.Name))
		if err != nil {
			continue // created by the runner shortly
		}
		info, err := cons.Info(cctx)
		if err != nil {
			continue
		}
		events := info.NumPending + uint64(info.NumAckPending)
		var oldest time.Duration
		var oldestSeq uint64
		if events > 0 {
			oldestSeq, oldest = r.oldestUndelivered(cctx, stream, info, er.ep.Subjects)
		}
		if lag > 0 { // not mirrored: not delivered either
			events, oldest = events+lag, max(oldest, lagAge)
			oldestSeq = cmp.Or(oldestSeq, lagSeq)
		}
		r.cfg.Observer.Backlog(er.ep.Name, events, oldest)
		if maxAge > 0 && oldest >= time.Duration(r.cfg.BacklogWarnRatio*float64(maxAge)) {
			r.warnBacklog(ctx, er.ep.Name, events, oldestSeq, oldest, maxAge)
		}
	}
}

// mirrorLag is how many events the audit stream holds that a stalled relay stream has not
// mirrored, and the age of the oldest of them: a mirror that made no progress for three checks
// (at least a second) while behind shows as backlog of every endpoint (whatever their filters), so that the
// backlog alerts fire instead of deliveries stopping silently. A mirror that is catching up is
// not counted. Only the monitor goroutine calls it.
func (r *Relay) mirrorLag(ctx context.Context, relay jetstream.Stream) (n uint64, age time.Duration, first uint64) {
	src, err := r.cfg.JetStream.Stream(ctx, r.cfg.AuditStream)
	if err != nil {
		r.log.Warn("backlog check: audit stream", zap.Error(err))
		return 0, 0, 0
	}
	have, want := relay.CachedInfo().State.LastSeq, src.CachedInfo().State.LastSeq
	if r.mirrorMoved.IsZero() || have != r.mirrorSeq {
		r.mirrorMoved, r.mirrorSeq = time.Now(), have
	}
	stalled := time.Since(r.mirrorMoved) >= max(3*r.cfg.MonitorInterval, time.Second)
	if want <= have || !stalled {
		return 0, 0, 0
	}
	r.log.Warn("the relay stream is not mirroring the audit stream", zap.String("stream", r.cfg.RelayStream),
		zap.Uint64("mirrored_to", have), zap.Uint64("audit_last_seq", want))
	m, err := src.GetMsg(ctx, have+1)
	if err != nil {
		return want - have, 0, have + 1
	}
	return want - have, max(r.now().Sub(m.Time), 0), have + 1
}

// oldestUndelivered finds the first event after the consumer's ack floor that the endpoint
// takes, and its age.
func (r *Relay) oldestUndelivered(ctx context.Context, s jetstream.Stream, info *jetstream.ConsumerInfo, subjects []string) (uint64, time.Duration) {
	filter := ">"
	if len(subjects) == 1 {
		filter = subjects[0]
	}
	m, err := s.GetMsg(ctx, info.AckFloor.Stream+1, jetstream.WithGetMsgSubject(filter))
	if err != nil {
		return 0, 0
	}
	return m.Sequence, max(r.now().Sub(m.Time), 0)
}

// warnBacklog logs and stores a relay_backlog_at_risk ops event, at most one per endpoint and
// day (the event id depends on both, and the audit stream drops duplicates).
func (r *Relay) warnBacklog(ctx context.Context, endpoint string, events, seq uint64, oldest, maxAge time.Duration) {
	now := r.now().UTC()
	msg := fmt.Sprintf("webhook endpoint %s has %d undelivered events; the oldest (sequence %d) is %s old and leaves the audit stream at %s",
		endpoint, events, seq, oldest.Round(time.Second), maxAge)
	r.log.Warn("endpoint backlog nears the audit stream's retention", zap.String("endpoint", endpoint),
		zap.Uint64("events", events), zap.Duration("oldest", oldest), zap.Duration("max_age", maxAge))
	ev, err := r.cfg.Origin.OpsEvent(audit.Ops{
		Kind: "relay_backlog_at_risk", Message: msg, Time: now, Key: endpoint + "\x00" + now.Format(time.DateOnly),
		Fields: map[string]string{
			"endpoint": endpoint, "events": fmt.Sprint(events), "oldest_seq": fmt.Sprint(seq),
			"oldest_age_s": fmt.Sprint(int64(oldest.Seconds())), "max_age_s": fmt.Sprint(int64(maxAge.Seconds())),
		},
	})
	if err != nil {
		r.log.Error("build backlog ops event", zap.Error(err))
		return
	}
	if _, err := r.admin.pub.Publish(ctx, ev); err != nil && ctx.Err() == nil {
		r.log.Error("store backlog ops event", zap.Error(err))
	}
}
