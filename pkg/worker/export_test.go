package worker

import (
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// SetClock makes w read the time from now (status, audit event and
// dead-letter stamps, leases). Call it before Run. Only the golden test
// uses it, to fix the stamps it records.
func SetClock(w *Worker, now func() time.Time) { w.now = now }

// PlanWith is the plan function of a worker that knows steps as its optional steps (in place of
// the registry) and enables them all: the tests' own cut and clean steps run where the
// registry's would.
func PlanWith(steps ...Step) func(job jobs.Job) []Step { return plans(steps, steps) }

// Wait makes err a failure that is not the job's: the job is handed back without an attempt and
// without writing its status, as after a crash.
func Wait(err error) error { return wait(err) }

// SetCanceledRead makes a canceled copy of a scheduled job call f between its status read and
// its claim of the record, so that a test can run another copy in between. Call it before Run.
func SetCanceledRead(w *Worker, f func(jobID string)) { w.canceledRead = f }
