package worker

import "github.com/offboard-dev/genesys-deactivator/pkg/jobs"

// The scheduled-job metrics (issue 16): hooks kept out of the files the job path lives in.

// fired reports whether the message is a copy the scheduled stream fired.
func (r *Run) fired() bool { return r.msg.Headers().Get(jobs.SchedulerHeader) != "" }

// observeFired tells a ScheduleObserver how late the fired copy of job reached its lane, on its
// first delivery only (a redelivery is the same arrival).
func (r *Run) observeFired(job jobs.Job) {
	o, ok := r.w.cfg.Observer.(ScheduleObserver)
	if !ok || r.delivered > 1 || r.published.IsZero() || job.NotBefore.IsZero() {
		return
	}
	o.Fired(r.published.Sub(job.NotBefore))
}

// observeRevoked tells a ScheduleObserver how long after the job's effective time the user's
// tokens were revoked.
func (r *Run) observeRevoked() {
	o, ok := r.w.cfg.Observer.(ScheduleObserver)
	if !ok {
		return
	}
	effective := r.published
	if r.fired() {
		effective = r.job.NotBefore
	}
	if effective.IsZero() {
		return
	}
	o.Revoked(r.job.Priority, r.w.now().Sub(effective))
}
