package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// failure says what a failed step means for the job.
type failure int

const (
	// failTransient: worth another attempt later (5xx, timeouts, network, a
	// version conflict that outlasted its retries). Counts as an attempt.
	failTransient failure = iota + 1
	// failWait: not the job's doing and not Genesys's verdict (our shutdown,
	// NATS trouble storing the result). Handed back without an attempt.
	failWait
	// failSystemic: Genesys refuses our credentials or permissions. The fleet
	// pauses; the job waits for it to resume, without an attempt.
	failSystemic
)

// verdict is what handling a job reached: a terminal outcome, or a failure.
type verdict struct {
	outcome audit.Outcome // terminal when set
	fail    failure       // when outcome is empty
	err     error         // the failure, or the error behind a failed outcome
	// finished: the outcome's results are stored already (an earlier delivery finished the job
	// and its ack was lost); only the message is answered, as it was then.
	finished bool
}

// ackKind is what happens to the JetStream message.
type ackKind int

const (
	ackDone ackKind = iota + 1 // Ack: the job is finished
	ackTerm                    // TermWithReason: finished, and an operator must look
	ackNak                     // NakWithDelay: hand back for later
	// ackHold: keep the message (InProgress) until the fleet pause is lifted, then run the job
	// again in the same delivery. A Nak would spend a delivery per pause, and on the consumer's
	// last delivery a job would end exhausted although Genesys never judged it.
	ackHold
)

// decision is the one answer decide gives for a verdict.
type decision struct {
	ack        ackKind
	delay      time.Duration // for ackNak
	outcome    audit.Outcome // terminal outcome to store, if any
	deadLetter bool          // store a dead letter before the audit event
	addAttempt bool          // record the failure as an attempt first
	stored     bool          // the outcome's results are stored already: answer only
}

// decide maps a verdict to what happens to the message. It is the whole
// outcome→ack policy of DESIGN.md "Errors and attempts", in one pure function:
//
//	verdict                     attempt  dead letter  audit  message
//	finished before (stored)    -        -            -      Ack or TermWithReason, as its outcome
//	final outcome               -        -            yes    Ack
//	outcome an operator handles -        yes          yes    TermWithReason
//	transient, attempts left    +1       -            -      NakWithDelay(backoff(n))
//	transient, last attempt     +1       yes          yes    TermWithReason (exhausted)
//	wait                        -        -            -      NakWithDelay(waitDelay(delivered))
//	systemic (any delivery)     -        -            -      hold until the fleet resumes, run again
//	wait, on the consumer's     +1       yes          yes    TermWithReason (exhausted)
//	last delivery
//
// attempts is the number of failed attempts recorded before this one;
// delivered is how often JetStream has delivered the message, and lastDelivery
// whether that is the consumer's MaxDeliver: a message handed back then is
// never delivered again and would stay in the work queue, in front of every
// later job for the same user, until it ages out. A systemic failure is
// never the job's: it neither spends an attempt nor ends the job on the last
// delivery (DESIGN.md: nothing is dead-lettered, jobs stay queued).
func decide(v verdict, attempts, maxAttempts int, backoff func(n int) time.Duration, delivered uint64, lastDelivery bool) decision {
	if v.outcome != "" {
		d := decision{ack: ackDone, outcome: v.outcome, stored: v.finished}
		if v.outcome.DeadLetter() {
			d.ack, d.deadLetter = ackTerm, !v.finished
		}
		return d
	}
	switch {
	case v.fail == failSystemic:
		return decision{ack: ackHold}
	case lastDelivery:
		return decision{ack: ackTerm, outcome: audit.OutcomeExhausted, deadLetter: true, addAttempt: true}
	}
	switch v.fail {
	case failTransient:
		n := attempts + 1
		if n >= maxAttempts {
			return decision{ack: ackTerm, outcome: audit.OutcomeExhausted, deadLetter: true, addAttempt: true}
		}
		return decision{ack: ackNak, delay: backoff(n), addAttempt: true}
	default:
		return decision{ack: ackNak, delay: waitDelay(delivered)}
	}
}

// classify sorts an error from a step that did not reach an outcome.
func classify(ctx context.Context, err error) failure {
	switch {
	case ctx.Err() != nil:
		return failWait // our own shutdown: not an attempt
	case errors.Is(err, genesys.ErrCredentials), errors.Is(err, genesys.ErrUnauthorized), errors.Is(err, genesys.ErrForbidden):
		return failSystemic
	case errors.Is(err, errStore):
		return failWait
	}
	return failTransient
}

// waitDelay is how soon a job handed back without an attempt is redelivered:
// 1 s at first, doubling every 5 deliveries up to 5 min. Every Nak counts
// toward the consumer's MaxDeliver (100 by default), so a job that waits
// long (behind an earlier job for the same user, say) must not burn its
// deliveries in minutes: the 100th delivery comes after about 5 hours.
func waitDelay(delivered uint64) time.Duration {
	d := time.Second
	for i := uint64(5); i <= delivered && d < 5*time.Minute; i += 5 {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// errStore marks a failure to store a result in NATS (status, dead letter,
// audit event). The job is handed back unchanged and tried again.
var errStore = errors.New("jobs: store result")

// attemptBackoff is the default wait between attempts: 5 s doubling to at
// most 5 min.
func attemptBackoff(n int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < n && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}
