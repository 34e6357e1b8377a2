package genesys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ProbeUserID is a user id no org has. Checks ask for changes to it so that
// Genesys answers with its permission verdict (403) or not found (404)
// without changing anything.
const ProbeUserID = "00000000-0000-4000-8000-000000000000"

// Check is one call the worker's work needs, tried so that Genesys gives its
// verdict on the permission without changing anything.
type Check struct {
	What       string // what the call is for, e.g. "deactivating users"
	Permission string // the permission it needs; "" for the grant and reads
	Run        func(ctx context.Context) error
}

// Checks returns the calls every deactivation needs: the token grant and a
// SCIM read, deactivating a user and revoking a user's tokens; the last two
// are tried on ProbeUserID, and not found counts as permitted.
func (c *Client) Checks() []Check {
	return []Check{c.readCheck(), c.deactivateCheck(), c.revokeCheck()}
}

func (c *Client) readCheck() Check {
	return Check{"the token grant and a SCIM read", "", func(ctx context.Context) error {
		_, _, err := c.Users.List(ctx, &ListOptions{Count: 1})
		return err
	}}
}

func (c *Client) deactivateCheck() Check {
	return Check{"deactivating users", "directory:user:edit", func(ctx context.Context) error {
		_, _, err := c.Users.Deactivate(ctx, ProbeUserID, "")
		return ignoreNotFound(err)
	}}
}

func (c *Client) revokeCheck() Check {
	return Check{"revoking tokens", "oauth:token:delete", func(ctx context.Context) error {
		_, err := c.Tokens.RevokeAll(ctx, ProbeUserID)
		return ignoreNotFound(err)
	}}
}

func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// ChecksFor returns the checks that exercise what failed: the grant and a
// read, plus the check of the call that failed (by its method and path). For
// a failure that names no call it returns every check of Checks.
func (c *Client) ChecksFor(failed error) []Check {
	var ae *APIError
	if !errors.As(failed, &ae) {
		return c.Checks()
	}
	p := ae.Path
	switch {
	case ae.Method == http.MethodPatch && strings.Contains(p, "/users/"):
		return []Check{c.readCheck(), c.deactivateCheck()}
	case ae.Method == http.MethodDelete && strings.Contains(p, "/api/v2/tokens/"):
		return []Check{c.readCheck(), c.revokeCheck()}
	case ae.Method == http.MethodGet && strings.Contains(p, "/api/v2/authorization/subjects/"):
		return []Check{c.readCheck(), {"reading grants", "authorization:grant:view", func(ctx context.Context) error {
			_, _, err := c.Authorization.Subject(ctx, ProbeUserID)
			return ignoreNotFound(err)
		}}}
	case ae.Method == http.MethodGet && strings.HasSuffix(p, "/queues"):
		return []Check{c.readCheck(), {"reading queues", "routing:queue:view", func(ctx context.Context) error {
			_, _, err := c.Users.Queues(ctx, ProbeUserID)
			return ignoreNotFound(err)
		}}}
	case ae.Method == http.MethodGet:
		return []Check{c.readCheck()}
	}
	return c.Checks()
}

// Probe runs the checks of ChecksFor(failed) once each and returns the first
// failure, naming the check. A nil error means Genesys accepts what failed
// again (or, for a failure on one user, that it accepts it for other users).
func (c *Client) Probe(ctx context.Context, failed error) error {
	for _, chk := range c.ChecksFor(failed) {
		if err := chk.Run(ctx); err != nil {
			return fmt.Errorf("genesys: probe %s: %w", chk.What, err)
		}
	}
	return nil
}
