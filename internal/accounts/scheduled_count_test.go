package accounts_test

import (
	"context"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// The worker's genesys_scheduled_pending gauge asks for the scheduled stream's info with a subject
// filter (jobs.Scheduler.CountPending): the worker and the operator may. (Whether a producer may
// read the scheduled stream is the --wait feature's decision, tested with it.)
func TestCountPendingUnderAccounts(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	provision(t, url)
	count := func(c *client) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			s, err := jobs.NewScheduler(c.js, names, 0)
			if err != nil {
				return err
			}
			n, err := s.CountPending(ctx)
			if err == nil && n != 0 {
				t.Errorf("%s: CountPending = %d on a fresh topology, want 0", c.role, n)
			}
			return err
		}
	}
	for _, role := range []string{"worker", "operator"} {
		c := connect(t, url, role)
		c.allowed("count the pending schedules", count(c))
	}
}
