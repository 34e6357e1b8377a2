package workercmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
	"github.com/offboard-dev/genesys-deactivator/pkg/worker"
)

// selfCheck proves at start that the worker can do its job: the token grant,
// one SCIM read, and the two changing calls' permissions, tried on a user
// that does not exist, then the Probe of each enabled optional step. A refused
// credential or a missing permission stops the worker with a message naming
// it (and the step that needs it); a transient failure is retried until ctx
// ends.
func selfCheck(ctx context.Context, c *genesys.Client, steps []worker.Step, log *zap.Logger) error {
	for _, chk := range append(c.Checks(), stepChecks(c, steps)...) {
		for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
			err := chk.Run(ctx)
			if err == nil {
				break
			}
			if msg := refusal(err, chk.What, chk.Permission); msg != "" {
				return errors.New(msg)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.Warn("self-check: Genesys did not answer; retrying", zap.String("check", chk.What), zap.Duration("in", wait), zap.Error(err))
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	log.Info("self-check passed: credentials accepted, reading users, deactivating users and revoking tokens are permitted, and the enabled steps' calls",
		zap.Strings("steps", stepNames(steps)))
	return nil
}

// stepChecks are the probes of the enabled steps that have one.
func stepChecks(c *genesys.Client, steps []worker.Step) []genesys.Check {
	var out []genesys.Check
	for _, s := range steps {
		if s.Probe == nil {
			continue
		}
		probe := s.Probe
		out = append(out, genesys.Check{
			What:       fmt.Sprintf("the step %s (--steps; leave it out to run without it)", s.Name),
			Permission: strings.Join(s.Permissions, ", "),
			Run:        func(ctx context.Context) error { return probe(ctx, c) },
		})
	}
	return out
}

// refusal explains a failure that no retry will fix, or returns "".
func refusal(err error, what, permission string) string {
	switch {
	case errors.Is(err, genesys.ErrCredentials):
		return fmt.Sprintf("self-check: Genesys refused the OAuth client credentials (%v): check --client-id and the client secret, and that the OAuth client uses the Client Credentials grant", err)
	case errors.Is(err, genesys.ErrUnauthorized):
		return fmt.Sprintf("self-check: Genesys refused a fresh token (%v): the OAuth client may be disabled", err)
	case errors.Is(err, genesys.ErrForbidden):
		need := "a permission"
		switch {
		case strings.Contains(permission, ", "):
			need = "the permissions " + permission
		case permission != "":
			need = "the permission " + permission
		}
		return fmt.Sprintf("self-check: %s is not permitted (%v): give the OAuth client's role %s", what, err, need)
	case errors.Is(err, genesys.ErrInvalidArgument), errors.Is(err, genesys.ErrBadRequest):
		return fmt.Sprintf("self-check: %s failed: %v", what, err)
	}
	return ""
}
