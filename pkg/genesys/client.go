package genesys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/offboard-dev/genesys-deactivator/pkg/priority"
)

// Defaults. The per-attempt timeout matches the official SDK's 16 s.
const (
	DefaultTimeout        = 16 * time.Second
	DefaultMaxElapsedTime = 30 * time.Second
	// DefaultGrantTimeout bounds one OAuth token grant.
	DefaultGrantTimeout = 10 * time.Second
	defaultUserAgent    = "genesys-deactivator"
	maxResponseBody     = 4 << 20
)

// Client talks to the Genesys Cloud Platform API with OAuth client
// credentials. Create it with NewClient; the zero value is not usable. A
// Client is safe for concurrent use, and its methods may be called from many
// goroutines. It holds no goroutines and needs no Close.
type Client struct {
	*shared
	priority priority.Priority

	Users          *UsersService
	Tokens         *TokensService
	Authorization  *AuthorizationService
	Routing        *RoutingService
	Presence       *PresenceService
	Stations       *StationsService
	CallForwarding *CallForwardingService
	Flows          *FlowsService
	OAuthClients   *OAuthClientsService
	WFM            *WFMService
	Audits         *AuditsService
}

// shared is the state every view of a client (see WithPriority) shares.
type shared struct {
	httpClient     *http.Client
	ep             endpoints
	auth           *tokenSource
	limiter        Limiter
	timeout        time.Duration
	maxElapsedTime time.Duration
	userAgent      string
	nowFunc        func() time.Time
	newBackOff     func() backoff.BackOff
}

type service struct{ client *Client }

