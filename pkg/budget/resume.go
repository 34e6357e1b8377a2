package budget

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Paused is one budget's 429 pause, as Resume and Pauses report it.
type Paused struct {
	Key     string    // the budget's key in the bucket, e.g. "client.<OAuth client id>"
	Until   time.Time // the end of the pause; zero when there is none
	Resumes uint64    // operators' resumes so far
}

// Pauses reads the 429 pause of every budget in the bucket.
func Pauses(ctx context.Context, kv jetstream.KeyValue) ([]Paused, error) {
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("budget: list keys: %w", err)
	}
	defer lister.Stop()
	var out []Paused
	for key := range lister.Keys() {
		if !strings.HasPrefix(key, "client.") {
			continue
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("budget: get %s: %w", key, err)
		}
		s, err := decodeState(e.Value())
		if err != nil {
			return out, fmt.Errorf("budget: decode %s: %w", key, err)
		}
		out = append(out, Paused{Key: key, Until: unixTime(s.PausedUntil), Resumes: s.Resumes})
	}
	return out, nil
}

// KeyFor is the bucket key of the budget of an OAuth client id (Config.Key).
func KeyFor(clientID string) string { return kvKey(clientID) }

// Resume clears the 429 pause of the budget under key (see KeyFor): an
// operator's decision when Genesys asked for a long Retry-After that is no
// longer needed. It counts a resume in the shared state, so that every
// worker drops the pause it holds in memory or has not yet stored (within
// a couple of seconds; see Budget). It returns the pause that was in force
// (Until zero when there was none); the budget itself (the spacing of
// requests) is unchanged.
func Resume(ctx context.Context, kv jetstream.KeyValue, key string, now time.Time) (Paused, error) {
	store := &kvStore{kv: kv, key: key}
	for {
		val, rev, err := store.Get(ctx)
		if err != nil {
			return Paused{}, err
		}
		if rev == 0 {
			return Paused{Key: key}, fmt.Errorf("budget: no budget %s in the bucket", key)
		}
		s, err := decodeState(val)
		if err != nil {
			return Paused{}, fmt.Errorf("budget: decode %s: %w", key, err)
		}
		was := Paused{Key: key, Resumes: s.Resumes}
		if s.PausedUntil > now.UnixNano() {
			was.Until = unixTime(s.PausedUntil)
		}
		s.PausedUntil, s.Resumes = 0, s.Resumes+1
		_, err = store.Update(ctx, s.encode(), rev)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return Paused{}, err
		}
		return was, nil
	}
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
