package worker

import (
	"context"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepRevokeTokens revokes every token of the user, so that sessions opened before the
// deactivation end now. Nothing to undo: the user signs in again.
var stepRevokeTokens = Step{
	Name: "revoke_tokens", Phase: PhaseCut,
	Applies: func(r *Run) bool { return !r.st.Steps.TokensRevoked }, // a record from before Steps.Done
	Do:      revokeTokens,
}

func revokeTokens(ctx context.Context, r *Run) error {
	if _, err := Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
		resp, err := c.Tokens.RevokeAll(ctx, r.user.ID)
		return struct{}{}, resp, err
	}); err != nil {
		return err
	}
	r.st.Steps.TokensRevoked = true
	r.observeRevoked()
	return nil
}
