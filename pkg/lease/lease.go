// Package lease is a singleton lease in a NATS KV bucket: one process of the fleet holds a key
// at a time, renews it a third of its TTL apart, and a standby takes over within the TTL when the
// holder stops renewing, or at once when it releases the key. The drift watch and the audit
// checkpointer use it (keys drift.leader and audit.checkpointer in the locks bucket).
package lease

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Config names the lease and its holder.
type Config struct {
	KV       jetstream.KeyValue
	Key      string
	Instance string
	TTL      time.Duration
	Now      func() time.Time // defaults to time.Now
	// Lost, when set, is called by Run when a renewal finds the lease lost (taken over, or the
	// store failed until it expired); the holder's context ends right after.
	Lost func()
}

// Value is what the key holds: who holds it until when.
type Value struct {
	Instance string    `json:"instance"`
	Expires  time.Time `json:"expires"`
}

// Held is a hold on the lease. Safe for concurrent use.
type Held struct {
	cfg Config

	mu         sync.Mutex
	rev        uint64
	validUntil time.Time // work stops by then: the last write plus TTL minus the margin
}

func (c *Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Config) value(now time.Time) []byte {
	data, _ := json.Marshal(Value{Instance: c.Instance, Expires: now.Add(c.TTL).UTC()})
	return data
}

// margin is how long before the lease's expiry the holder stops: room for clock skew between
// instances and for work that is ending.
func (c *Config) margin() time.Duration { return c.TTL / 4 }

// TryAcquire takes the lease when it is free, expired or already ours; nil when another instance
// holds it.
func TryAcquire(ctx context.Context, cfg Config) (*Held, error) {
	now := cfg.now()
	rev, err := cfg.KV.Create(ctx, cfg.Key, cfg.value(now))
	if err == nil {
		return &Held{cfg: cfg, rev: rev, validUntil: now.Add(cfg.TTL - cfg.margin())}, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, err
	}
	e, err := cfg.KV.Get(ctx, cfg.Key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil // released meanwhile: the next try creates it
	}
	if err != nil {
		return nil, err
	}
	var held Value
	_ = json.Unmarshal(e.Value(), &held)
	if held.Instance != cfg.Instance && now.Before(held.Expires) {
		return nil, nil
	}
	rev, err = cfg.KV.Update(ctx, cfg.Key, cfg.value(now), e.Revision())
	if err != nil {
		return nil, nil // somebody else took it first
	}
	return &Held{cfg: cfg, rev: rev, validUntil: now.Add(cfg.TTL - cfg.margin())}, nil
}

// Renew moves the expiry forward; false when the lease is lost (taken over, or the store failed
// until the lease is no longer valid).
func (l *Held) Renew(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.now()
	rev, err := l.cfg.KV.Update(ctx, l.cfg.Key, l.cfg.value(now), l.rev)
	if err == nil {
		l.rev, l.validUntil = rev, now.Add(l.cfg.TTL-l.cfg.margin())
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return false // somebody took it over
	}
	return now.Before(l.validUntil) // the store failed: still ours until it expires
}

// Valid is the time by which the holder must have stopped working.
func (l *Held) Valid() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.validUntil
}

// Release gives the lease up so that a standby takes over at once, unless somebody took it over.
func (l *Held) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = l.cfg.KV.Delete(ctx, l.cfg.Key, jetstream.LastRevision(l.rev))
}

// Run stands by and, while this instance holds the lease, runs lead with a context that ends
// when the lease is lost or ctx ends; it renews the lease meanwhile and releases it when lead
// returns. warn reports errors taking the lease. Run returns nil when ctx ends.
func Run(ctx context.Context, cfg Config, warn func(error), lead func(ctx context.Context, l *Held)) error {
	changes, err := cfg.KV.Watch(ctx, cfg.Key, jetstream.UpdatesOnly())
	if err != nil {
		return err
	}
	// Drain the key's changes all the time (the holder's renewals too, so that the watcher never
	// backs up); a delete or purge means the holder released it: try at once.
	released := make(chan struct{}, 1)
	var drain sync.WaitGroup
	drain.Go(func() {
		for e := range changes.Updates() {
			if e != nil && e.Operation() != jetstream.KeyValuePut {
				select {
				case released <- struct{}{}:
				default:
				}
			}
		}
	})
	defer func() { _ = changes.Stop(); drain.Wait() }()
	for {
		l, err := TryAcquire(ctx, cfg)
		if err != nil && ctx.Err() == nil && warn != nil {
			warn(err)
		}
		if l != nil {
			hold(ctx, cfg, l, lead)
		}
		if ctx.Err() != nil {
			return nil
		}
		t := time.NewTimer(cfg.TTL / 3)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-released:
		case <-t.C:
		}
		t.Stop()
	}
}

func hold(ctx context.Context, cfg Config, l *Held, lead func(context.Context, *Held)) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { // renew a third of the TTL apart; stop at once when lost
		defer cancel()
		t := time.NewTicker(cfg.TTL / 3)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				if !l.Renew(lctx) {
					if cfg.Lost != nil && lctx.Err() == nil {
						cfg.Lost()
					}
					return
				}
			}
		}
	})
	lead(lctx, l)
	cancel()
	wg.Wait()
	l.Release()
}
