package worker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	backoff := func(n int) time.Duration { return time.Duration(n) * time.Minute }
	boom := errors.New("boom")
	tests := []struct {
		name     string
		v        verdict
		attempts int
		want     decision
	}{
		{"deactivated", verdict{outcome: audit.OutcomeDeactivated}, 0, decision{ack: ackDone, outcome: audit.OutcomeDeactivated}},
		{"already inactive", verdict{outcome: audit.OutcomeAlreadyInactive}, 2, decision{ack: ackDone, outcome: audit.OutcomeAlreadyInactive}},
		{"not found is routine", verdict{outcome: audit.OutcomeNotFound, err: boom}, 0, decision{ack: ackDone, outcome: audit.OutcomeNotFound}},
		{"dry run", verdict{outcome: audit.OutcomeDryRun}, 0, decision{ack: ackDone, outcome: audit.OutcomeDryRun}},
		{"protected", verdict{outcome: audit.OutcomeProtected, err: boom}, 0, decision{ack: ackTerm, outcome: audit.OutcomeProtected, deadLetter: true}},
		{"rejected", verdict{outcome: audit.OutcomeRejected, err: boom}, 0, decision{ack: ackTerm, outcome: audit.OutcomeRejected, deadLetter: true}},
		{"conflict", verdict{outcome: audit.OutcomeConflict, err: boom}, 1, decision{ack: ackTerm, outcome: audit.OutcomeConflict, deadLetter: true}},
		{"transient, first", verdict{fail: failTransient, err: boom}, 0, decision{ack: ackNak, delay: time.Minute, addAttempt: true}},
		{"transient, fourth", verdict{fail: failTransient, err: boom}, 3, decision{ack: ackNak, delay: 4 * time.Minute, addAttempt: true}},
		{"transient, last", verdict{fail: failTransient, err: boom}, 4, decision{ack: ackTerm, outcome: audit.OutcomeExhausted, deadLetter: true, addAttempt: true}},
		{"transient, past last", verdict{fail: failTransient, err: boom}, 9, decision{ack: ackTerm, outcome: audit.OutcomeExhausted, deadLetter: true, addAttempt: true}},
		{"wait is no attempt", verdict{fail: failWait, err: boom}, 4, decision{ack: ackNak, delay: time.Second}},
		{"systemic is no attempt: held until the fleet resumes", verdict{fail: failSystemic, err: boom}, 4, decision{ack: ackHold}},
		{"finished before: answered as then, nothing stored", verdict{outcome: audit.OutcomeDeactivated, finished: true}, 0, decision{ack: ackDone, outcome: audit.OutcomeDeactivated, stored: true}},
		{"finished before, for review: terminated, no second dead letter", verdict{outcome: audit.OutcomeProtected, finished: true}, 0, decision{ack: ackTerm, outcome: audit.OutcomeProtected, stored: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := decide(tt.v, tt.attempts, 5, backoff, 1, false); got != tt.want {
				t.Errorf("decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// On the consumer's last delivery nothing is handed back: JetStream would never deliver it again.
func TestDecideOnTheLastDelivery(t *testing.T) {
	t.Parallel()
	backoff := func(int) time.Duration { return time.Minute }
	exhausted := decision{ack: ackTerm, outcome: audit.OutcomeExhausted, deadLetter: true, addAttempt: true}
	for _, tt := range []struct {
		name string
		v    verdict
		want decision
	}{
		{"wait", verdict{fail: failWait, err: errUserBusy}, exhausted},
		{"systemic is held, never exhausted (review D7)", verdict{fail: failSystemic, err: genesys.ErrForbidden}, decision{ack: ackHold}},
		{"transient", verdict{fail: failTransient, err: errors.New("503")}, exhausted},
		{"an outcome stays itself", verdict{outcome: audit.OutcomeDeactivated}, decision{ack: ackDone, outcome: audit.OutcomeDeactivated}},
	} {
		if got := decide(tt.v, 0, 5, backoff, 100, true); got != tt.want {
			t.Errorf("%s: decide = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	apiErr := func(status int) error { return &genesys.APIError{StatusCode: status} }
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		ctx  context.Context
		err  error
		want failure
	}{
		{live, apiErr(503), failTransient},
		{live, &genesys.TransportError{Err: errors.New("reset")}, failTransient},
		{live, fmt.Errorf("x: %w", genesys.ErrVersionConflict), failTransient},
		{live, &genesys.TokenError{StatusCode: 401, Code: "invalid_client"}, failSystemic},
		{live, &genesys.TokenError{StatusCode: 503}, failTransient},
		{live, apiErr(401), failSystemic},
		{live, apiErr(403), failSystemic},
		{live, fmt.Errorf("%w: kv down", errStore), failWait},
		{done, apiErr(503), failWait},
	}
	for _, tt := range tests {
		if got := classify(tt.ctx, tt.err); got != tt.want {
			t.Errorf("classify(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestWaitDelay(t *testing.T) {
	t.Parallel()
	for delivered, want := range map[uint64]time.Duration{0: time.Second, 1: time.Second, 4: time.Second, 5: 2 * time.Second,
		10: 4 * time.Second, 40: 256 * time.Second, 45: 5 * time.Minute, 100: 5 * time.Minute} {
		if got := waitDelay(delivered); got != want {
			t.Errorf("waitDelay(%d) = %s, want %s", delivered, got, want)
		}
	}
	total := time.Duration(0)
	for n := uint64(1); n < 100; n++ {
		total += waitDelay(n)
	}
	if total < 4*time.Hour {
		t.Errorf("100 deliveries pass in %s; a waiting job would reach MaxDeliver too soon", total)
	}
}

func TestAttemptBackoff(t *testing.T) {
	t.Parallel()
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := attemptBackoff(i + 1); got != w {
			t.Errorf("attemptBackoff(%d) = %s, want %s", i+1, got, w)
		}
	}
}
