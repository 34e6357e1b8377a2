package genesys

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// defaultRenewBefore is how long before expiry a token is renewed: the
// official SDK re-runs the grant at expires_in - 60 s.
const defaultRenewBefore = 60 * time.Second

// tokenSource caches the client-credentials token and renews it before it
// expires. The grant itself is golang.org/x/oauth2/clientcredentials'; this
// type only adds what that package's cache cannot do: forget a token that the
// API refused, so that one 401 forces a fresh grant. Safe for concurrent
// use; concurrent callers share one grant.
//
// Every grant is bounded by timeout: it holds mu, so a login host that never
// answers would otherwise stall every request of the client (review D10).
type tokenSource struct {
	cfg         clientcredentials.Config
	httpClient  *http.Client
	renewBefore time.Duration
	timeout     time.Duration
	observe     func(GrantResult)
	nowFunc     func() time.Time

	mu        sync.Mutex
	tok       *oauth2.Token
	grantedAt time.Time

	healthMu  sync.Mutex
	lastGrant GrantResult
}

// GrantResult is what one token grant came to, for metrics and readiness.
type GrantResult struct {
	At   time.Time     // when the grant started
	Took time.Duration // how long it took
	Err  error         // nil when a token was granted; a *TokenError otherwise
}

func newTokenSource(clientID, secret, tokenURL string, hc *http.Client, renewBefore time.Duration) *tokenSource {
	return &tokenSource{
		timeout: DefaultGrantTimeout,
		observe: func(GrantResult) {},
		cfg: clientcredentials.Config{
			ClientID:     clientID,
			ClientSecret: secret,
			TokenURL:     tokenURL,
			AuthStyle:    oauth2.AuthStyleInHeader,
		},
		httpClient:  hc,
		renewBefore: renewBefore,
		nowFunc:     time.Now,
	}
}

// token returns a cached token that is not near expiry, or runs the grant.
func (ts *tokenSource) token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.fresh() {
		return ts.tok.AccessToken, nil
	}
	tok, err := ts.grant(ctx)
	if err != nil {
		return "", err
	}
	ts.tok, ts.grantedAt = tok, ts.nowFunc()
	return tok.AccessToken, nil
}

// grant runs the client-credentials grant within timeout and reports its
// result. A grant abandoned by the caller is not reported: it says nothing
// about the login host.
func (ts *tokenSource) grant(ctx context.Context) (*oauth2.Token, error) {
	start := ts.nowFunc()
	gctx, cancel := context.WithTimeout(ctx, ts.timeout)
	defer cancel()
	tok, err := ts.cfg.Token(context.WithValue(gctx, oauth2.HTTPClient, ts.httpClient))
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		if gctx.Err() != nil {
			err = &TokenError{Err: fmt.Errorf("%w: no answer from the login host within %s", errAttemptTimeout, ts.timeout)}
		} else {
			err = ts.tokenError(err)
		}
	}
	res := GrantResult{At: start, Took: ts.nowFunc().Sub(start), Err: err}
	ts.healthMu.Lock()
	ts.lastGrant = res
	ts.healthMu.Unlock()
	ts.observe(res)
	return tok, err
}

// last is the result of the latest grant that ran to an answer or its
// timeout; the zero GrantResult when none has yet.
func (ts *tokenSource) last() GrantResult {
	ts.healthMu.Lock()
	defer ts.healthMu.Unlock()
	return ts.lastGrant
}

// fresh reports whether the cached token may still be used. It is renewed
// renewBefore ahead of expiry, or halfway through a lifetime shorter than
// twice that.
func (ts *tokenSource) fresh() bool {
	if ts.tok == nil || ts.tok.AccessToken == "" {
		return false
	}
	if ts.tok.Expiry.IsZero() {
		return true
	}
	margin := min(ts.renewBefore, ts.tok.Expiry.Sub(ts.grantedAt)/2)
	return ts.nowFunc().Before(ts.tok.Expiry.Add(-margin))
}

// invalidate forgets the cached token if it is still the refused one, so a
// concurrent caller that already renewed it keeps the new one.
func (ts *tokenSource) invalidate(refused string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tok != nil && ts.tok.AccessToken == refused {
		ts.tok = nil
	}
}

// tokenError turns x/oauth2's error into a *TokenError that carries the
// status and the OAuth error code but never the response body verbatim, nor
// any echo of the credentials in the description.
func (ts *tokenSource) tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(ts.cfg.ClientID) + ":" + url.QueryEscape(ts.cfg.ClientSecret)))
		desc := redact(re.ErrorDescription, ts.cfg.ClientSecret, basic)
		te := &TokenError{Code: sanitizeText(redact(re.ErrorCode, ts.cfg.ClientSecret, basic)), Description: sanitizeText(desc)}
		if re.Response != nil {
			te.StatusCode = re.Response.StatusCode
		}
		if te.StatusCode == 0 {
			// A 200 without a token; treat as a server fault.
			te.StatusCode = http.StatusBadGateway
		}
		return te
	}
	return &TokenError{Err: err}
}
