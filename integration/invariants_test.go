//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// checkInvariants waits for the whole batch to finish and then asserts DESIGN.md's invariants on
// what the real processes stored:
//   - no job is lost and none is left: the jobs stream is empty;
//   - every job has exactly one terminal audit event, and a status record (state done) whose
//     outcome is the event's;
//   - the fleet never sent the simulator more API requests than the budget in any window, and so
//     never met a 429 from the simulator's rate window;
//   - the webhook sink holds every job's terminal event, delivered by the relay and verified.
//
// It returns the status records.
func (s *stack) checkInvariants(ctx context.Context, b batch) map[string]jobs.Status {
	s.t.Helper()
	s.waitFinished(ctx, b, len(b.ids), "batch")
	if left, err := s.remaining(ctx); err != nil || left != 0 {
		s.t.Errorf("jobs stream: %d jobs left (%v), want 0", left, err)
	}

	counts, outcomes, err := s.auditEvents(ctx)
	if err != nil {
		s.t.Fatalf("read the audit stream: %v", err)
	}
	perOutcome, statuses := map[audit.Outcome]int{}, map[string]jobs.Status{}
	var missing, doubled, badStatus []string
	for _, id := range b.ids {
		switch counts[id] {
		case 0:
			missing = append(missing, id)
			continue
		case 1:
		default:
			doubled = append(doubled, fmt.Sprintf("%s×%d", id, counts[id]))
		}
		perOutcome[outcomes[id]]++
		st, err := s.checkStatus(ctx, id, outcomes[id])
		if err != nil {
			badStatus = append(badStatus, err.Error())
		}
		statuses[id] = st
	}
	report(s, "jobs without a terminal audit event", missing)
	report(s, "jobs with more than one terminal audit event", doubled)
	report(s, "jobs without a matching done status", badStatus)
	s.t.Logf("outcomes: %v", perOutcome)

	w, err := s.sim.windows(ctx)
	if err != nil {
		s.t.Fatalf("simulator request log: %v", err)
	}
	s.t.Logf("simulator: %d API requests, at most %d in a %s window (budget %d), %d rate-limited",
		w.APIRequests, w.MaxInWindow, simWindow, simBudget, w.RateLimited)
	if w.MaxInWindow > simBudget {
		s.t.Errorf("the fleet sent %d API requests in the %s window from %s: above the budget of %d",
			w.MaxInWindow, simWindow, w.MaxAt.Format("15:04:05.000"), simBudget)
	}
	if w.RateLimited > 0 {
		s.t.Errorf("the simulator answered %d requests with 429: the fleet went past the budget", w.RateLimited)
	}
	s.checkSink(ctx, b)
	return statuses
}

// checkStatus checks the job's status record against its audit event.
func (s *stack) checkStatus(ctx context.Context, id string, outcome audit.Outcome) (jobs.Status, error) {
	st, err := s.status.Get(ctx, id)
	switch {
	case err != nil:
		return st, fmt.Errorf("%s: %w", id, err)
	case st.State != jobs.StateDone || st.Outcome != outcome:
		return st, fmt.Errorf("%s: status %s/%s written by %s at %s, audit event %s", id, st.State, st.Outcome,
			st.Worker, st.UpdatedAt.Format("15:04:05.000"), outcome)
	}
	return st, nil
}

// report fails the test with up to ten examples of what went wrong.
func report(s *stack, what string, items []string) {
	s.t.Helper()
	if len(items) == 0 {
		return
	}
	slices.Sort(items)
	s.t.Errorf("%d %s, e.g. %v", len(items), what, items[:min(10, len(items))])
}
