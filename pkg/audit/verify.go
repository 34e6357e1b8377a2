package audit

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's clock, either way,
// when no tolerance is given: 5 minutes, as the Standard Webhooks reference libraries.
const DefaultTolerance = 5 * time.Minute

// Errors [Verify] returns, wrapped with the webhook-id; match them with errors.Is. None of them
// says more than which check failed, so they are safe to log and to answer with.
var (
	// ErrMissingHeaders: webhook-id, webhook-timestamp or webhook-signature is absent.
	ErrMissingHeaders = errors.New("audit: missing webhook-id, webhook-timestamp or webhook-signature")
	// ErrInvalidTimestamp: webhook-timestamp is not a Unix time in seconds.
	ErrInvalidTimestamp = errors.New("audit: webhook-timestamp is not a Unix time in seconds")
	// ErrMessageTooOld: the timestamp is older than the tolerance (a replayed request, or a clock
	// far behind).
	ErrMessageTooOld = errors.New("audit: webhook timestamp too old")
	// ErrMessageTooNew: the timestamp is further in the future than the tolerance.
	ErrMessageTooNew = errors.New("audit: webhook timestamp too new")
	// ErrNoMatchingSignature: no v1 signature in webhook-signature matches the body under any of
	// the receiver's secrets.
	ErrNoMatchingSignature = errors.New("audit: no matching webhook signature")
)

// Verify checks a delivery the way a receiver should: the webhook-id, webhook-timestamp and
// webhook-signature headers are present, the timestamp is within tolerance of now (0 means
// [DefaultTolerance]), and one "v1," signature in the header is the HMAC-SHA256 of
// "<id>.<timestamp>.<body>" under secret (whsec_…), compared in constant time. body must be the
// exact bytes received, before any JSON decoding. It returns nil, an error wrapping one of the
// Err… values above, or [ErrInvalidSecret]. Receivers should also drop a webhook-id they have
// already processed (the relay delivers at least once).
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	v, err := NewVerifier(tolerance, secret)
	if err != nil {
		return err
	}
	return v.Verify(h, body, now)
}

// Verifier checks deliveries against one or more secrets: a receiver that rotates its secret
// accepts both for a while. It is immutable and safe for concurrent use.
type Verifier struct {
	keys      [][]byte
	tolerance time.Duration
}

// NewVerifier returns a Verifier for the given whsec_ secrets and timestamp tolerance (0 means
// [DefaultTolerance]).
func NewVerifier(tolerance time.Duration, secrets ...string) (*Verifier, error) {
	s, err := NewSigner(secrets...)
	if err != nil {
		return nil, err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	return &Verifier{keys: s.keys, tolerance: tolerance}, nil
}

// Verify checks one delivery; see the package function [Verify].
func (v *Verifier) Verify(h http.Header, body []byte, now time.Time) error {
	id, tsText, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	id = Clip(id, 128)
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", id, ErrInvalidTimestamp)
	}
	sent := time.Unix(ts, 0)
	switch {
	case now.Sub(sent) > v.tolerance:
		return fmt.Errorf("webhook %s: %w (%s, tolerance %s)", id, ErrMessageTooOld, now.Sub(sent).Round(time.Second), v.tolerance)
	case sent.Sub(now) > v.tolerance:
		return fmt.Errorf("webhook %s: %w (%s ahead, tolerance %s)", id, ErrMessageTooNew, sent.Sub(now).Round(time.Second), v.tolerance)
	}
	for _, key := range v.keys {
		want := mac(key, h.Get(HeaderWebhookID), ts, body)
		for _, entry := range strings.Fields(sigs) {
			version, sig, ok := strings.Cut(entry, ",")
			if !ok || version != "v1" {
				continue // another scheme (v1a ed25519) or garbage: not ours to judge
			}
			got, err := base64.StdEncoding.DecodeString(sig)
			if err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return fmt.Errorf("webhook %s: %w", id, ErrNoMatchingSignature)
}
