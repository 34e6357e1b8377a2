package enqueue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// publishConcurrency bounds the jobs in flight to the server at once: enough to hide the round
// trip to a remote server, few enough not to flood it.
const publishConcurrency = 16

// enqueuer is what publishing needs of *jobs.Publisher.
type enqueuer interface {
	Enqueue(ctx context.Context, job jobs.Job) (jobs.EnqueueResult, error)
}

// published is the result of publishing one row.
type published struct {
	row       *Row
	duplicate bool  // JetStream already had the job (an earlier run within the duplicate window)
	scheduled bool  // the job waits for its not_before (jobs.EnqueueResult.Scheduled)
	err       error // not published
}

// publishRows publishes rows (valid, first of their request) in order, up to publishConcurrency at
// once, and writes one line per row to w, in row order, as results arrive. It stops at the first
// failure; rows not published by then have err set. It returns the results in row order and the
// first failure.
func publishRows(ctx context.Context, pub enqueuer, rows []*Row, w io.Writer) ([]published, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := make([]published, len(rows))
	done := make([]chan struct{}, len(rows))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, publishConcurrency)
	printed := 0
	flush := func(block bool) {
		for printed < len(rows) && done[printed] != nil && (block || isClosed(done[printed])) {
			<-done[printed]
			printRow(w, res[printed])
			printed++
		}
	}
	for i, r := range rows {
		res[i].row = r
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		done[i] = make(chan struct{})
		wg.Go(func() {
			defer func() { <-sem; close(done[i]) }()
			er, err := pub.Enqueue(ctx, r.Job)
			res[i].duplicate, res[i].scheduled, res[i].err = er.Duplicate, er.Scheduled, err
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		})
		flush(false)
	}
	wg.Wait()
	flush(true)
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	for i := printed; i < len(rows); i++ {
		res[i].err = errNotTried
	}
	return res, firstErr
}

// errNotTried marks rows left unpublished after an earlier failure.
var errNotTried = errors.New("not published: stopped at an earlier failure")

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// printRow writes the line of one published row. Rows that failed only because publishing
// stopped are not listed one by one.
func printRow(w io.Writer, p published) {
	switch {
	case p.err == nil && p.duplicate:
		fmt.Fprintf(w, "%s: duplicate: published before, not queued again\n", p.row.label())
	case p.err == nil && p.scheduled:
		fmt.Fprintf(w, "%s: scheduled for %s\n", p.row.label(), formatAt(p.row.Job.NotBefore))
	case p.err == nil:
		fmt.Fprintf(w, "%s: queued\n", p.row.label())
	case errors.Is(p.err, context.Canceled):
	default:
		fmt.Fprintf(w, "%s: not published: %v\n", p.row.label(), p.err)
	}
}
