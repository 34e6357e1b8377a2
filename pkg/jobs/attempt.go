package jobs

import "time"

// Attempt is one failed try at a job, as the job status and dead letters
// record it. Only transient failures are attempts: waits for the rate budget,
// a 429 pause or a fleet-wide credentials pause are not.
type Attempt struct {
	N     int       `json:"n"`     // 1 for the first attempt
	At    time.Time `json:"at"`    // when it failed
	Error string    `json:"error"` // what failed; never a secret
}
