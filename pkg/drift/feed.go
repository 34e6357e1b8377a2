package drift

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/drift/watchlist"
)

// feedLoop applies the audit stream's user events to the watch list until ctx ends.
func (w *Watch) feedLoop(ctx context.Context) {
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, time.Second)
		batch, err := w.feed.Fetch(64, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if ctx.Err() == nil {
				w.log.Warn("drift feed: fetch", zap.Error(err))
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		for m := range batch.Messages() {
			if err := w.apply(ctx, m); err != nil {
				if ctx.Err() == nil {
					w.log.Warn("drift feed: apply an event; it comes back", zap.String("subject", m.Subject()), zap.Error(err))
				}
				_ = m.Nak()
				continue
			}
			_ = m.Ack()
		}
		cancel()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// userEvent is what the feed reads of a user event.
type userEvent struct {
	Data audit.AccountChange `json:"data"`
}

// apply adds, replaces or removes the event's user; an event older than the entry's changes
// nothing, an unreadable one is dropped (logged).
func (w *Watch) apply(ctx context.Context, m jetstream.Msg) error {
	md, err := m.Metadata()
	if err != nil {
		return err
	}
	seq := md.Sequence.Stream
	var ev userEvent
	if err := json.Unmarshal(m.Data(), &ev); err != nil || ev.Data.User.UID == "" || ev.Data.Unmapped.DryRun {
		if err != nil {
			w.log.Warn("drift feed: unreadable event dropped", zap.String("subject", m.Subject()), zap.Error(err))
		}
		return nil
	}
	at := time.UnixMilli(ev.Data.Time).UTC()
	u := ev.Data.Unmapped
	var next watchlist.Entry
	switch u.Outcome {
	case audit.OutcomeDeactivated, audit.OutcomeAlreadyInactive:
		if at.Before(w.now().AddDate(0, 0, -w.cfg.Days)) {
			return nil // older than the watch's reach
		}
		next = watchlist.Entry{UserID: ev.Data.User.UID, UserName: ev.Data.User.Name, JobID: u.JobID, DeactivatedAt: at, Seq: seq}
		if u.TokensRevoked {
			next.TokensRevokedAt = at
		}
	case audit.OutcomeReactivated, audit.OutcomeDeleted:
		next = watchlist.Entry{UserID: ev.Data.User.UID, JobID: u.JobID, DeactivatedAt: at, Seq: seq, Removed: true}
	default:
		return nil
	}
	key := watchlist.EntryKey(next.UserID)
	data, _ := json.Marshal(next)
	for range 5 {
		e, err := w.list.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if next.Removed {
				return nil // not watched: nothing to remove
			}
			_, err = w.list.Create(ctx, key, data)
		case err != nil:
			return err
		default:
			var have watchlist.Entry
			if json.Unmarshal(e.Value(), &have) == nil && have.Seq >= seq {
				return nil // a redelivered older event
			}
			_, err = w.list.Update(ctx, key, data, e.Revision())
		}
		if err == nil || !isConflict(err) {
			return err
		}
	}
	return errors.New("drift feed: the entry kept changing")
}

// isConflict reports a KV compare-and-set that lost.
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}
