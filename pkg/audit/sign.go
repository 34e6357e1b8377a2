package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names (https://www.standardwebhooks.com, spec v1.0.0), and the one
// this relay adds. Go canonicalises header keys; receivers must match them case-insensitively.
const (
	// HeaderWebhookID is the message id: the CloudEvent id, the same on every retry and replay.
	HeaderWebhookID = "webhook-id"
	// HeaderWebhookTimestamp is the Unix time, in seconds, of this attempt.
	HeaderWebhookTimestamp = "webhook-timestamp"
	// HeaderWebhookSignature holds one "v1,<base64>" entry per signing secret, space separated.
	HeaderWebhookSignature = "webhook-signature"
	// HeaderWebhookSequence is the audit stream's sequence number of the event, in decimal. It
	// is also in the body as the CloudEvents "sequence" extension (20 digits, zero padded).
	HeaderWebhookSequence = "webhook-sequence"
)

// SecretPrefix starts a Standard Webhooks symmetric secret as people see it: whsec_ and the
// base64 of 24 to 64 random bytes.
const SecretPrefix = "whsec_"

// ErrInvalidSecret reports a webhook secret that is not whsec_ followed by standard base64 of
// at least 16 bytes. Errors that wrap it never contain the secret.
var ErrInvalidSecret = errors.New("audit: invalid webhook secret")

// minSecretBytes is the shortest key accepted. The spec asks for 24–64 random bytes; the spec's
// own test vector uses 24. Anything shorter is a configuration mistake.
const minSecretBytes = 16

// decodeSecret returns the HMAC key of a whsec_ secret. Like the reference Go library it also
// accepts the bare base64 without the prefix.
func decodeSecret(secret string) ([]byte, error) {
	s := strings.TrimPrefix(strings.TrimSpace(secret), SecretPrefix)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64 after %q", ErrInvalidSecret, SecretPrefix)
	}
	if len(key) < minSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrInvalidSecret, len(key), minSecretBytes)
	}
	return key, nil
}

// Signer signs webhook deliveries the Standard Webhooks way: base64 of HMAC-SHA256 over
// "<webhook-id>.<webhook-timestamp>.<body>", once per secret. Several secrets give several
// signatures, which is how a secret is rotated without downtime: configure the new secret next to
// the old one, let receivers switch, then drop the old one. A Signer is immutable and safe for
// concurrent use; its zero value signs nothing.
type Signer struct {
	keys [][]byte
}

// NewSigner returns a Signer for the given whsec_ secrets, in the order their signatures appear.
// It fails when no secret is given or one is malformed; the error never contains a secret.
func NewSigner(secrets ...string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrInvalidSecret)
	}
	s := &Signer{keys: make([][]byte, 0, len(secrets))}
	for i, sec := range secrets {
		key, err := decodeSecret(sec)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		s.keys = append(s.keys, key)
	}
	return s, nil
}

// Sign returns the webhook-signature header value for one attempt: "v1,<base64>" per secret,
// separated by single spaces. ts is truncated to whole seconds, as the webhook-timestamp header.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	var b strings.Builder
	for i, key := range s.keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(mac(key, id, ts.Unix(), body)))
	}
	return b.String()
}

// mac computes HMAC-SHA256(key, id + "." + ts + "." + body).
func mac(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, ts, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
