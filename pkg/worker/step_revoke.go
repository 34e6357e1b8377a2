package worker

import (
	"context"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys"
)

// stepRevokeTokens revokes every token of the user, so that sessions opened before the
// deactivation end now, and records when (revoked_at: the worker's clock just before the DELETE
// left, which the read-back compares lastTokenIssued with). Nothing to undo: the user signs in
// again.
var stepRevokeTokens = Step{
	Name: revokeStep, Phase: PhaseCut,
	Applies: func(r *Run) bool { return !r.st.Steps.TokensRevoked }, // a record from before Steps.Done
	Do:      revokeTokens,
}

// revokeStep names the revocation step.
const revokeStep = "revoke_tokens"

// revokeFound is what revoke_tokens records.
type revokeFound struct {
	// RevokedAt is the worker's clock, in UTC, just before the revocation was sent: a token
	// Genesys issued after it was issued after the revocation.
	RevokedAt time.Time `json:"revoked_at"`
}

func revokeTokens(ctx context.Context, r *Run) error {
	at := r.w.now().UTC()
	if _, err := Call(ctx, r, func(c *genesys.Client) (struct{}, *genesys.Response, error) {
		resp, err := c.Tokens.RevokeAll(ctx, r.user.ID)
		return struct{}{}, resp, err
	}); err != nil {
		return err
	}
	r.st.Steps.TokensRevoked = true
	r.observeRevoked()
	return r.Found(revokeStep, revokeFound{RevokedAt: at})
}
