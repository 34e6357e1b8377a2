package budget

import (
	"context"
	"errors"
	"testing"
)

// countingStore counts the calls that reach a Store.
type countingStore struct {
	Store
	gets, updates int
}

func (c *countingStore) Get(ctx context.Context) ([]byte, uint64, error) {
	c.gets++
	return c.Store.Get(ctx)
}

func (c *countingStore) Update(ctx context.Context, v []byte, rev uint64) (uint64, error) {
	c.updates++
	return c.Store.Update(ctx, v, rev)
}

// A worker alone on the key reads it once; after someone else writes, its stale update is
// refused and its next read reaches the store and sees the other's value.
func TestLastWriteSkipsReadsUntilAConflict(t *testing.T) {
	ctx := t.Context()
	shared := NewMemStore()
	counted := &countingStore{Store: shared}
	s := &lastWrite{Store: counted}
	_, rev, err := s.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err = s.Update(ctx, []byte{byte(i)}, rev); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		var val []byte
		if val, rev, err = s.Get(ctx); err != nil || val[0] != byte(i) {
			t.Fatalf("get after update %d: %v %v", i, val, err)
		}
	}
	if counted.gets != 1 || counted.updates != 5 {
		t.Errorf("store saw %d gets and %d updates, want 1 and 5", counted.gets, counted.updates)
	}

	if _, err := shared.Update(ctx, []byte("other"), rev); err != nil { // another worker
		t.Fatal(err)
	}
	_, rev, _ = s.Get(ctx) // the cached, stale revision
	if _, err := s.Update(ctx, []byte("stale"), rev); !errors.Is(err, ErrConflict) {
		t.Fatalf("update on a stale revision: %v, want ErrConflict", err)
	}
	if val, _, err := s.Get(ctx); err != nil || string(val) != "other" || counted.gets != 2 {
		t.Errorf("after the conflict Get = %q, %v (%d reads), want the other worker's value from the store", val, err, counted.gets)
	}
	shared.SetDown(true)
	if _, err := s.Update(ctx, []byte("x"), rev+1); err == nil {
		t.Fatal("update while the store is down succeeded")
	}
	if _, _, err := s.Get(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Get after a failed update = %v, want the store's own answer", err)
	}
}
