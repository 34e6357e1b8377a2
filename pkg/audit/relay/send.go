package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
)

// Attempt is the record of one delivery attempt, kept while an event is retried and written into
// its dead letter. It never holds a secret: receiver text is clipped and scrubbed.
type Attempt struct {
	At         time.Time `json:"at"`
	Status     int       `json:"status,omitempty"` // HTTP status; 0 when there was no answer
	Result     string    `json:"result"`           // "ok", "http_error", "gone", "redirect", "timeout", "refused", "network"
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`

	retryAfter time.Duration // from a Retry-After answer
	aborted    bool          // the relay itself cancelled the attempt (shutdown): not an attempt
}

// Label is the metrics label of the attempt: the HTTP status code, or the result when there was
// no answer ("timeout", "refused", "network").
func (a Attempt) Label() string {
	if a.Status != 0 {
		return strconv.Itoa(a.Status)
	}
	return a.Result
}

func (a Attempt) ok() bool { return a.Result == "ok" }

// maxReceiverText bounds the receiver's answer kept in an attempt.
const maxReceiverText = 512

// sender delivers to one endpoint. It is safe for concurrent use.
type sender struct {
	ep      Endpoint
	adapter Adapter
	signer  *audit.Signer // nil when the endpoint has no whsec_ secrets
	client  *http.Client
	secrets []string
}

// newSender returns the sender of ep, which is valid and has its defaults.
func newSender(ep Endpoint, lookup lookupFunc) (*sender, error) {
	a, err := adapterFor(ep)
	if err != nil {
		return nil, fmt.Errorf("audit: endpoint %s: %w", ep.Name, err)
	}
	s := &sender{ep: ep, adapter: a, client: newEndpointClient(ep.AllowPrivate, ep.Concurrency, lookup), secrets: ep.secretsOf(a)}
	if len(ep.Secrets) > 0 {
		signer, err := audit.NewSigner(ep.Secrets...)
		if err != nil {
			return nil, fmt.Errorf("audit: endpoint %s: %w", ep.Name, err)
		}
		s.signer = signer
	}
	return s, nil
}

func (s *sender) close() { s.client.CloseIdleConnections() }

// send makes one attempt. ctx bounds it together with the endpoint's timeout; when ctx itself
// ends first the attempt is marked aborted.
func (s *sender) send(ctx context.Context, d *Delivery, now time.Time) Attempt {
	req, err := s.request(ctx, d, now)
	if err != nil {
		return Attempt{At: now, Result: "network", Error: scrub(audit.Clip(err.Error(), maxReceiverText), s.secrets)}
	}
	rctx, cancel := context.WithTimeout(ctx, s.ep.Timeout)
	defer cancel()
	start := time.Now()
	resp, err := s.client.Do(req.WithContext(rctx))
	a := Attempt{At: now, DurationMS: time.Since(start).Milliseconds()}
	if err != nil {
		return s.failed(ctx, rctx, a, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, maxReceiverText))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection can be reused
	a.DurationMS, a.Status = time.Since(start).Milliseconds(), resp.StatusCode
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		a.Result = "ok"
	case resp.StatusCode == http.StatusGone:
		a.Result, a.Error = "gone", "endpoint answered 410 Gone: disabled until an operator enables it"
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Result = "redirect"
		a.Error = fmt.Sprintf("%v: endpoint answered %s to %s; fix the endpoint URL", errRedirect, resp.Status, redactLocation(req.URL, resp.Header.Get("Location")))
	default:
		a.Result = "http_error"
		a.Error = fmt.Sprintf("endpoint answered %s: %s", resp.Status, strings.TrimSpace(string(text)))
		a.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	a.Error = scrub(audit.Clip(a.Error, maxReceiverText), s.secrets)
	return a
}

// failed classifies an attempt that got no answer.
func (s *sender) failed(ctx, rctx context.Context, a Attempt, err error) Attempt {
	var egress *EgressError
	var nerr net.Error
	switch {
	case ctx.Err() != nil:
		a.Result, a.aborted, a.Error = "aborted", true, "relay stopping"
	case errors.As(err, &egress):
		a.Result, a.Error = "refused", egress.Error()
	case rctx.Err() != nil || errors.As(err, &nerr) && nerr.Timeout():
		a.Result, a.Error = "timeout", fmt.Sprintf("no answer within %s", s.ep.Timeout)
	default:
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error repeats the URL, query and all
		}
		a.Result, a.Error = "network", err.Error()
	}
	a.Error = scrub(audit.Clip(a.Error, maxReceiverText), s.secrets)
	return a
}

// request builds the POST: the adapter's body, content type and headers, with the Standard
// Webhooks headers every mode carries, signed over the body when the endpoint has whsec_ secrets.
func (s *sender) request(ctx context.Context, d *Delivery, now time.Time) (*http.Request, error) {
	p, err := s.adapter.Prepare(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("audit: endpoint %s: prepare the delivery: %w", s.ep.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.ep.URL, bytes.NewReader(p.Body))
	if err != nil {
		return nil, fmt.Errorf("audit: endpoint %s: bad URL %s", s.ep.Name, redactURL(s.ep.URL))
	}
	h := req.Header
	h.Set("Content-Type", p.ContentType)
	h.Set("User-Agent", "genesys-deactivator-relay/1")
	h.Set(audit.HeaderWebhookID, d.ID)
	h.Set(audit.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(audit.HeaderWebhookSequence, strconv.FormatUint(d.Seq, 10))
	if s.signer != nil {
		h.Set(audit.HeaderWebhookSignature, s.signer.Sign(d.ID, now, p.Body))
	}
	for k, v := range p.Header {
		h[k] = v
	}
	return req, nil
}

// parseRetryAfter reads a Retry-After value, delta-seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redactLocation resolves a Location header against the request URL and redacts it, for the
// error message.
func redactLocation(base *url.URL, loc string) string {
	if loc == "" {
		return "(no Location)"
	}
	u, err := base.Parse(loc)
	if err != nil {
		return "(bad Location)"
	}
	return redactURL(u.String())
}
