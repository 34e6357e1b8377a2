package genesys

import (
	"fmt"
	"net/http"
	"time"
)

// Option configures a Client. Options check their input: NewClient fails
// on a bad one rather than running with a surprising value.
type Option func(*options) error

type options struct {
	clientID, clientSecret string
	tokenURL               string
	insecure               bool
	httpClient             *http.Client
	limiter                Limiter
	timeout                time.Duration
	maxElapsedTime         time.Duration
	renewBefore            time.Duration
	grantTimeout           time.Duration
	grantObserver          func(GrantResult)
	userAgent              string
}

// WithCredentials sets the OAuth client id and secret (client-credentials
// grant). Required.
func WithCredentials(clientID, clientSecret string) Option {
	return func(o *options) error {
		if clientID == "" || clientSecret == "" {
			return fmt.Errorf("%w: client id and secret must not be empty", ErrInvalidArgument)
		}
		o.clientID, o.clientSecret = clientID, clientSecret
		return nil
	}
}

// WithTokenURL overrides the token endpoint derived from the target. The
// same https-or-loopback rule applies.
func WithTokenURL(u string) Option {
	return func(o *options) error {
		if u == "" {
			return fmt.Errorf("%w: empty token URL", ErrInvalidArgument)
		}
		o.tokenURL = u
		return nil
	}
}

// WithInsecureHTTP allows plain http to hosts other than loopback (a
// simulator in a container network). Credentials then cross the network in
// clear text: the caller is expected to log a warning.
func WithInsecureHTTP() Option {
	return func(o *options) error { o.insecure = true; return nil }
}

// WithHTTPClient sets the HTTP client whose Transport (and Jar) carry the
// requests. Its Timeout and CheckRedirect are not used: the client times each
// attempt itself (WithTimeout) and never follows redirects.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return fmt.Errorf("%w: nil HTTP client", ErrInvalidArgument)
		}
		o.httpClient = hc
		return nil
	}
}

// WithLimiter sets the limiter every API request passes. Defaults to a
// RateLimiter allowing 300 requests per minute, Genesys's documented
// default per client-credentials token.
func WithLimiter(l Limiter) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil limiter", ErrInvalidArgument)
		}
		o.limiter = l
		return nil
	}
}

// WithTimeout bounds each attempt (one HTTP exchange, body included).
// Defaults to 16 s, the official SDK's value.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout must be positive, got %s", ErrInvalidArgument, d)
		}
		o.timeout = d
		return nil
	}
}

// WithMaxElapsedTime bounds how long a call keeps retrying transient
// failures, on top of the caller's context. Defaults to 30 s.
func WithMaxElapsedTime(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: max elapsed time must be positive, got %s", ErrInvalidArgument, d)
		}
		o.maxElapsedTime = d
		return nil
	}
}

// WithTokenRenewal sets how long before its expiry a token is renewed
// (halfway through its lifetime if that is shorter). Defaults to 60 s.
func WithTokenRenewal(before time.Duration) Option {
	return func(o *options) error {
		if before < 0 {
			return fmt.Errorf("%w: token renewal margin must not be negative", ErrInvalidArgument)
		}
		o.renewBefore = before
		return nil
	}
}

// WithUserAgent sets the User-Agent header. Defaults to "genesys-deactivator".
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		if ua == "" {
			return fmt.Errorf("%w: empty user agent", ErrInvalidArgument)
		}
		o.userAgent = ua
		return nil
	}
}

// WithGrantTimeout bounds each OAuth token grant. Every request waits for a
// grant in progress, so without a bound a login host that never answers
// stalls the whole client. Defaults to DefaultGrantTimeout (10 s).
func WithGrantTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: grant timeout must be positive, got %s", ErrInvalidArgument, d)
		}
		o.grantTimeout = d
		return nil
	}
}

// WithGrantObserver has f hear the result of every token grant (for a
// metric); f must not block. Defaults to none.
func WithGrantObserver(f func(GrantResult)) Option {
	return func(o *options) error {
		if f == nil {
			return fmt.Errorf("%w: nil grant observer", ErrInvalidArgument)
		}
		o.grantObserver = f
		return nil
	}
}
