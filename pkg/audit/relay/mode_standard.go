package relay

import (
	"context"
	"errors"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// ModeStandard posts the event's bytes (CloudEvents structured JSON) with Standard Webhooks
// headers signed with the endpoint's whsec_ secrets ([Endpoint.Secrets]). The default.
const ModeStandard Mode = "standard"

// standard is the adapter of ModeStandard. The relay adds the webhook-signature itself (for every
// mode whose endpoint has secrets); this mode only insists on the secrets and sends the event as
// it is stored.
type standard struct{ secrets []string }

func newStandard(ep Endpoint) Adapter { return standard{secrets: ep.Secrets} }

func (s standard) Validate() error {
	if len(s.secrets) == 0 {
		return errors.New("mode standard needs at least one whsec_ secret")
	}
	return nil
}

func (standard) Prepare(_ context.Context, d *Delivery) (*Prepared, error) {
	return &Prepared{Body: d.Body, ContentType: audit.ContentType}, nil
}

// Secrets is empty: the whsec_ secrets are the endpoint's, which the relay scrubs for every mode.
func (standard) Secrets() []string { return nil }
