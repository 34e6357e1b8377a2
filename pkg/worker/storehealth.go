package worker

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
	"go.uber.org/zap"
)

// storeHealth remembers whether the worker's last try to store a job's results (dead letter,
// audit event, status) failed. The zero value is healthy. Safe for concurrent use.
type storeHealth struct {
	err     atomic.Pointer[error]
	lastLog atomic.Int64 // unix nanoseconds of the last error logged
}

// storeLogEvery rate-limits the error log of failing stores: every job handed back fails again.
const storeLogEvery = 30 * time.Second

// ResultsUnstorable returns why the worker could not store a finished job's results at its last
// try (such as an audit stream that is full: max_bytes reached, DiscardNew), or nil once a later
// store succeeded. Every finished job then waits in the jobs stream, handed back again and again,
// until an operator makes room; the readiness check and a metric use this to say so. Safe for
// concurrent use.
func (w *Worker) ResultsUnstorable() error {
	if p := w.stored.err.Load(); p != nil {
		return *p
	}
	return nil
}

// storeResult records how storing a job's results went, and logs a failure at error level, at most
// every storeLogEvery. A status changed by another worker is not a failure to store.
func (w *Worker) storeResult(log *zap.Logger, err error) {
	if err == nil {
		w.stored.err.Store(nil)
		return
	}
	if errors.Is(err, jobs.ErrStatusChanged) {
		return
	}
	w.stored.err.Store(&err)
	now := w.now()
	if last := w.stored.lastLog.Load(); last != 0 && now.Sub(time.Unix(0, last)) < storeLogEvery {
		return
	}
	w.stored.lastLog.Store(now.UnixNano())
	log.Error("the results of finished jobs cannot be stored (dead letter, audit event or status); jobs stay queued and are handed back until they can (is the audit or dead-letter stream full?)", zap.Error(err))
}
