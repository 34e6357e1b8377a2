package budget_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/budget"
	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// Review L8: an operator clears a long Retry-After pause in KV, and every
// worker honours it, the one that heard the 429 (and keeps the pause in
// memory) and one that learned of it from KV.
func TestOperatorResumeClearsALong429Pause(t *testing.T) {
	t.Parallel()
	f := newFleetBed(t)
	heard := f.budget("w-heard", nil)
	other := f.budget("w-other", nil)
	kv, _ := f.kv()
	key := budget.KeyFor("sim-client")

	heard.Observe(budget.Response{StatusCode: http.StatusTooManyRequests, RetryAfter: 15 * time.Minute})
	// Wait until the pause is stored, then until the other worker is held by it.
	waitKV(t, kv, key, "the 429 pause to be stored", func() bool {
		ps, err := budget.Pauses(t.Context(), kv)
		if err != nil {
			t.Fatal(err)
		}
		return len(ps) == 1 && ps[0].Key == key && time.Until(ps[0].Until) > 10*time.Minute
	})
	short, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := other.Wait(short, priority.Urgent); err == nil {
		t.Fatal("a worker was granted a request during the fleet's 429 pause")
	}

	was, err := budget.Resume(t.Context(), kv, key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(was.Until) < 10*time.Minute || was.Resumes != 0 {
		t.Errorf("Resume reported %+v, want the 15 min pause it cleared", was)
	}
	for name, b := range map[string]*budget.Budget{"the worker that heard the 429": heard, "another worker": other} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		if err := b.Wait(ctx, priority.Normal); err != nil {
			t.Errorf("%s still waits after the operator's resume: %v", name, err)
		}
		cancel()
	}
	ps, err := budget.Pauses(t.Context(), kv)
	if err != nil || len(ps) != 1 || !ps[0].Until.IsZero() || ps[0].Resumes != 1 {
		t.Errorf("after the resume: %+v, %v; want no pause and one resume", ps, err)
	}
}

// A 429 heard after the resume pauses the fleet again.
func TestA429AfterTheResumePausesAgain(t *testing.T) {
	t.Parallel()
	f := newFleetBed(t)
	b := f.budget("w-1", nil)
	kv, _ := f.kv()
	key := budget.KeyFor("sim-client")
	if err := b.Wait(t.Context(), priority.Normal); err != nil { // creates the key
		t.Fatal(err)
	}
	if _, err := budget.Resume(t.Context(), kv, key, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(t.Context(), priority.Normal); err != nil { // the worker reads the resume count
		t.Fatal(err)
	}
	b.Observe(budget.Response{StatusCode: http.StatusTooManyRequests, RetryAfter: 10 * time.Minute})
	waitKV(t, kv, key, "a 429 after the resume to be stored", func() bool {
		ps, err := budget.Pauses(t.Context(), kv)
		return err == nil && len(ps) == 1 && time.Until(ps[0].Until) > 5*time.Minute
	})
}
