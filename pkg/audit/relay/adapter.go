package relay

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Adapter shapes and authenticates deliveries for one kind of receiver: one [Mode], one file
// (mode_<name>.go), one settings struct on [Endpoint], one row in the modes table below and one
// in the conformance suite (adapter_suite_test.go). The relay does the rest for every mode: the
// POST to the endpoint's URL through the egress guard, the Standard Webhooks headers
// (webhook-id, webhook-timestamp, webhook-sequence, and webhook-signature over the prepared body
// when the endpoint has whsec_ secrets), timeouts, retries, 410, dead letters and scrubbing.
//
// An adapter is built once per endpoint, from the endpoint with its defaults applied, and must be
// safe for concurrent use: up to Concurrency deliveries call Prepare at once.
type Adapter interface {
	// Validate checks the mode's settings. Its errors name the setting and never carry a secret.
	Validate() error
	// Prepare returns the body and headers of one attempt to deliver d. ctx bounds the attempt:
	// a mode whose credential must be fetched (an OAuth token) fetches or refreshes it here,
	// through a cache it holds, and an error fails this attempt like a network error (it is
	// retried on the endpoint's schedule).
	Prepare(ctx context.Context, d *Delivery) (*Prepared, error)
	// Secrets lists every credential of the mode, so that the relay can scrub them from a
	// receiver's answer before it reaches a log or a dead letter.
	Secrets() []string
}

// Prepared is what an [Adapter] makes of a delivery.
type Prepared struct {
	Body        []byte      // the request body; a webhook-signature covers exactly these bytes
	ContentType string      // the Content-Type header
	Header      http.Header // the mode's own headers (such as Authorization); may be nil
}

// modes maps each Mode to its adapter, in the order errors list them.
var modes = []struct {
	mode Mode
	new  func(Endpoint) Adapter
}{
	{ModeStandard, newStandard},
	{ModeSplunkHEC, newSplunkHEC},
	{ModeHMACHeader, newHMACHeader},
}

// adapterFor returns the adapter of ep's mode (after defaults).
func adapterFor(ep Endpoint) (Adapter, error) {
	names := make([]string, 0, len(modes))
	for _, m := range modes {
		if m.mode == ep.Mode {
			return m.new(ep), nil
		}
		names = append(names, string(m.mode))
	}
	return nil, fmt.Errorf("mode %q: want %s or %s", audit.Clip(string(ep.Mode), 32),
		strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}
