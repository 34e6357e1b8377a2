package jobs

// Filters of the scheduled stream by kind, for counting (metrics, tests, operators):
// Info(WithSubjectFilter(...)) on [Names.ScheduledStream] answers from the stream's index
// without reading the messages.

// PendingSchedulesFilter matches every pending schedule: <prefix>.scheduled.at.>.
func (n Names) PendingSchedulesFilter() string { return n.scheduledPrefix() + schedPending + ".>" }

// FiredCopiesFilter matches every fired copy the scheduled stream keeps as an id tombstone:
// <prefix>.scheduled.due.>.
func (n Names) FiredCopiesFilter() string { return n.scheduledPrefix() + schedDue + ".>" }
