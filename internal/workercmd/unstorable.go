package workercmd

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// newUnstorableGauge is genesys_results_unstorable: 1 while this worker cannot store the results
// of finished jobs (such as a full audit stream), so that finished jobs pile up in the jobs
// stream; alert on it.
func newUnstorableGauge(w *atomic.Pointer[worker.Worker]) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "genesys_results_unstorable",
		Help: "1 while this worker cannot store the results of finished jobs (audit event, dead letter or status), e.g. a full audit stream."},
		func() float64 {
			if worker := w.Load(); worker != nil && worker.ResultsUnstorable() != nil {
				return 1
			}
			return 0
		})
}
