package relay

import "time"

// Observer hears what the relay does, for metrics. Calls come from many goroutines at once;
// an implementation must be safe for concurrent use and return quickly. Labels are endpoint names
// and status labels, never URLs or secrets.
type Observer interface {
	// Attempted reports one delivery attempt: status is the HTTP status code ("204", "503") or,
	// without an answer, "timeout", "refused" (egress check) or "network"; took is the request's
	// duration.
	Attempted(endpoint, status string, took time.Duration)
	// Delivered reports an event the endpoint accepted, sinceStored after the audit stream stored it.
	Delivered(endpoint string, sinceStored time.Duration)
	// Retried reports an attempt that failed and was scheduled again.
	Retried(endpoint string)
	// DeadLettered reports an event that exhausted its schedule, or could not be delivered at all,
	// and went to the relay dead-letter subject.
	DeadLettered(endpoint string)
	// Backlog reports, every monitor interval, the events not yet delivered to the endpoint
	// (pending plus in flight) and the age of the oldest (0 when there is none).
	Backlog(endpoint string, events uint64, oldest time.Duration)
	// EndpointEnabled reports the endpoint's state whenever the relay learns it.
	EndpointEnabled(endpoint string, enabled bool)
}

// nopObserver is the observer when none is configured.
type nopObserver struct{}

func (nopObserver) Attempted(string, string, time.Duration) {}
func (nopObserver) Delivered(string, time.Duration)         {}
func (nopObserver) Retried(string)                          {}
func (nopObserver) DeadLettered(string)                     {}
func (nopObserver) Backlog(string, uint64, time.Duration)   {}
func (nopObserver) EndpointEnabled(string, bool)            {}
