package genesys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// errAttemptTimeout replaces the context error of an attempt that ran out of
// its own time, so that it cannot be mistaken for the caller's deadline.
var errAttemptTimeout = errors.New("attempt timed out")

// defaultBackOff is the wait between retries of transient failures:
// exponential from 250 ms, at most 5 s apart, with jitter. The client stops
// retrying at its maximum elapsed time (NewBackOff's MaxElapsedTime is set
// per call) or when the caller's deadline would pass during the wait.
func defaultBackOff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 250 * time.Millisecond
	b.MaxInterval = 5 * time.Second
	b.MaxElapsedTime = 0 // send enforces maxElapsedTime itself
	return b
}

// send runs the request until it succeeds, fails for good, or its retry time
// runs out:
//   - a 401 forgets the token and retries once with a fresh grant;
//   - 408, 5xx other than 501, network errors and attempt timeouts are
//     retried with backoff (503's Retry-After is honoured), as is a token
//     grant that failed transiently;
//   - a 429 is reported to the limiter and returned: pausing is the caller's
//     business;
//   - anything else is returned at once.
//
// On success the returned Response's body is open; the caller closes it.
func (c *Client) send(req *http.Request) (*Response, error) {
	ctx := req.Context()
	start := c.nowFunc()
	bo := c.newBackOff()
	refreshed := false
	for attempts := 1; ; attempts++ {
		resp, tok, err := c.attempt(ctx, req)
		if err == nil && resp.StatusCode == http.StatusUnauthorized && !refreshed {
			// One 401 may be a token Genesys dropped early: renew and retry once.
			closeBody(resp)
			c.auth.invalidate(tok)
			refreshed = true
			continue
		}
		var wait time.Duration
		if err == nil {
			out := &Response{Response: resp, CorrelationID: resp.Header.Get("Inin-Correlation-Id"), Rate: parseRate(resp.Header), Attempts: attempts}
			err = c.check(resp, tok)
			if err == nil {
				return out, nil
			}
			closeBody(resp)
			if !errors.Is(err, ErrTransient) {
				return out, err
			}
			wait, _ = parseRetryAfter(resp.Header.Get("Retry-After"), resp.Header.Get("Date"), c.nowFunc())
		}
		if cerr := ctxErr(ctx, req); cerr != nil {
			return nil, cerr
		}
		if !errors.Is(err, ErrTransient) {
			return nil, err
		}
		if wait == 0 {
			wait = bo.NextBackOff()
		}
		if !c.mayRetry(ctx, start, wait) {
			return nil, fmt.Errorf("%w (gave up after %d attempts)", err, attempts)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, ctxErr(ctx, req)
		}
	}
}

// mayRetry reports whether waiting d still leaves time for another attempt
// within the client's maximum elapsed time and the caller's deadline.
func (c *Client) mayRetry(ctx context.Context, start time.Time, d time.Duration) bool {
	if d == backoff.Stop {
		return false
	}
	next := c.nowFunc().Add(d)
	if c.maxElapsedTime > 0 && next.Sub(start) > c.maxElapsedTime {
		return false
	}
	deadline, ok := ctx.Deadline()
	return !ok || next.Before(deadline)
}

// attempt sends one request: a token, the limiter, then the wire. It
// returns the token it used so that a 401 can invalidate exactly that one.
func (c *Client) attempt(ctx context.Context, req *http.Request) (*http.Response, string, error) {
	tok, err := c.auth.token(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := c.limiter.Wait(ctx, c.priority); err != nil {
		return nil, tok, err
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	r := req.Clone(actx)
	if req.GetBody != nil {
		if r.Body, err = req.GetBody(); err != nil {
			cancel()
			return nil, tok, fmt.Errorf("genesys: %s %s: %w", req.Method, req.URL.Path, err)
		}
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.httpClient.Do(r)
	if err != nil {
		cancel()
		if ctx.Err() != nil {
			return nil, tok, ctx.Err()
		}
		if actx.Err() != nil {
			err = fmt.Errorf("%w after %s", errAttemptTimeout, c.timeout)
		}
		return nil, tok, &TransportError{Method: req.Method, Path: req.URL.Path, Err: unwrapURLError(err)}
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, tok, nil
}

// check turns a response into an error (see CheckResponse), reports it to
// the limiter, and removes any echo of the token or client secret from what
// the server said.
func (c *Client) check(resp *http.Response, tok string) error {
	now := c.nowFunc()
	err := checkResponse(resp, now)
	obs := Observation{Time: now, Priority: c.priority, StatusCode: resp.StatusCode, Rate: parseRate(resp.Header)}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		obs.RetryAfter = rl.RetryAfter
	}
	c.limiter.Observe(obs)
	var ae *APIError
	if errors.As(err, &ae) {
		for _, f := range []*string{&ae.Code, &ae.ScimType, &ae.Message, &ae.ContextID, &ae.CorrelationID} {
			*f = redact(*f, tok, c.auth.cfg.ClientSecret)
		}
	}
	return err
}

func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// unwrapURLError drops *url.Error's `Get "https://...":` prefix; the
// TransportError already names the method and path.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func closeBody(r *http.Response) {
	if r != nil && r.Body != nil {
		io.Copy(io.Discard, io.LimitReader(r.Body, maxErrorBody))
		r.Body.Close()
	}
}

// cancelOnClose releases an attempt's timeout when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
