package workercmd

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// deleteFlags are the flags of deleting users after a grace period (issue 16).
type deleteFlags struct {
	DeleteAfter  time.Duration
	DeleteMethod string
	GuardDelete  int
}

func (d *deleteFlags) declare(fs *flag.FlagSet) {
	fs.DurationVar(&d.DeleteAfter, "delete-after", envdefault.Duration("GENESYS_DELETE_AFTER", 0), "after each deactivation that deactivated the user, schedule the deletion of the user this long later (such as 720h); a legal hold (genesysctl hold add) blocks it; Genesys's delete cannot be undone by this system; 0: never (env GENESYS_DELETE_AFTER)")
	fs.StringVar(&d.DeleteMethod, "delete-method", envdefault.String("GENESYS_DELETE_METHOD", worker.DeleteSCIM), "how delete jobs delete: scim (SCIM DELETE with the version read, If-Match) or users (DELETE /api/v2/users/{id}); both need directory:user:delete (env GENESYS_DELETE_METHOD)")
	fs.IntVar(&d.GuardDelete, "guard-delete-limit", envdefault.Int("GENESYS_GUARD_DELETE_LIMIT", 20), "delete guard: deletes the fleet may make per --guard-window, counted apart from deactivations, before the delete lane is held for an operator (genesysctl guard ... --deletes); 0 disables (env GENESYS_GUARD_DELETE_LIMIT)")
}

func (d *deleteFlags) validate() []error {
	var errs []error
	if d.DeleteAfter < 0 || d.GuardDelete < 0 {
		errs = append(errs, errors.New("--delete-after and --guard-delete-limit must not be negative"))
	}
	if d.DeleteMethod != worker.DeleteSCIM && d.DeleteMethod != worker.DeleteUsers {
		errs = append(errs, fmt.Errorf("--delete-method %q: want %s or %s", d.DeleteMethod, worker.DeleteSCIM, worker.DeleteUsers))
	}
	return errs
}

// checkedSteps are the steps whose permissions the self-check probes: the enabled optional
// steps, and the delete when --delete-after schedules deletes.
func (c *Config) checkedSteps() []worker.Step {
	steps := c.enabledSteps()
	if c.DeleteAfter > 0 {
		steps = append(steps, worker.DeleteCheck(c.DeleteMethod))
	}
	return steps
}
