package workercmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// selfCheck proves at start that the worker can do its job: the token grant,
// one SCIM read, and the two changing calls' permissions, tried on a user
// that does not exist. A refused credential or a missing permission stops
// the worker with a message naming it; a transient failure is retried until
// ctx ends.
func selfCheck(ctx context.Context, c *genesys.Client, log *zap.Logger) error {
	for _, chk := range c.Checks() {
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
	log.Info("self-check passed: credentials accepted, reading users, deactivating users and revoking tokens are permitted")
	return nil
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
		if permission != "" {
			need = "the permission " + permission
		}
		return fmt.Sprintf("self-check: %s is not permitted (%v): give the OAuth client's role %s", what, err, need)
	case errors.Is(err, genesys.ErrInvalidArgument), errors.Is(err, genesys.ErrBadRequest):
		return fmt.Sprintf("self-check: %s failed: %v", what, err)
	}
	return ""
}
