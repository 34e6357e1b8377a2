package budget

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrConflict is returned by Store.Update when the value changed since it was
// read: another worker won the compare-and-set, and the caller reads again.
var ErrConflict = errors.New("budget: revision conflict")

// ErrUnavailable is what a MemStore returns while it is set down.
var ErrUnavailable = errors.New("budget: store unavailable")

// Store holds one budget's shared state under compare-and-set. The NATS KV
// store is the real one; MemStore runs the same algorithm in memory.
// Implementations must be safe for concurrent use.
type Store interface {
	// Get returns the current value and its revision; a nil value and
	// revision 0 when there is none yet.
	Get(ctx context.Context) (value []byte, rev uint64, err error)
	// Update stores value if the revision is still rev (0: if there is no
	// value yet) and returns the value's new revision, else returns
	// ErrConflict.
	Update(ctx context.Context, value []byte, rev uint64) (uint64, error)
}

// lastWrite wraps a Store and answers Get with the value this worker wrote
// last, until an Update meets a conflict (someone else wrote since) or
// fails: then Get reads the store again. A worker that holds the key alone
// pays one round trip per grant instead of two. Nothing is lost to a stale
// answer: an Update on a stale revision is refused (ErrConflict), and the
// next Get reads what the others wrote, their 429 pauses included.
type lastWrite struct {
	Store
	mu    sync.Mutex
	value []byte
	rev   uint64 // 0: nothing cached
}

func (s *lastWrite) Get(ctx context.Context) ([]byte, uint64, error) {
	s.mu.Lock()
	value, rev := s.value, s.rev
	s.mu.Unlock()
	if rev != 0 {
		return value, rev, nil
	}
	return s.Store.Get(ctx)
}

func (s *lastWrite) Update(ctx context.Context, value []byte, rev uint64) (uint64, error) {
	next, err := s.Store.Update(ctx, value, rev)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err != nil:
		s.value, s.rev = nil, 0
		return 0, err
	case next > s.rev: // two goroutines write: keep the newer
		s.value, s.rev = value, next
	}
	return next, nil
}

// forget drops the cached value: the next Get reads the store.
func (s *lastWrite) forget() {
	s.mu.Lock()
	s.value, s.rev = nil, 0
	s.mu.Unlock()
}

// NewKVStore returns the Store of the budget named key in the budget bucket.
func NewKVStore(kv jetstream.KeyValue, key string) Store {
	return &kvStore{kv: kv, key: kvKey(key)}
}

type kvStore struct {
	kv  jetstream.KeyValue
	key string
}

func (s *kvStore) Get(ctx context.Context) ([]byte, uint64, error) {
	e, err := s.kv.Get(ctx, s.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("budget: get %s: %w", s.key, err)
	}
	return e.Value(), e.Revision(), nil
}

func (s *kvStore) Update(ctx context.Context, value []byte, rev uint64) (uint64, error) {
	var next uint64
	var err error
	if rev == 0 {
		next, err = s.kv.Create(ctx, s.key, value)
	} else {
		next, err = s.kv.Update(ctx, s.key, value, rev)
	}
	switch {
	case err == nil:
		return next, nil
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return 0, ErrConflict
	}
	return 0, fmt.Errorf("budget: update %s: %w", s.key, err)
}

// MemStore is a Store in memory, for tests and for benchmarks that leave KV
// out. Its zero value is ready to use; it is safe for concurrent use.
type MemStore struct {
	mu    sync.Mutex
	value []byte
	rev   uint64
	down  bool
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{} }

// SetDown makes every call fail with ErrUnavailable (true) or work again.
func (s *MemStore) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// Get implements Store.
func (s *MemStore) Get(context.Context) ([]byte, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, 0, ErrUnavailable
	}
	return s.value, s.rev, nil
}

// Update implements Store.
func (s *MemStore) Update(_ context.Context, value []byte, rev uint64) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.down:
		return 0, ErrUnavailable
	case rev != s.rev:
		return 0, ErrConflict
	}
	s.value, s.rev = value, s.rev+1
	return s.rev, nil
}
