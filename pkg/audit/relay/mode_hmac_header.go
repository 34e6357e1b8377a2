package relay

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
)

// ModeHMACHeader posts the event's bytes as application/json with one header holding the hex
// HMAC-SHA256 of the body (with a prefix such as "sha256="), which Elastic's HTTP endpoint input
// (hmac.header, hmac.key, hmac.type sha256, hmac.prefix) checks. It has no timestamp, so a
// receiver cannot refuse a replayed request; prefer ModeStandard where the receiver can run code.
const ModeHMACHeader Mode = "hmac-header"

// Defaults of [HMACSettings].
const (
	DefaultHMACHeader = "X-Hub-Signature-256"
	DefaultHMACPrefix = "sha256="
)

// HMACSettings are the settings of [ModeHMACHeader].
type HMACSettings struct {
	// Secret is the key, used as raw bytes (Elastic's hmac.key). Required.
	Secret string
	// Header names the header. Defaults to "X-Hub-Signature-256".
	Header string
	// Prefix starts the header's value. Defaults to "sha256=".
	Prefix string
}

// hmacHeader is the adapter of ModeHMACHeader.
type hmacHeader struct{ s HMACSettings }

func newHMACHeader(ep Endpoint) Adapter {
	s := ep.HMAC
	s.Header, s.Prefix = cmp.Or(s.Header, DefaultHMACHeader), cmp.Or(s.Prefix, DefaultHMACPrefix)
	return hmacHeader{s: s}
}

func (a hmacHeader) Validate() error {
	if a.s.Secret == "" {
		return errors.New("mode hmac-header needs an HMAC secret")
	}
	return nil
}

func (a hmacHeader) Prepare(_ context.Context, d *Delivery) (*Prepared, error) {
	m := hmac.New(sha256.New, []byte(a.s.Secret))
	m.Write(d.Body)
	h := http.Header{}
	h.Set(a.s.Header, a.s.Prefix+hex.EncodeToString(m.Sum(nil)))
	// Elastic's input refuses other content types by default.
	return &Prepared{Body: d.Body, ContentType: "application/json", Header: h}, nil
}

func (a hmacHeader) Secrets() []string { return []string{a.s.Secret} }
