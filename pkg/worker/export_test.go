package worker

import "time"

// SetClock makes w read the time from now (status, audit event and
// dead-letter stamps, leases). Call it before Run. Only the golden test
// uses it, to fix the stamps it records.
func SetClock(w *Worker, now func() time.Time) { w.now = now }