// NewClient returns a client for target, which is either a region (its AWS
// name such as "eu-central-1", or its host such as "mypurecloud.de") or an
// explicit API base URL such as a simulator's "http://127.0.0.1:8089". For a
// region the token URL is the region's login host; for a URL whose host
// starts with "api." it is the same host with "login."; for any other URL it
// is that URL's own /oauth/token. Plain http is accepted only for loopback
// hosts unless WithInsecureHTTP is given.
//
// WithCredentials is required.
func NewClient(target string, opts ...Option) (*Client, error) {
	o := options{
		timeout:        DefaultTimeout,
		maxElapsedTime: DefaultMaxElapsedTime,
		renewBefore:    defaultRenewBefore,
		grantTimeout:   DefaultGrantTimeout,
		userAgent:      defaultUserAgent,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.clientID == "" || o.clientSecret == "" {
		return nil, fmt.Errorf("%w: WithCredentials is required", ErrInvalidArgument)
	}
	ep, err := resolveEndpoints(target, o.tokenURL, o.insecure)
	if err != nil {
		return nil, err
	}
	hc := o.httpClient
	if hc == nil {
		hc = &http.Client{Transport: NewTransport(MaxIdleConnsPerHost)}
	}
	// Never follow a redirect: the secret and tokens go to the configured
	// hosts only, and a redirected API call is not an answer we understand.
	hc = &http.Client{
		Transport:     hc.Transport,
		Jar:           hc.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	auth := newTokenSource(o.clientID, o.clientSecret, ep.tokenURL, hc, o.renewBefore)
	auth.timeout = o.grantTimeout
	if o.grantObserver != nil {
		auth.observe = o.grantObserver
	}
	sh := &shared{
		httpClient:     hc,
		ep:             ep,
		auth:           auth,
		limiter:        o.limiter,
		timeout:        o.timeout,
		maxElapsedTime: o.maxElapsedTime,
		userAgent:      o.userAgent,
		nowFunc:        time.Now,
		newBackOff:     defaultBackOff,
	}
	if sh.limiter == nil {
		sh.limiter = NewRateLimiter(300, time.Minute)
	}
	return newView(sh, priority.Normal), nil
}

func newView(sh *shared, p priority.Priority) *Client {
	c := &Client{shared: sh, priority: p}
	c.Users = &UsersService{client: c}
	c.Tokens = &TokensService{client: c}
	c.Authorization = &AuthorizationService{client: c}
	c.Routing = &RoutingService{client: c}
	c.Presence = &PresenceService{client: c}
	c.Stations = &StationsService{client: c}
	c.CallForwarding = &CallForwardingService{client: c}
	c.Flows = &FlowsService{client: c}
	c.OAuthClients = &OAuthClientsService{client: c}
	c.WFM = &WFMService{client: c}
	c.Audits = &AuditsService{client: c}
	return c
}

// WithPriority returns a view of the client whose requests pass the limiter
// with priority p. The view shares everything else (connections, token,
// limiter) with c.
func (c *Client) WithPriority(p priority.Priority) *Client { return newView(c.shared, p) }

// MaxIdleConnsPerHost is the fewest idle keep-alive connections to one host
// the transport of NewTransport keeps.
const MaxIdleConnsPerHost = 64

// NewTransport returns the HTTP transport a Client uses when WithHTTPClient
// is not given: http.DefaultTransport's settings, but keeping an idle
// connection per host for each of up to concurrency requests at once (at
// least MaxIdleConnsPerHost) instead of 2, with the limit on idle
// connections to all hosts (100) raised to match. A pool
// smaller than the requests in flight closes a connection after most
// requests and opens a new one for the next: with the default of 2, a worker
// running 16 jobs at once did that for most requests; with 64 idle
// connections and 256 jobs at once, the overhead benchmark left ~150
// connections a second in TIME_WAIT. Callers that bring their own client
// should start from it too.
func NewTransport(concurrency int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(concurrency, MaxIdleConnsPerHost)
	t.MaxIdleConns = max(t.MaxIdleConns, t.MaxIdleConnsPerHost)
	return t
}

// BaseURL is the API base URL the client sends requests to.
func (c *Client) BaseURL() string { return c.ep.base.String() }

// TokenURL is where the client runs the token grant.
func (c *Client) TokenURL() string { return c.ep.tokenURL }

// LastGrant is the result of the latest token grant (the zero value before
// the first). Readiness checks use it: while grants fail or time out, no
// request of this client can succeed.
func (c *Client) LastGrant() GrantResult { return c.auth.last() }

// Response is a Genesys answer with what the caller may want to record. Its
// body has been read and closed.
type Response struct {
	*http.Response
	CorrelationID string // ININ-Correlation-Id
	Rate          Rate   // inin-ratelimit-* headers
	Attempts      int    // requests sent for this call, retries included
}

// newRequest builds a request for a path relative to the API base. A body is
// JSON-encoded once so that retries can resend it.
func (c *Client) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	u, err := c.ep.base.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("%w: path %q: %v", ErrInvalidArgument, path, err)
	}
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("genesys: encode %s %s: %w", method, u.Path, err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, fmt.Errorf("genesys: %s %s: %w", method, u.Path, err)
	}
	req.Header.Set("Accept", "application/scim+json, application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do sends req with retries (see send) and decodes a 2xx JSON body into v
// when v is not nil.
func (c *Client) do(req *http.Request, v any) (*Response, error) {
	resp, err := c.send(req)
	if err != nil {
		return resp, err
	}
	defer resp.Body.Close()
	if v == nil || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
		return resp, nil
	}
	body := io.LimitReader(resp.Body, maxResponseBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		return resp, fmt.Errorf("%w: %s %s: decode %d body: %v", ErrUnexpectedResponse, req.Method, req.URL.Path, resp.StatusCode, err)
	}
	// Read to the end (a chunked body's closing chunk may come after the
	// value): a body closed before its end closes the connection with it.
	io.Copy(io.Discard, body)
	return resp, nil
}

// ctxErr returns the caller's context error, wrapped so that errors.Is sees
// it: a call abandoned by its caller failed by the caller's doing.
func ctxErr(ctx context.Context, req *http.Request) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("genesys: %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}
