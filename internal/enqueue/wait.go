package enqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// watchChunk is how many job ids one status watcher follows. A watcher is one ordered consumer
// on the status bucket filtered to its keys; chunking keeps each consumer's configuration small
// (the filter list travels in one API request) while thousands of jobs need only a few dozen
// consumers, and no watcher reads the statuses of unrelated jobs in the bucket.
const watchChunk = 256

// waitDone follows the status of every job in the status bucket until each is done (or, for a
// job stored for a later time, scheduled: its status then holds the date the scheduled stream
// keeps) or ctx ends, calling onDone once per job as it reaches that state (also for jobs already done when
// the wait starts, such as duplicates of an earlier run). A status that does not belong to the job
// asked for (another producer's job holds the id, see jobs.Status.BelongsTo) is final at once: that
// job is not ours, and waiting longer cannot change it. It returns the final statuses; jobs missing
// from the map were not done in time. Only the caller's goroutine calls onDone.
func waitDone(ctx context.Context, kv jetstream.KeyValue, want map[string]jobs.Job, onDone func(jobs.Status)) (map[string]jobs.Status, error) {
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pending := make(map[string]bool, len(ids))
	for _, id := range ids {
		pending[id] = true
	}
	done := make(map[string]jobs.Status, len(ids))
	updates := make(chan jetstream.KeyValueEntry)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel (deferred later, run earlier): every forwarder has ended
	var watchers []jetstream.KeyWatcher
	defer func() {
		cancel()
		for _, w := range watchers {
			w.Stop()
		}
	}()
	for chunk := range slices.Chunk(ids, watchChunk) {
		// WatchFiltered rewrites the slice it is given: hand it a copy.
		w, err := kv.WatchFiltered(ctx, slices.Clone(chunk), jetstream.IgnoreDeletes())
		if err != nil {
			return done, fmt.Errorf("watch job status in %s: %w", kv.Bucket(), err)
		}
		watchers = append(watchers, w)
		wg.Go(func() { forward(ctx, w, updates) })
	}
	for len(pending) > 0 {
		select {
		case <-ctx.Done():
			return done, nil
		case e := <-updates:
			var st jobs.Status
			if !pending[e.Key()] || json.Unmarshal(e.Value(), &st) != nil {
				continue // a record this version cannot read: keep waiting
			}
			if st.State != jobs.StateDone && st.State != jobs.StateScheduled && st.BelongsTo(want[e.Key()]) {
				continue // ours, running
			}
			delete(pending, e.Key())
			done[e.Key()] = st
			onDone(st)
		}
	}
	return done, nil
}

// forward passes a watcher's entries on until ctx ends, then drains the watcher until Stop closes
// it, so that the client's delivery goroutine is never left blocked on a full channel.
func forward(ctx context.Context, w jetstream.KeyWatcher, out chan<- jetstream.KeyValueEntry) {
	defer func() {
		for range w.Updates() {
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil { // the end of the initial values
				continue
			}
			select {
			case out <- e:
			case <-ctx.Done():
				return
			}
		}
	}
}

// lookupTimeout bounds one look-up of a scheduled job's date.
const lookupTimeout = 2 * time.Second

// datesKept puts into each scheduled status the date its schedule holds now, which an operator
// may have moved since the worker wrote the status (genesysctl scheduled move cannot write it).
// The first look-up that fails for another reason than a missing schedule (an account that may
// not read the scheduled stream, say) ends them: the statuses' dates stand.
func (r *run) datesKept(ctx context.Context, statuses map[string]jobs.Status) {
	for id, st := range statuses {
		if st.State != jobs.StateScheduled || r.sched == nil {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		s, err := r.sched.Lookup(lctx, id)
		cancel()
		switch {
		case err == nil && s.Kind == "at":
			st.NotBefore = s.Job.NotBefore
			statuses[id] = st
		case err != nil && !errors.Is(err, jobs.ErrNotScheduled):
			return
		}
	}
}
