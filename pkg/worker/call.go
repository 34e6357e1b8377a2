package worker

import (
	"context"
	"errors"

	"github.com/offboard-dev/genesys-deactivator/internal/ctxsleep"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// maxCorrelationIDs bounds the correlation ids a job records.
const maxCorrelationIDs = 32

// Call makes one Genesys call for a step: with the job's budget priority (an urgent job's calls
// go first), waiting out 429s (a 429 is not an attempt), and recording the correlation id of the
// answer in the findings, a failed answer's too. Every Genesys call of a step goes through Call
// or CallMany.
func Call[T any](ctx context.Context, r *Run, f func(c *genesys.Client) (T, *genesys.Response, error)) (T, error) {
	var v T
	var resp *genesys.Response
	err := retry429(ctx, func() (err error) { v, resp, err = f(r.genesys()); r.calls++; return err })
	r.addCorrelation(resp)
	return v, err
}

// CallMany is Call for a call that gets several answers (pages, a PATCH re-read after version
// conflicts): every answer's correlation id is recorded.
func CallMany[T any](ctx context.Context, r *Run, f func(c *genesys.Client) (T, []*genesys.Response, error)) (T, error) {
	var v T
	var resps []*genesys.Response
	err := retry429(ctx, func() (err error) { v, resps, err = f(r.genesys()); r.calls += max(len(resps), 1); return err })
	for _, resp := range resps {
		r.addCorrelation(resp)
	}
	return v, err
}

// genesys is the client with the job's budget priority.
func (r *Run) genesys() *genesys.Client {
	if r.gc == nil {
		r.gc = r.w.cfg.Genesys
		if r.job.Priority == jobs.PriorityUrgent {
			r.gc = r.gc.WithPriority(jobs.PriorityUrgent)
		}
	}
	return r.gc
}

func (r *Run) addCorrelation(resp *genesys.Response) {
	s := &r.st.Steps
	if resp != nil && resp.CorrelationID != "" && len(s.CorrelationIDs) < maxCorrelationIDs {
		s.CorrelationIDs = append(s.CorrelationIDs, resp.CorrelationID)
	}
}

// retry429 repeats a call that Genesys answered with 429 until it gets
// another answer or ctx ends. A 429 is not an attempt: the job just waits.
// The client's limiter has heard the 429 and holds requests until its
// Retry-After has passed; retry429 waits for that too, so that it cannot
// spin with a limiter that does not pause.
func retry429(ctx context.Context, call func() error) error {
	for {
		err := call()
		var rl *genesys.RateLimitError
		if !errors.As(err, &rl) {
			return err
		}
		ctxsleep.Sleep(ctx, genesys.ClampRetryAfter(rl.RetryAfter))
		if ctx.Err() != nil {
			return err
		}
	}
}
